/**
 * The agent's three tools as OpenAI function definitions, SWE-agent style: a shell, a file
 * editor, and submit (the first call shows the diff for review, the second submits).
 */
export interface FunctionTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export const EDITOR_COMMANDS = ['view', 'create', 'str_replace', 'insert', 'undo_edit'] as const;
export type EditorCommand = (typeof EDITOR_COMMANDS)[number];

export const AGENT_TOOLS: FunctionTool[] = [
  {
    type: 'function',
    function: {
      name: 'bash',
      description:
        'Run a bash command in the repository (the working directory is the repository root). No network. Long-running or interactive commands are killed at the time limit.',
      parameters: {
        type: 'object',
        properties: { command: { type: 'string', description: 'The command to run.' } },
        required: ['command'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'str_replace_editor',
      description: [
        'View, create and edit files.',
        '`view` shows a file with line numbers (optionally only `view_range` [start, end], end -1 for the last line) or lists a directory two levels deep.',
        '`create` writes a new file with `file_text`; it fails if the file exists.',
        '`str_replace` replaces `old_str`, which must occur exactly once in the file, with `new_str`.',
        '`insert` inserts `new_str` after line `insert_line` (0 for the top).',
        '`undo_edit` reverts the last edit of the file.',
      ].join(' '),
      parameters: {
        type: 'object',
        properties: {
          command: { type: 'string', enum: [...EDITOR_COMMANDS] },
          path: {
            type: 'string',
            description: 'Path of the file or directory, absolute or relative to the repository.',
          },
          file_text: { type: 'string' },
          old_str: { type: 'string' },
          new_str: { type: 'string' },
          insert_line: { type: 'integer' },
          view_range: { type: 'array', items: { type: 'integer' } },
        },
        required: ['command', 'path'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'submit',
      description: 'Submit the change. The first call shows the diff for review; call it again to submit.',
      parameters: { type: 'object', properties: {} },
    },
  },
];
