/**
 * Reading an assistant turn back the way a vLLM server does with Qwen3's reasoning parser and
 * the hermes tool parser: reasoning is what comes before `</think>`; each `<tool_call>` block (an
 * unclosed last one included) is JSON with a name and arguments; if any block is not valid JSON,
 * no call is recovered and the whole text is content.
 */
export interface ParsedToolCall {
  name: string;
  arguments: unknown;
}

export interface ParsedAssistantTurn {
  reasoning?: string;
  content: string | null;
  toolCalls: ParsedToolCall[];
}

const TOOL_CALL = /<tool_call>([\s\S]*?)<\/tool_call>|<tool_call>([\s\S]*)/g;

export function parseHermesToolCalls(text: string): { content: string | null; toolCalls: ParsedToolCall[] } {
  if (!text.includes('<tool_call>')) return { content: text, toolCalls: [] };
  try {
    const toolCalls = [...text.matchAll(TOOL_CALL)].map((match) => {
      const call = JSON.parse((match[1] ?? match[2] ?? '').trim()) as { name?: unknown; arguments?: unknown };
      if (typeof call.name !== 'string') throw new Error('a tool call without a name');
      return { name: call.name, arguments: call.arguments };
    });
    const content = text.slice(0, text.indexOf('<tool_call>'));
    return { content: content === '' ? null : content, toolCalls };
  } catch {
    return { content: text, toolCalls: [] };
  }
}

export function parseAssistantTurn(text: string): ParsedAssistantTurn {
  let rest = text;
  let reasoning: string | undefined;
  const end = text.indexOf('</think>');
  if (end >= 0) {
    const before = text.slice(0, end);
    reasoning = before.startsWith('<think>') ? before.slice('<think>'.length) : before;
    rest = text.slice(end + '</think>'.length);
  }
  const { content, toolCalls } = parseHermesToolCalls(rest);
  return { reasoning, content: content?.trim() === '' ? null : content, toolCalls };
}
