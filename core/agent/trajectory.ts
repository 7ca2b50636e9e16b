import type { ArtifactRef } from '../artifacts';

/** Why a rollout ended. Only `submitted` rollouts can become training data. */
export const EXIT_STATUSES = [
  'submitted',
  'exit_turns',
  'exit_cost',
  'exit_context',
  'exit_time',
  'exit_format',
  'exit_error',
] as const;
export type ExitStatus = (typeof EXIT_STATUSES)[number];

/**
 * What can be wrong with a teacher's reply: cut at the token limit, empty, no tool call where one
 * was needed, or a tool call that does not parse. Such replies are asked again, never trained on.
 */
export const REPLY_PROBLEMS = ['length', 'empty', 'no_tool_call', 'malformed'] as const;
export type ReplyProblem = (typeof REPLY_PROBLEMS)[number];

/** OpenAI chat messages, as sent and received. */
export interface ToolCallRecord {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | {
      role: 'assistant';
      /** The answer: the visible text, with any `<think>` block taken out into `reasoning`. */
      content: string | null;
      tool_calls?: ToolCallRecord[];
      /**
       * A reasoning model's thinking (`reasoning_content`, `reasoning`, or `<think>…</think>` in
       * the reply), kept apart from the answer; never sent back to the teacher.
       */
      reasoning?: string;
    }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** One model call and what came of its tool calls. */
export interface TurnRecord {
  turn: number;
  model: string;
  usage: TokenUsage;
  modelMs: number;
  /**
   * Replies with a malformed tool call that were asked again (SWE-agent's requery) and left out
   * of the messages; their tokens are in `usage`.
   */
  requeried?: number;
  /** Replies asked again under the reply policy, by what was wrong with them. */
  retried?: Partial<Record<ReplyProblem, number>>;
  /**
   * Requests whose reply never came back (a timeout, a dropped connection, a dead worker), asked
   * again; each is in `usage` at its prompt plus its whole token limit.
   */
  lostRequests?: number;
  /** Filled in when the observations come back (next model call or the end). */
  tools: Array<{
    callId: string;
    name: string;
    ok: boolean;
    ms: number;
    exitCode?: number;
    /** The sandbox's writable space in use (/repo and /tmp) after the call, in kB. */
    writableKb?: number;
  }>;
}

/** The whole record of a rollout, kept in the artifact store (JSON). */
export interface Trajectory {
  version: 1;
  rolloutId: string;
  messages: ChatMessage[];
  turns: TurnRecord[];
  exit?: { status: ExitStatus; detail?: string; patch?: ArtifactRef };
}

/** An observation waiting to be shown to the model: inline when small, by reference when not. */
export interface PendingObservation {
  /** Absent when the reply had no tool call: the note then goes back as a user message. */
  toolCallId?: string;
  name: string;
  ok: boolean;
  ms: number;
  exitCode?: number;
  writableKb?: number;
  text?: string;
  ref?: ArtifactRef;
}
