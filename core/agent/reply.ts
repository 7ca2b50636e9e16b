import { parseToolCall } from './tool-call';
import type { ReplyProblem } from './trajectory';

/**
 * An assistant message as OpenAI-compatible servers return it. `reasoning_content` (vLLM's and
 * DeepSeek's reasoning parsers) and `reasoning` (other servers) are not in the OpenAI schema.
 */
export interface ReplyMessage {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: Array<{ type: string; function?: { name: string; arguments: string } }> | null;
}

/** One choice of a chat completion: the message and why generation stopped. */
export interface ReplyChoice {
  message?: ReplyMessage | null;
  finish_reason?: string | null;
}

export interface SplitReply {
  /** The model's thinking, from its own field and from a `<think>` block in the text. */
  reasoning?: string;
  /** The visible answer, without the `<think>` block; null when the server sent no content. */
  answer: string | null;
}

const OPEN = '<think>';
const CLOSE = '</think>';

function trimNewlines(text: string): string {
  return text.replace(/^\n+|\n+$/g, '');
}

/** Takes a `<think>` block out of a reply's text, as a template's reasoning parser would. */
function splitThinkBlock(text: string): { reasoning?: string; answer: string } {
  const close = text.indexOf(CLOSE);
  if (close >= 0) {
    const first = text.indexOf(OPEN);
    const open = first >= 0 && first < close ? first : -1;
    // Without an opening tag the template put `<think>` in the prompt: all before the close is thinking.
    const before = open >= 0 ? text.slice(0, open) : '';
    const reasoning = text.slice(open >= 0 ? open + OPEN.length : 0, close);
    return { reasoning, answer: (before + text.slice(close + CLOSE.length)).replace(/^\n+/, '') };
  }
  const start = text.search(/\S/);
  // A reply cut while thinking has an opening tag and no close: it is all thinking.
  if (start >= 0 && text.startsWith(OPEN, start))
    return { reasoning: text.slice(start + OPEN.length), answer: '' };
  return { answer: text };
}

/**
 * Separates a reply's reasoning from its answer. Reasoning comes from the server's own field
 * and from a `<think>…</think>` block in the content (or a leading `<think>` never closed, when
 * the reply was cut); both are kept, the field's first.
 */
export function splitReasoning(message: ReplyMessage): SplitReply {
  const fromField = message.reasoning_content ?? message.reasoning ?? undefined;
  const content = message.content ?? null;
  const inText: SplitReply = content === null ? { answer: null } : splitThinkBlock(content);
  const parts = [fromField, inText.reasoning]
    .map((part) => (part === undefined ? '' : trimNewlines(part)))
    .filter((part) => part.trim() !== '');
  return parts.length > 0
    ? { reasoning: parts.join('\n\n'), answer: inText.answer }
    : { answer: inText.answer };
}

/** The function calls of a reply (other kinds of tool calls are not ours to run). */
export function functionCalls(message: ReplyMessage): Array<{ name: string; arguments: string }> {
  return (message.tool_calls ?? []).flatMap((call) =>
    call.type === 'function' && call.function ? [call.function] : [],
  );
}

/**
 * What is wrong with a reply, if anything: cut at the token limit, empty, without the tool call
 * the agent loop needs, or with a call that does not parse. Checked in that order: a cut reply's
 * call is cut too, and an empty reply also lacks a call.
 */
export function classifyReply(choice: ReplyChoice, needsToolCall: boolean): ReplyProblem | undefined {
  if (choice.finish_reason === 'length') return 'length';
  const message = choice.message ?? {};
  const calls = functionCalls(message);
  const { reasoning, answer } = splitReasoning(message);
  if (calls.length === 0 && (answer ?? '').trim() === '' && reasoning === undefined) return 'empty';
  if (needsToolCall && calls.length === 0) return 'no_tool_call';
  if (calls.some((call) => !parseToolCall(call.name, call.arguments).ok)) return 'malformed';
  return undefined;
}

/** A problem in words, for an exit's detail. */
export function describeReplyProblem(problem: ReplyProblem): string {
  switch (problem) {
    case 'length':
      return 'reply cut at the token limit';
    case 'empty':
      return 'empty reply';
    case 'no_tool_call':
      return 'reply without a tool call';
    case 'malformed':
      return 'tool call that does not parse';
  }
}
