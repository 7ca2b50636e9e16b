/**
 * The two prompts besides the rollouts: the judge (is rollout 1's patch a meaningful change?)
 * and the synthetic PR writer. Answers are read back with the extractors below.
 */
export function judgePrompt(patch: string): string {
  return [
    'Below is a patch that was made to a repository. Is it a meaningful change to the code',
    '(not empty, not only whitespace or comments)? Answer with one word: yes or no.',
    '',
    '<patch>',
    patch,
    '</patch>',
  ].join('\n');
}

export function judgeAnswer(reply: string): 'yes' | 'no' | undefined {
  const word = /\b(yes|no)\b/i.exec(reply)?.[1]?.toLowerCase();
  return word === 'yes' || word === 'no' ? word : undefined;
}

export interface TrajectoryStep {
  action: string;
  observation: string;
  response: string;
}

export function prDescriptionPrompt(steps: TrajectoryStep[], demonstrations: string[]): string {
  return [
    'You will write the description of a pull request, as a user who noticed a problem would write an issue.',
    'Below are the steps an engineer took to make a change, as JSON, and examples of issue texts for the style.',
    'Describe the behaviour a user would see, not the fix: do not explain or hint at the code change,',
    'and do not mention running tests. Put the description between <pr_description> and </pr_description>.',
    '',
    ...demonstrations.flatMap((demo, i) => [`<example_${i + 1}>`, demo.trim(), `</example_${i + 1}>`]),
    '',
    '<trajectory>',
    JSON.stringify(steps),
    '</trajectory>',
  ].join('\n');
}

export function extractPrDescription(reply: string): string | undefined {
  const match = /<pr_description>([\s\S]*?)<\/pr_description>/.exec(reply);
  const text = match?.[1]?.trim();
  return text ? text : undefined;
}
