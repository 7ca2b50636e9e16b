import { z } from 'zod';
import { EDITOR_COMMANDS } from './tools';

/** A tool call the model made, checked: either an action to run or a problem to tell the model. */
export type ToolAction =
  | { tool: 'bash'; command: string }
  | {
      tool: 'str_replace_editor';
      command: (typeof EDITOR_COMMANDS)[number];
      path: string;
      fileText?: string;
      oldStr?: string;
      newStr?: string;
      insertLine?: number;
      viewRange?: [number, number];
    }
  | { tool: 'submit' };

export type ParsedToolCall = { ok: true; action: ToolAction } | { ok: false; problem: string };

const BashArgs = z.object({ command: z.string().min(1, 'command must not be empty') });
const EditorArgs = z
  .object({
    command: z.enum(EDITOR_COMMANDS),
    path: z.string().min(1),
    file_text: z.string().optional(),
    old_str: z.string().optional(),
    new_str: z.string().optional(),
    insert_line: z.number().int().min(0).optional(),
    view_range: z.tuple([z.number().int().min(1), z.number().int().min(-1)]).optional(),
  })
  .superRefine((args, ctx) => {
    const need = (field: keyof typeof args): void => {
      if (args[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `required for ${args.command}` });
    };
    if (args.command === 'create') need('file_text');
    if (args.command === 'str_replace') need('old_str');
    if (args.command === 'insert') {
      need('insert_line');
      need('new_str');
    }
  });

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
}

/**
 * Checks one tool call from the model. Bad JSON, an unknown tool or a missing argument becomes
 * a problem the model is told about in its next observation, not an error of the rollout.
 */
export function parseToolCall(name: string, rawArguments: string): ParsedToolCall {
  let args: unknown;
  try {
    args = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
  } catch (error) {
    return {
      ok: false,
      problem: `the arguments of ${name} are not valid JSON (${(error as Error).message})`,
    };
  }
  switch (name) {
    case 'bash': {
      const parsed = BashArgs.safeParse(args);
      return parsed.success
        ? { ok: true, action: { tool: 'bash', command: parsed.data.command } }
        : { ok: false, problem: `bad arguments for bash: ${issues(parsed.error)}` };
    }
    case 'str_replace_editor': {
      const parsed = EditorArgs.safeParse(args);
      if (!parsed.success)
        return { ok: false, problem: `bad arguments for str_replace_editor: ${issues(parsed.error)}` };
      const a = parsed.data;
      return {
        ok: true,
        action: {
          tool: 'str_replace_editor',
          command: a.command,
          path: a.path,
          fileText: a.file_text,
          oldStr: a.old_str,
          newStr: a.new_str,
          insertLine: a.insert_line,
          viewRange: a.view_range,
        },
      };
    }
    case 'submit':
      return { ok: true, action: { tool: 'submit' } };
    default:
      return {
        ok: false,
        problem: `unknown tool ${JSON.stringify(name)}: use bash, str_replace_editor or submit`,
      };
  }
}
