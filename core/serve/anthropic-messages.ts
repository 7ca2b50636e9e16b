import { z } from 'zod';
import type { FunctionTool } from '../agent/tools';
import type { InferenceMessage } from '../sft/hermes-format';
import { pythonJsonDumps } from '../sft/python-json';
import {
  ServeRequestError,
  type EngineOutcome,
  type HermesDelta,
  type HermesRequest,
  type HermesTurn,
} from './hermes-stream';
import { withReasoning } from './openai-chat';

/**
 * Anthropic's Messages API over the student. Tool results (user content blocks) become `tool`
 * messages, tool_use blocks become the assistant's tool calls, `input_schema` becomes a tool's
 * parameters. The student's reasoning comes back as a `thinking` block only when the request
 * turned thinking on (`thinking.type` enabled or adaptive); otherwise it is dropped. Thinking
 * blocks sent back on earlier turns are put back into the turn's `<think>` text.
 */

const textBlock = z.object({ type: z.literal('text'), text: z.string() });

/** A string, or content blocks (a string is read as one text block). */
function blocks<T extends z.ZodType>(block: T) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? [{ type: 'text', text: value }] : value),
    z.array(block, { error: 'expected a string or an array of content blocks' }),
  );
}

const contentBlock = z.discriminatedUnion(
  'type',
  [
    textBlock,
    z.object({
      type: z.literal('tool_use'),
      id: z.string(),
      name: z.string().min(1),
      input: z.record(z.string(), z.unknown()),
    }),
    z.object({
      type: z.literal('tool_result'),
      tool_use_id: z.string(),
      content: blocks(
        z.object({
          type: z.literal('text', { error: 'only text is supported in tool results' }),
          text: z.string(),
        }),
      ).optional(),
      is_error: z.boolean().optional(),
    }),
    z.object({ type: z.literal('thinking'), thinking: z.string() }),
    z.object({ type: z.literal('redacted_thinking') }),
  ],
  { error: 'supported content blocks are text, tool_use, tool_result and thinking' },
);

export const AnthropicMessagesRequestSchema = z.object({
  model: z.string(),
  max_tokens: z.number().int().positive(),
  system: blocks(textBlock).optional(),
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: blocks(contentBlock) })).min(1),
  tools: z
    .array(
      z.object({
        type: z
          .literal('custom', { error: 'only client tools (with an input_schema) are supported' })
          .optional(),
        name: z.string().min(1),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown(), {
          error: 'a client tool needs an input_schema object',
        }),
      }),
    )
    .optional(),
  thinking: z.object({ type: z.enum(['enabled', 'disabled', 'adaptive']) }).optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().int().optional(),
  stream: z.boolean().optional(),
  structured_outputs: z.record(z.string(), z.unknown()).optional(),
});
export type AnthropicMessagesRequest = z.infer<typeof AnthropicMessagesRequestSchema>;
type ContentBlock = z.infer<typeof contentBlock>;

function joinText(parts: Array<{ text: string }>): string {
  return parts.map((part) => part.text).join('\n');
}

function userMessages(content: ContentBlock[], index: number): InferenceMessage[] {
  const out: InferenceMessage[] = [];
  const texts: string[] = [];
  content.forEach((block, k) => {
    if (block.type === 'tool_result')
      out.push({ role: 'tool', tool_call_id: block.tool_use_id, content: joinText(block.content ?? []) });
    else if (block.type === 'text') texts.push(block.text);
    else
      throw new ServeRequestError(
        `messages.${index}.content.${k}`,
        `a user message cannot hold a ${block.type} block`,
      );
  });
  // Tool results come first (the API requires it); the user's own text follows as its own turn.
  if (texts.length > 0 || out.length === 0) out.push({ role: 'user', content: texts.join('\n') });
  return out;
}

function assistantMessage(content: ContentBlock[], index: number): InferenceMessage {
  const reasoning: string[] = [];
  const texts: string[] = [];
  const calls: Array<{ type: 'function'; function: { name: string; arguments: string } }> = [];
  content.forEach((block, k) => {
    if (block.type === 'thinking') reasoning.push(block.thinking);
    else if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use')
      calls.push({
        type: 'function',
        function: { name: block.name, arguments: pythonJsonDumps(block.input) },
      });
    else if (block.type === 'tool_result')
      throw new ServeRequestError(
        `messages.${index}.content.${k}`,
        'an assistant message cannot hold a tool_result block',
      );
  });
  const text = withReasoning(reasoning.join('\n'), texts.join('\n'));
  return calls.length > 0
    ? { role: 'assistant', content: text, tool_calls: calls }
    : { role: 'assistant', content: text };
}

export function fromAnthropicMessages(request: AnthropicMessagesRequest): HermesRequest {
  const last = request.messages.length - 1;
  if (request.messages[last]!.role === 'assistant')
    throw new ServeRequestError(`messages.${last}`, 'a final assistant message (prefill) is not supported');
  const messages: InferenceMessage[] = [];
  if (request.system !== undefined && request.system.length > 0)
    messages.push({ role: 'system', content: joinText(request.system) });
  request.messages.forEach((m, index) => {
    if (m.role === 'user') messages.push(...userMessages(m.content, index));
    else messages.push(assistantMessage(m.content, index));
  });
  const tools = (request.tools ?? []).map(
    (tool) =>
      ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          parameters: tool.input_schema,
        },
      }) as FunctionTool,
  );
  return {
    messages,
    tools,
    stream: request.stream === true,
    sampling: {
      maxTokens: request.max_tokens,
      temperature: request.temperature,
      topP: request.top_p,
      topK: request.top_k,
      stop: request.stop_sequences,
      structuredOutputs: request.structured_outputs,
    },
  };
}

/** Whether the client asked to see the model's thinking. */
export function wantsThinking(request: AnthropicMessagesRequest): boolean {
  return request.thinking !== undefined && request.thinking.type !== 'disabled';
}

export interface AnthropicResponseMeta {
  id: string;
  model: string;
  showThinking: boolean;
  stopSequences: string[];
  newToolUseId: () => string;
}

type StopReason = 'tool_use' | 'max_tokens' | 'stop_sequence' | 'end_turn';

function stop(turn: HermesTurn, outcome: EngineOutcome, meta: AnthropicResponseMeta) {
  let reason: StopReason = 'end_turn';
  let sequence: string | null = null;
  if (turn.toolCalls.length > 0) reason = 'tool_use';
  else if (outcome.finishReason === 'length') reason = 'max_tokens';
  else if (outcome.matchedStop !== undefined && meta.stopSequences.includes(outcome.matchedStop)) {
    reason = 'stop_sequence';
    sequence = outcome.matchedStop;
  }
  return { stop_reason: reason, stop_sequence: sequence };
}

function toolUseBlocks(turn: HermesTurn, meta: AnthropicResponseMeta) {
  return turn.toolCalls.map((call) => ({
    type: 'tool_use' as const,
    id: meta.newToolUseId(),
    name: call.name,
    input: call.arguments,
  }));
}

export function anthropicMessagesResponse(
  turn: HermesTurn,
  outcome: EngineOutcome,
  meta: AnthropicResponseMeta,
) {
  const content: Array<Record<string, unknown>> = [];
  if (meta.showThinking && turn.reasoning !== null)
    content.push({ type: 'thinking', thinking: turn.reasoning, signature: '' });
  if (turn.content !== null) content.push({ type: 'text', text: turn.content });
  content.push(...toolUseBlocks(turn, meta));
  return {
    id: meta.id,
    type: 'message',
    role: 'assistant',
    model: meta.model,
    content,
    ...stop(turn, outcome, meta),
    usage: { input_tokens: outcome.promptTokens ?? 0, output_tokens: outcome.completionTokens ?? 0 },
  };
}

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * Server-sent events of a streamed message: message_start, then one content block per run of
 * thinking or text (opened and closed as the kind changes), the tool_use blocks whole at the
 * end, message_delta with the stop reason and usage, message_stop.
 */
export class AnthropicMessagesStream {
  private index = -1;
  private open: 'thinking' | 'text' | undefined;

  constructor(private readonly meta: AnthropicResponseMeta) {}

  start(): string {
    const message = {
      id: this.meta.id,
      type: 'message',
      role: 'assistant',
      model: this.meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Counted by the engine at the end; message_delta carries both figures.
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return event('message_start', { message });
  }

  private close(): string {
    if (this.open === undefined) return '';
    this.open = undefined;
    return event('content_block_stop', { index: this.index });
  }

  deltas(deltas: HermesDelta[]): string {
    let out = '';
    for (const d of deltas) {
      if (d.kind === 'reasoning' && !this.meta.showThinking) continue;
      const kind = d.kind === 'reasoning' ? 'thinking' : 'text';
      if (this.open !== kind) {
        out += this.close();
        this.index += 1;
        this.open = kind;
        const block =
          kind === 'thinking'
            ? { type: 'thinking', thinking: '', signature: '' }
            : { type: 'text', text: '' };
        out += event('content_block_start', { index: this.index, content_block: block });
      }
      const delta =
        kind === 'thinking'
          ? { type: 'thinking_delta', thinking: d.text }
          : { type: 'text_delta', text: d.text };
      out += event('content_block_delta', { index: this.index, delta });
    }
    return out;
  }

  finish(deltas: HermesDelta[], turn: HermesTurn, outcome: EngineOutcome): string {
    let out = this.deltas(deltas) + this.close();
    for (const block of toolUseBlocks(turn, this.meta)) {
      this.index += 1;
      out += event('content_block_start', { index: this.index, content_block: { ...block, input: {} } });
      out += event('content_block_delta', {
        index: this.index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      });
      out += event('content_block_stop', { index: this.index });
    }
    out += event('message_delta', {
      delta: stop(turn, outcome, this.meta),
      usage: { input_tokens: outcome.promptTokens ?? 0, output_tokens: outcome.completionTokens ?? 0 },
    });
    return out + event('message_stop', {});
  }
}

export type AnthropicErrorType =
  'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'request_too_large' | 'api_error';

export function anthropicError(message: string, type: AnthropicErrorType) {
  return { type: 'error', error: { type, message } };
}

export function anthropicStreamError(message: string): string {
  return `event: error\ndata: ${JSON.stringify(anthropicError(message, 'api_error'))}\n\n`;
}
