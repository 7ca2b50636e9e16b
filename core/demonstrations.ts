/**
 * Built-in issue texts that show the PR writer the style wanted: a user's report of a symptom,
 * no fix. Written for this project in the manner of public bug reports.
 */
export const DEFAULT_DEMONSTRATIONS: string[] = [
  [
    'Slicing helper drops the last element',
    '',
    'When I call `chunk_list(items, 3)` on a list of 7 items I get two chunks of three and the seventh item',
    'is gone. I expected a final chunk with one item. Lists whose length is a multiple of 3 work fine.',
  ].join('\n'),
  [
    'Config loader crashes when an optional key is missing',
    '',
    'Loading a config file without a `timeout` entry raises `TypeError: unsupported operand type(s) for *:',
    "'NoneType' and 'int'`. The documentation says the key is optional and defaults to 30 seconds.",
  ].join('\n'),
];
