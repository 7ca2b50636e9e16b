import { z } from 'zod';
import type { FunctionTool } from '../agent/tools';
import type { InferenceMessage } from '../sft/hermes-format';
import { pythonJsonDumps } from '../sft/python-json';
import type { EngineOutcome, HermesDelta, HermesRequest, HermesToolCall, HermesTurn } from './hermes-stream';

/**
 * OpenAI's chat completions API over the student: requests become the conversation the Qwen3
 * template renders, and the parsed turn becomes OpenAI's response (or stream chunks). Reasoning
 * is handed back as `reasoning_content` (and read back from it, or from `reasoning`, on earlier
 * assistant messages, so the template sees the turn as the student wrote it).
 */

/** A string, or text parts (a string is read as one part, so errors name the part at fault). */
const textContent = z.preprocess(
  (value) => (typeof value === 'string' ? [{ type: 'text', text: value }] : value),
  z.array(
    z.object({ type: z.literal('text', { error: 'only text parts are supported' }), text: z.string() }),
    { error: 'expected a string or an array of text parts' },
  ),
);
type TextContent = z.infer<typeof textContent>;

const optionalNumber = z.number().nullable().optional();

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: textContent }),
  z.object({ role: z.literal('user'), content: textContent }),
  z.object({
    role: z.literal('assistant'),
    content: textContent.nullable().optional(),
    reasoning_content: z.string().nullable().optional(),
    reasoning: z.string().nullable().optional(),
    tool_calls: z
      .array(
        z.object({
          id: z.string().optional(),
          type: z.literal('function').optional(),
          function: z.object({ name: z.string().min(1), arguments: z.string() }),
        }),
      )
      .nullable()
      .optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: textContent }),
]);

export const OpenAiChatRequestSchema = z.object({
  model: z.string(),
  messages: z.array(message).min(1),
  tools: z
    .array(
      z.object({
        type: z.literal('function'),
        function: z.object({
          name: z.string().min(1),
          description: z.string().optional(),
          parameters: z.record(z.string(), z.unknown()).optional(),
        }),
      }),
    )
    .nullable()
    .optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: optionalNumber,
  top_p: optionalNumber,
  top_k: z.number().int().nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .optional(),
  seed: z.number().int().nullable().optional(),
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().nullable().optional() }).nullable().optional(),
  structured_outputs: z.record(z.string(), z.unknown()).optional(),
});
export type OpenAiChatRequest = z.infer<typeof OpenAiChatRequestSchema>;

function text(content: TextContent | null | undefined): string {
  if (content === null || content === undefined) return '';
  return content.map((part) => part.text).join('');
}

/** An assistant turn's text as the student writes it: reasoning in `<think>`, then the answer. */
export function withReasoning(reasoning: string | null | undefined, answer: string): string {
  if (reasoning === null || reasoning === undefined || reasoning === '') return answer;
  return `<think>\n${reasoning}\n</think>\n\n${answer}`;
}

/**
 * Tool-call arguments as the student saw them in training (Python's json.dumps spelling, what the
 * proxy also hands out); arguments that are not a JSON object are rendered as they came.
 */
export function trainingArguments(raw: string): string {
  if (raw.trim() === '') return '{}';
  try {
    const value: unknown = JSON.parse(raw);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return pythonJsonDumps(value);
  } catch {
    // Not JSON: the template renders the string unchanged.
  }
  return raw;
}

export function fromOpenAiChat(request: OpenAiChatRequest): HermesRequest {
  const messages = request.messages.map((m): InferenceMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: text(m.content) };
      case 'user':
        return { role: 'user', content: text(m.content) };
      case 'tool':
        return { role: 'tool', tool_call_id: m.tool_call_id, content: text(m.content) };
      case 'assistant': {
        const content = withReasoning(m.reasoning_content ?? m.reasoning, text(m.content));
        const calls = (m.tool_calls ?? []).map((call) => ({
          type: 'function' as const,
          function: { name: call.function.name, arguments: trainingArguments(call.function.arguments) },
        }));
        return calls.length > 0
          ? { role: 'assistant', content, tool_calls: calls }
          : { role: 'assistant', content };
      }
    }
  });
  // Only the keys the client gave, in its order: the template writes each tool as JSON.
  const tools = (request.tools ?? []).map(
    (tool) => ({ type: 'function', function: tool.function }) as FunctionTool,
  );
  const stop = request.stop ?? undefined;
  return {
    messages,
    tools,
    stream: request.stream === true,
    sampling: {
      maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
      temperature: request.temperature ?? undefined,
      topP: request.top_p ?? undefined,
      topK: request.top_k ?? undefined,
      stop: typeof stop === 'string' ? [stop] : stop,
      seed: request.seed ?? undefined,
      structuredOutputs: request.structured_outputs,
    },
  };
}

export interface OpenAiResponseMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  newToolCallId: () => string;
}

interface OpenAiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

function toolCalls(calls: HermesToolCall[], meta: OpenAiResponseMeta): OpenAiToolCall[] {
  return calls.map((call) => ({
    id: meta.newToolCallId(),
    type: 'function',
    function: { name: call.name, arguments: pythonJsonDumps(call.arguments) },
  }));
}

function finishReason(turn: HermesTurn, outcome: EngineOutcome): 'tool_calls' | 'length' | 'stop' {
  if (turn.toolCalls.length > 0) return 'tool_calls';
  return outcome.finishReason === 'length' ? 'length' : 'stop';
}

function usage(outcome: EngineOutcome) {
  const prompt = outcome.promptTokens ?? 0;
  const completion = outcome.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function openAiChatResponse(turn: HermesTurn, outcome: EngineOutcome, meta: OpenAiResponseMeta) {
  const calls = toolCalls(turn.toolCalls, meta);
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: turn.content,
          ...(turn.reasoning === null ? {} : { reasoning_content: turn.reasoning }),
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(turn, outcome),
      },
    ],
    usage: usage(outcome),
  };
}

/** Server-sent events of a streamed answer: `data: <chunk>` lines, then `data: [DONE]`. */
export class OpenAiChatStream {
  constructor(
    private readonly meta: OpenAiResponseMeta,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(delta: Record<string, unknown>, finish: string | null = null): string {
    const body = {
      id: this.meta.id,
      object: 'chat.completion.chunk',
      created: this.meta.created,
      model: this.meta.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    return `data: ${JSON.stringify(body)}\n\n`;
  }

  start(): string {
    return this.chunk({ role: 'assistant', content: '' });
  }

  deltas(deltas: HermesDelta[]): string {
    return deltas
      .map((d) => this.chunk(d.kind === 'text' ? { content: d.text } : { reasoning_content: d.text }))
      .join('');
  }

  /** The last text, every tool call (whole, one chunk each), the finish reason, usage, `[DONE]`. */
  finish(deltas: HermesDelta[], turn: HermesTurn, outcome: EngineOutcome): string {
    let out = this.deltas(deltas);
    toolCalls(turn.toolCalls, this.meta).forEach((call, index) => {
      out += this.chunk({ tool_calls: [{ index, ...call }] });
    });
    out += this.chunk({}, finishReason(turn, outcome));
    if (this.includeUsage) {
      const body = {
        id: this.meta.id,
        object: 'chat.completion.chunk',
        created: this.meta.created,
        model: this.meta.model,
        choices: [],
        usage: usage(outcome),
      };
      out += `data: ${JSON.stringify(body)}\n\n`;
    }
    return `${out}data: [DONE]\n\n`;
  }
}

export type OpenAiErrorType = 'invalid_request_error' | 'server_error';

export function openAiError(
  message: string,
  type: OpenAiErrorType,
  code: string | null = null,
  param: string | null = null,
) {
  return { error: { message, type, param, code } };
}

/** An error after the stream began: one event clients show, then the stream ends. */
export function openAiStreamError(message: string): string {
  return `data: ${JSON.stringify(openAiError(message, 'server_error', 'engine_error'))}\n\ndata: [DONE]\n\n`;
}
