import type { FunctionTool } from '../agent/tools';
import type { InferenceMessage } from '../sft/hermes-format';
import { parseHermesToolCalls } from '../sft/hermes-parser';

/**
 * The engine-facing half of the serving proxy, shared by both APIs: a conversation in the
 * student's terms (messages and tools the Qwen3 template renders), the sampling settings for the
 * engine's raw completions endpoint, and an incremental reader of the completion text.
 */
export interface HermesRequest {
  messages: InferenceMessage[];
  tools: FunctionTool[];
  sampling: EngineSampling;
  stream: boolean;
}

export interface EngineSampling {
  /** Undefined: the proxy's default (the engine clamps it to what is left of the context). */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  /** Passed to vLLM unchanged (e.g. `{ regex: "…" }`): constrained decoding passes through. */
  structuredOutputs?: Record<string, unknown>;
}

/** A request the proxy cannot serve, naming the field at fault (a 400 in the API's error shape). */
export class ServeRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** How the engine's completion ended, and what it counted. */
export interface EngineOutcome {
  finishReason: 'stop' | 'length';
  /** The client's stop string the engine stopped at, if it stopped at one. */
  matchedStop?: string;
  promptTokens?: number;
  completionTokens?: number;
}

/** A parsed tool call whose arguments are a JSON object (what both APIs can hand back). */
export interface HermesToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** A piece of the turn that can be shown as soon as it is known. */
export type HermesDelta = { kind: 'reasoning'; text: string } | { kind: 'text'; text: string };

export interface HermesTurn {
  reasoning: string | null;
  content: string | null;
  toolCalls: HermesToolCall[];
}

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';
const TOOL_CALL_OPEN = '<tool_call>';

/** How many characters at the end of `text` could be the start of `marker`. */
function partialMarkerLength(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n -= 1) {
    if (marker.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}

function trailingWhitespaceLength(text: string): number {
  return text.length - text.trimEnd().length;
}

/** How much of the buffer's end must wait: a possible start of `marker` and the blank run before it. */
function heldTail(buffer: string, marker: string, blankTail: (text: string) => number): number {
  const partial = partialMarkerLength(buffer, marker);
  return partial + blankTail(buffer.slice(0, buffer.length - partial));
}

/** A tool call block's arguments as an object: missing arguments are `{}`, anything else refuses. */
function asObjectArguments(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/**
 * Reads the student's completion text as it arrives. Rules (the same whether the text comes in
 * one piece or many, so streamed and whole answers agree):
 * - a turn that opens with `<think>` has reasoning up to `</think>` (newlines around it dropped);
 * - text after it is content, passed on as it comes, except a tail that might begin a
 *   `<tool_call>` tag or is only whitespace, which waits for the next piece;
 * - from the first `<tool_call>` on, the text is held and parsed at the end with the hermes
 *   parser; if a block is not JSON with a name and object arguments, no call is recovered and the
 *   held text is content after all (as vLLM's hermes parser does);
 * - content is trimmed at its end; text after the last `</tool_call>` is dropped.
 */
export class HermesStreamParser {
  private state: 'start' | 'reasoning' | 'content' | 'calls' = 'start';
  private buffer = '';
  /** Leading newlines of reasoning, or leading whitespace of content, are still being skipped. */
  private skippingLead = true;
  private reasoning = '';
  private content = '';
  private sawReasoning = false;

  push(piece: string): HermesDelta[] {
    this.buffer += piece;
    return this.drain(false);
  }

  /** The rest of the turn once the engine is done, and the whole turn as parsed. */
  finish(): { deltas: HermesDelta[]; turn: HermesTurn } {
    const deltas = this.drain(true);
    let toolCalls: HermesToolCall[] = [];
    if (this.state === 'calls') {
      const held = this.buffer;
      this.buffer = '';
      const parsed = parseHermesToolCalls(held);
      const calls = parsed.toolCalls.map((call) => ({
        name: call.name,
        arguments: asObjectArguments(call.arguments),
      }));
      if (calls.length > 0 && calls.every((call) => call.arguments !== undefined)) {
        toolCalls = calls as HermesToolCall[];
      } else {
        // Not a call after all: the held text is content, separated as the model wrote it.
        const text = held.trimEnd();
        const separated = this.content === '' ? text : `\n${text}`;
        this.content += separated;
        deltas.push({ kind: 'text', text: separated });
      }
    }
    return {
      deltas,
      turn: {
        reasoning: this.sawReasoning && this.reasoning !== '' ? this.reasoning : null,
        content: this.content === '' ? null : this.content,
        toolCalls,
      },
    };
  }

  private drain(final: boolean): HermesDelta[] {
    const deltas: HermesDelta[] = [];
    for (;;) {
      if (this.state === 'start') {
        const lead = this.buffer.trimStart();
        if (lead.startsWith(THINK_OPEN)) {
          this.buffer = lead.slice(THINK_OPEN.length);
          this.state = 'reasoning';
          this.sawReasoning = true;
          this.skippingLead = true;
          continue;
        }
        if (!final && THINK_OPEN.startsWith(lead)) return deltas; // might still become `<think>`
        this.state = 'content';
        this.skippingLead = true;
        continue;
      }
      if (this.state === 'reasoning') {
        if (this.skippingLead) {
          const kept = this.buffer.replace(/^\n+/, '');
          if (kept === '' && !final) {
            this.buffer = '';
            return deltas;
          }
          this.buffer = kept;
          this.skippingLead = false;
        }
        const end = this.buffer.indexOf(THINK_CLOSE);
        if (end >= 0) {
          this.emit(deltas, 'reasoning', this.buffer.slice(0, end).replace(/\n+$/, ''));
          this.buffer = this.buffer.slice(end + THINK_CLOSE.length);
          this.state = 'content';
          this.skippingLead = true;
          continue;
        }
        if (final) {
          this.emit(deltas, 'reasoning', this.buffer.replace(/\n+$/, ''));
          this.buffer = '';
          return deltas;
        }
        const hold = heldTail(
          this.buffer,
          THINK_CLOSE,
          (text) => text.length - text.replace(/\n+$/, '').length,
        );
        this.emit(deltas, 'reasoning', this.buffer.slice(0, this.buffer.length - hold));
        this.buffer = this.buffer.slice(this.buffer.length - hold);
        return deltas;
      }
      if (this.state === 'content') {
        if (this.skippingLead) {
          this.buffer = this.buffer.trimStart();
          if (this.buffer === '') return deltas;
          this.skippingLead = false;
        }
        const call = this.buffer.indexOf(TOOL_CALL_OPEN);
        if (call >= 0) {
          this.emit(deltas, 'text', this.buffer.slice(0, call).trimEnd());
          this.buffer = this.buffer.slice(call);
          this.state = 'calls';
          continue;
        }
        if (final) {
          this.emit(deltas, 'text', this.buffer.trimEnd());
          this.buffer = '';
          return deltas;
        }
        const hold = heldTail(this.buffer, TOOL_CALL_OPEN, trailingWhitespaceLength);
        this.emit(deltas, 'text', this.buffer.slice(0, this.buffer.length - hold));
        this.buffer = this.buffer.slice(this.buffer.length - hold);
        return deltas;
      }
      return deltas; // 'calls': held until finish()
    }
  }

  private emit(deltas: HermesDelta[], kind: HermesDelta['kind'], text: string): void {
    if (text === '') return;
    if (kind === 'reasoning') this.reasoning += text;
    else this.content += text;
    deltas.push({ kind, text });
  }
}

/** A whole completion text read by the same rules. */
export function parseHermesTurn(text: string): HermesTurn {
  const parser = new HermesStreamParser();
  parser.push(text);
  return parser.finish().turn;
}
