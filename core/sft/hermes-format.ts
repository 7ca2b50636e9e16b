import type { ChatMessage } from '../agent/trajectory';
import type { FunctionTool } from '../agent/tools';
import { pythonJsonDumps } from './python-json';
import { lstripChars, rstripChars, stripChars } from './python-strings';

/**
 * The "hermes" tool format of the student's chat template (Qwen3), as plain messages whose text
 * is exactly what the template renders: tools as JSON schemas inside `<tools>` in the system
 * prompt, reasoning in `<think>`, calls as `<tool_call>` JSON, tool results as a user turn of
 * `<tool_response>` blocks. Rendered with plain chatml (`<|im_start|>role\n…<|im_end|>\n`) these
 * messages give, byte for byte, what the Qwen3 template makes of the same conversation at
 * inference, so training and serving cannot disagree on the format.
 */
export interface SftMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Loss is taken on this message: true exactly for assistant turns. */
  train: boolean;
}

/** A message as an agent loop sends it to a Qwen3 server: reasoning inside `<think>` in content. */
export type InferenceMessage =
  | { role: 'system' | 'user'; content: string }
  | {
      role: 'assistant';
      content: string;
      tool_calls?: Array<{ type: 'function'; function: { name: string; arguments: string } }>;
    }
  | { role: 'tool'; tool_call_id: string; content: string };

export class FormatError extends Error {
  constructor(
    readonly reason: 'malformed_tool_call' | 'no_assistant_turn',
    message: string,
  ) {
    super(message);
  }
}

/**
 * What becomes of a reasoning teacher's answer text beside its thinking: dropped (the authors'
 * pipeline keeps only the think block where one is non-empty) or kept after it.
 */
export const ANSWER_TEXT_RULES = ['drop-beside-reasoning', 'keep'] as const;
export type AnswerTextRule = (typeof ANSWER_TEXT_RULES)[number];

/** An assistant turn's content for a Qwen3 server: its reasoning in `<think>`, then its answer. */
function thinkingContent(
  message: Extract<ChatMessage, { role: 'assistant' }>,
  answerText: AnswerTextRule,
): string {
  const text = message.content ?? '';
  if (message.reasoning !== undefined && message.reasoning.trim() !== '') {
    const answer = answerText === 'keep' ? text : '';
    return `<think>\n${stripChars(message.reasoning, '\n')}\n</think>\n\n${answer}`;
  }
  // A teacher that does not reason apart (or thought nothing): its visible text is the reasoning.
  return text.includes('</think>') ? text : `<think>\n${text.trim()}\n</think>\n\n`;
}

/**
 * A trajectory's messages as the student would see them: the teacher's reasoning (or, from a
 * teacher that keeps none apart, its text) becomes the turn's `<think>` block, and tool-call
 * arguments are re-spelled as Python's json.dumps writes them (what vLLM hands back after
 * parsing a call). A call whose arguments are not a JSON object is refused: training on it would
 * teach the student malformed calls.
 */
export function toInferenceMessages(
  messages: ChatMessage[],
  answerText: AnswerTextRule = 'drop-beside-reasoning',
): InferenceMessage[] {
  return messages.map((message, index): InferenceMessage => {
    if (message.role !== 'assistant') return message;
    const content = thinkingContent(message, answerText);
    const calls = (message.tool_calls ?? []).map((call) => {
      let args: unknown;
      try {
        args = JSON.parse(call.function.arguments === '' ? '{}' : call.function.arguments);
      } catch {
        args = undefined;
      }
      if (args === null || typeof args !== 'object' || Array.isArray(args)) {
        throw new FormatError(
          'malformed_tool_call',
          `message ${index}: the ${call.function.name} call's arguments are not a JSON object: ${call.function.arguments.slice(0, 80)}`,
        );
      }
      return {
        type: 'function' as const,
        function: { name: call.function.name, arguments: pythonJsonDumps(args) },
      };
    });
    return calls.length > 0
      ? { role: 'assistant', content, tool_calls: calls }
      : { role: 'assistant', content };
  });
}

/** The system prompt the Qwen3 template writes when tools are given. */
export function hermesSystemPrompt(system: string | undefined, tools: FunctionTool[]): string {
  return [
    system === undefined ? '' : `${system}\n\n`,
    '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n',
    'You are provided with function signatures within <tools></tools> XML tags:\n<tools>',
    ...tools.map((tool) => `\n${pythonJsonDumps(tool)}`),
    '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n',
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
  ].join('');
}

export interface SftConversation {
  messages: SftMessage[];
  /** For each SFT message, how many source messages it and those before it cover. */
  sourceEnd: number[];
}

/** Splits an assistant message's content the way the Qwen3 template does. */
function splitReasoning(text: string): { reasoning: string; content: string } {
  if (!text.includes('</think>')) return { reasoning: '', content: text };
  const parts = text.split('</think>');
  return {
    content: lstripChars(parts[parts.length - 1]!, '\n'),
    reasoning: lstripChars(rstripChars(parts[0]!, '\n').split('<think>').pop()!, '\n'),
  };
}

/** Index of the last user message that is a real query (not a turn of tool responses). */
function lastQueryIndex(messages: InferenceMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i]!;
    if (
      m.role === 'user' &&
      !(m.content.startsWith('<tool_response>') && m.content.endsWith('</tool_response>'))
    )
      return i;
  }
  return messages.length - 1;
}

/** The conversation in hermes form, mirroring the Qwen3 chat template rule by rule. */
export function toSftConversation(messages: InferenceMessage[], tools: FunctionTool[]): SftConversation {
  const out: SftMessage[] = [];
  const sourceEnd: number[] = [];
  const push = (message: SftMessage, end: number): void => {
    out.push(message);
    sourceEnd.push(end);
  };
  const hasSystem = messages[0]?.role === 'system';
  push(
    {
      role: 'system',
      content: hermesSystemPrompt(hasSystem ? messages[0]!.content : undefined, tools),
      train: false,
    },
    hasSystem ? 1 : 0,
  );
  const lastQuery = lastQueryIndex(messages);
  for (let i = hasSystem ? 1 : 0; i < messages.length; i += 1) {
    const message = messages[i]!;
    const isLast = i === messages.length - 1;
    if (message.role === 'user' || message.role === 'system') {
      push({ role: message.role, content: message.content, train: false }, i + 1);
    } else if (message.role === 'assistant') {
      const { reasoning, content } = splitReasoning(message.content);
      let text =
        i > lastQuery && (isLast || reasoning !== '')
          ? `<think>\n${stripChars(reasoning, '\n')}\n</think>\n\n${lstripChars(content, '\n')}`
          : content;
      (message.tool_calls ?? []).forEach((call, k) => {
        if (k > 0 || content !== '') text += '\n';
        text += `<tool_call>\n{"name": "${call.function.name}", "arguments": ${call.function.arguments}}\n</tool_call>`;
      });
      push({ role: 'assistant', content: text, train: true }, i + 1);
    } else {
      // Consecutive tool results share one user turn.
      const blocks: string[] = [];
      let j = i;
      while (j < messages.length && messages[j]!.role === 'tool') {
        blocks.push(`<tool_response>\n${messages[j]!.content}\n</tool_response>`);
        j += 1;
      }
      push({ role: 'user', content: blocks.join('\n'), train: false }, j);
      i = j - 1;
    }
  }
  return { messages: out, sourceEnd };
}

/** One message as chatml: what the tokenizer sees for it. */
export function chatmlMessage(message: Pick<SftMessage, 'role' | 'content'>): string {
  return `<|im_start|>${message.role}\n${message.content}<|im_end|>\n`;
}

export function renderChatml(messages: Array<Pick<SftMessage, 'role' | 'content'>>): string {
  return messages.map(chatmlMessage).join('');
}
