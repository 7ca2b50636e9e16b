import type { ChatMessage } from '../../core/agent/trajectory';

let callId = 0;

/** An assistant turn with a thought and tool calls (arguments as given, spelled compactly). */
export function assistant(
  thought: string | null,
  ...calls: Array<[string, Record<string, unknown> | string]>
): ChatMessage {
  return {
    role: 'assistant',
    content: thought,
    ...(calls.length
      ? {
          tool_calls: calls.map(([name, args]) => ({
            id: `call_${(callId += 1)}`,
            type: 'function' as const,
            function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) },
          })),
        }
      : {}),
  };
}

export function tool(content: string): ChatMessage {
  return { role: 'tool', tool_call_id: `call_${callId}`, content };
}

/** A small but complete agent conversation: look, edit, submit twice. */
export function conversation(observation = 'OBSERVATION:\nfile.py\n'): ChatMessage[] {
  return [
    { role: 'system', content: 'You are a software engineer.' },
    { role: 'user', content: 'The repository is uploaded at /repo.\n\n<task>\nFix `f`.\n</task>' },
    assistant('Look first.', ['bash', { command: 'ls' }]),
    tool(observation),
    assistant('Edit it.', [
      'str_replace_editor',
      { command: 'str_replace', path: 'file.py', old_str: 'a', new_str: 'b' },
    ]),
    tool('The file file.py has been edited.'),
    assistant('Review.', ['submit', {}]),
    tool('diff --git a/file.py b/file.py'),
    assistant('Submit.', ['submit', {}]),
    tool('Submitted.'),
  ];
}
