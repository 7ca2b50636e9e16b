import OpenAI from 'openai';
import { activityContext, heartbeat } from '../common/activity-context';
import { parseToolCall } from '../../core/agent/tool-call';
import { AGENT_TOOLS } from '../../core/agent/tools';
import { splitReasoning } from '../../core/agent/reply';
import {
  REPLY_PROBLEMS,
  type ChatMessage,
  type ExitStatus,
  type PendingObservation,
  type ReplyProblem,
  type ToolCallRecord,
  type TokenUsage,
  type Trajectory,
  type TurnRecord,
} from '../../core/agent/trajectory';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import type { ModelSettings } from '../../core/agent/rollout-input';
import {
  addUsage,
  askOnce,
  askUntilUsable,
  completionUsage,
  openaiClient,
  type Attempt,
  type PolicyOutcome,
  type ReplyPolicy,
} from './chat';
import { tokenLimitParams, usageOf } from './endpoint';
import { unusableDetail, type ReplyAttempt } from '../../core/agent/reply-attempts';
import { chargeLostRequests, requestAnswered, requestSent } from './lost-requests';
import { asModelFailure, isContextOverflow } from './model-errors';
import { followServed } from './served-endpoint';
import { appendObservations, loadTrajectory, saveTrajectory } from './trajectory-store';

export interface LlmDeps {
  artifacts: ArtifactStore;
  env?: NodeJS.ProcessEnv;
}

export interface AgentTurnInput {
  rolloutId: string;
  turn: number;
  model: ModelSettings;
  /** The trajectory so far; absent on the first turn, which starts from `start`. */
  trajectory?: ArtifactRef;
  start?: { system: string; user: string };
  observations: PendingObservation[];
  /**
   * Before the reply policy: replies with a malformed tool call asked again before one is kept
   * (absent: none). Ignored when `replyPolicy` is given.
   */
  formatRequeries?: number;
  /**
   * Replies that are cut, empty, without a tool call or with one that does not parse are asked
   * again, never kept; past the retries the turn comes back `unusable`.
   */
  replyPolicy?: ReplyPolicy;
  /**
   * With the reply policy: this call is one request, and the workflow asks again (one model
   * request per activity attempt, so a start-to-close timeout sized for one request holds). The
   * first attempt of a turn appends the observations; later ones continue the trajectory it saved.
   */
  attempt?: ReplyAttempt;
  /** The turn's replies asked again so far, by cause (recorded on the turn). */
  retried?: Partial<Record<ReplyProblem, number>>;
}

export interface AgentTurnResult {
  trajectory: ArtifactRef;
  toolCalls: ToolCallRecord[];
  content: string | null;
  usage: TokenUsage;
  /**
   * The prompt of the request whose reply is kept: the conversation's length, which the context
   * cap is checked against (`usage` sums every attempt; absent in results recorded before).
   */
  conversationTokens?: number;
  modelMs: number;
  /** The server refused the conversation as too long: the rollout ends with exit_context. */
  contextExceeded: boolean;
  /** Replies asked again under the reply policy, by cause. */
  retried?: Partial<Record<ReplyProblem, number>>;
  /** The reply policy's retries were spent on replies that went wrong: the rollout ends. */
  unusable?: { problem: ReplyProblem; detail: string };
  /**
   * One request per attempt: what was wrong with the reply (left out of the messages), for the
   * workflow to ask again, and the attempt as sent (its limit's name may have changed).
   */
  rejected?: { problem: ReplyProblem; attempt: ReplyAttempt };
  /** Requests of earlier attempts whose reply never came back, charged in `usage`. */
  lostRequests?: number;
}

export interface FinishTrajectoryInput {
  trajectory: ArtifactRef;
  observations: PendingObservation[];
  exit: { status: ExitStatus; detail?: string; patch?: ArtifactRef };
}

/** True when a reply's tool call would come back to the model as a format error. */
function hasMalformedCall(completion: OpenAI.Chat.Completions.ChatCompletion): boolean {
  return (completion.choices[0]?.message?.tool_calls ?? []).some(
    (call) => call.type === 'function' && !parseToolCall(call.function.name, call.function.arguments).ok,
  );
}

/**
 * The conversation as the teacher gets it back: without its old reasoning, as the chat templates
 * of reasoning models drop the thinking of earlier turns.
 */
function requestMessages(messages: ChatMessage[]): OpenAI.Chat.Completions.ChatCompletionMessageParam[] {
  return messages.map((message) => {
    if (message.role !== 'assistant' || message.reasoning === undefined) return message;
    const { reasoning, ...sent } = message;
    return sent;
  }) as OpenAI.Chat.Completions.ChatCompletionMessageParam[];
}

/**
 * The turn before the reply policy (kept for rollouts begun before it): only a malformed tool
 * call is asked again, with the same request, and past the requeries the reply is kept.
 */
async function requeryMalformed(
  send: (attempt: Attempt) => Promise<OpenAI.Chat.Completions.ChatCompletion>,
  model: ModelSettings,
  requeries: number,
  requestMessages: readonly unknown[],
): Promise<PolicyOutcome & { requeried: number }> {
  let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  for (let requeried = 0; ; requeried += 1) {
    const completion = await send({
      index: 0,
      seed: model.seed,
      maxTokens: model.maxTokens,
      tokenLimit: tokenLimitParams(model, model.maxTokens),
    });
    const used = completionUsage(completion, requestMessages);
    usage = addUsage(usage, used);
    if (requeried >= requeries || !hasMalformedCall(completion))
      return { completion, retried: {}, usage, conversationTokens: used.promptTokens, requeried };
  }
}

/** The turn's record, once: later attempts of the same turn add to the record the first one made. */
function turnRecordOf(trajectory: Trajectory, turn: number, model: string): TurnRecord {
  const last = trajectory.turns.at(-1);
  if (last?.turn === turn) return last;
  const record: TurnRecord = {
    turn,
    model,
    usage: { promptTokens: 0, completionTokens: 0 },
    modelMs: 0,
    tools: [],
  };
  trajectory.turns.push(record);
  return record;
}

/** A turn whose conversation no longer fits the model's context: no reply, the rollout ends. */
function contextExceededTurn(trajectory: ArtifactRef, started: number): AgentTurnResult {
  return {
    trajectory,
    toolCalls: [],
    content: null,
    usage: { promptTokens: 0, completionTokens: 0 },
    modelMs: Date.now() - started,
    contextExceeded: true,
  };
}

/**
 * One request of a turn under the reply policy: the workflow decides whether a reply that went
 * wrong is asked again. The reply that went wrong stays out of the messages; its tokens, and those
 * of earlier attempts' requests that never came back, go on the turn's record and to the caller.
 */
async function oneRequest(
  artifacts: ArtifactStore,
  input: AgentTurnInput,
  attempt: ReplyAttempt,
  trajectory: Trajectory,
  messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[],
  send: (attempt: Attempt) => Promise<OpenAI.Chat.Completions.ChatCompletion>,
): Promise<AgentTurnResult> {
  const started = Date.now();
  const sent = requestSent(attempt.maxTokens);
  // Heartbeats tell Temporal the worker is alive while the model thinks (a dead worker's call is retried).
  const ticker = setInterval(heartbeat, 1000);
  let outcome;
  try {
    outcome = await askOnce(
      { model: input.model, needsToolCall: true, retryOn: REPLY_PROBLEMS, requestMessages: messages, send },
      attempt,
    );
    requestAnswered(sent);
  } catch (error) {
    requestAnswered(sent, error);
    if (isContextOverflow(error)) {
      return contextExceededTurn(await saveTrajectory(artifacts, trajectory), started);
    }
    throw asModelFailure(error, input.model.baseUrl, input.model.model);
  } finally {
    clearInterval(ticker);
  }
  const modelMs = Date.now() - started;
  const lost = chargeLostRequests(sent, () => usageOf({}, messages, '').promptTokens);
  const usage = addUsage(outcome.usage, lost.usage);
  const record = turnRecordOf(trajectory, input.turn, outcome.completion.model ?? input.model.model);
  record.usage = addUsage(record.usage, usage);
  record.modelMs += modelMs;
  const retried = input.retried && Object.keys(input.retried).length > 0 ? { retried: input.retried } : {};
  Object.assign(record, retried);
  if (lost.lost > 0) record.lostRequests = (record.lostRequests ?? 0) + lost.lost;
  const common = {
    usage,
    conversationTokens: outcome.usage.promptTokens,
    modelMs,
    contextExceeded: false,
    ...retried,
    ...(lost.lost > 0 ? { lostRequests: lost.lost } : {}),
  };
  if (outcome.problem !== undefined) {
    return {
      trajectory: await saveTrajectory(artifacts, trajectory),
      toolCalls: [],
      content: null,
      ...common,
      rejected: { problem: outcome.problem, attempt: outcome.attempt },
    };
  }
  const { toolCalls, content } = keepReply(trajectory, outcome.completion);
  return { trajectory: await saveTrajectory(artifacts, trajectory), toolCalls, content, ...common };
}

/** Adds a usable reply to the messages (its reasoning kept apart): its tool calls and answer. */
function keepReply(
  trajectory: Trajectory,
  completion: OpenAI.Chat.Completions.ChatCompletion,
): { toolCalls: ToolCallRecord[]; content: string | null } {
  const message = completion.choices[0]?.message;
  const toolCalls: ToolCallRecord[] = (message?.tool_calls ?? [])
    .filter((c) => c.type === 'function')
    .map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.function.name, arguments: c.function.arguments },
    }));
  const { reasoning, answer } = splitReasoning(message ?? {});
  const assistant: ChatMessage = {
    role: 'assistant',
    content: answer,
    ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
    ...(reasoning !== undefined ? { reasoning } : {}),
  };
  trajectory.messages.push(assistant);
  return { toolCalls, content: answer };
}

/** The llm role's activities: one model call per turn, and the trajectory's last write. */
export function createLlmActivities(deps: LlmDeps) {
  const env = deps.env ?? process.env;
  return {
    async agentTurn(request: AgentTurnInput): Promise<AgentTurnResult> {
      // A served model is asked where its engine is now (it may have moved since the turn began).
      const input = { ...request, model: await followServed(request.model) };
      const trajectory: Trajectory = input.trajectory
        ? await loadTrajectory(deps.artifacts, input.trajectory)
        : {
            version: 1,
            rolloutId: input.rolloutId,
            messages: [
              { role: 'system', content: input.start?.system ?? '' },
              { role: 'user', content: input.start?.user ?? '' },
            ],
            turns: [],
          };
      await appendObservations(deps.artifacts, trajectory, input.observations);

      const started = Date.now();
      const messages = requestMessages(trajectory.messages);
      const send = (attempt: Attempt): Promise<OpenAI.Chat.Completions.ChatCompletion> =>
        openaiClient(input.model, env).chat.completions.create(
          {
            model: input.model.model,
            messages,
            tools: AGENT_TOOLS,
            temperature: input.model.temperature,
            ...attempt.tokenLimit,
            ...(attempt.seed !== undefined ? { seed: attempt.seed } : {}),
          },
          { signal: activityContext()?.cancellationSignal },
        );
      if (input.attempt && input.replyPolicy)
        return oneRequest(deps.artifacts, input, input.attempt, trajectory, messages, send);
      // Heartbeats tell Temporal the worker is alive while the model thinks (a dead worker's call is retried).
      const ticker = setInterval(heartbeat, 1000);
      let outcome: PolicyOutcome & { requeried?: number };
      try {
        outcome = input.replyPolicy
          ? await askUntilUsable({
              model: input.model,
              policy: input.replyPolicy,
              needsToolCall: true,
              retryOn: REPLY_PROBLEMS,
              requestMessages: messages,
              send,
            })
          : await requeryMalformed(send, input.model, input.formatRequeries ?? 0, messages);
      } catch (error) {
        if (isContextOverflow(error)) {
          return contextExceededTurn(await saveTrajectory(deps.artifacts, trajectory), started);
        }
        throw asModelFailure(error, input.model.baseUrl, input.model.model);
      } finally {
        clearInterval(ticker);
      }
      const modelMs = Date.now() - started;
      const { completion, usage, conversationTokens, problem, requeried = 0 } = outcome;
      const retried = Object.keys(outcome.retried).length > 0 ? { retried: outcome.retried } : {};
      const record: TurnRecord = {
        turn: input.turn,
        model: completion.model ?? input.model.model,
        usage,
        modelMs,
        ...(requeried > 0 ? { requeried } : {}),
        ...retried,
        tools: [],
      };
      if (problem !== undefined) {
        // The reply that went wrong stays out of the messages; the turn keeps its tokens and counts.
        trajectory.turns.push(record);
        const retries = input.replyPolicy?.retries ?? 0;
        return {
          trajectory: await saveTrajectory(deps.artifacts, trajectory),
          toolCalls: [],
          content: null,
          usage,
          conversationTokens,
          modelMs,
          contextExceeded: false,
          ...retried,
          unusable: { problem, detail: unusableDetail(problem, retries) },
        };
      }
      const { toolCalls, content: answer } = keepReply(trajectory, completion);
      trajectory.turns.push(record);
      const ref = await saveTrajectory(deps.artifacts, trajectory);
      return {
        trajectory: ref,
        toolCalls,
        content: answer,
        usage,
        conversationTokens,
        modelMs,
        contextExceeded: false,
        ...retried,
      };
    },

    async finishTrajectory(input: FinishTrajectoryInput): Promise<ArtifactRef> {
      const trajectory = await loadTrajectory(deps.artifacts, input.trajectory);
      await appendObservations(deps.artifacts, trajectory, input.observations);
      trajectory.exit = input.exit;
      return saveTrajectory(deps.artifacts, trajectory);
    },
  };
}

export type LlmActivities = ReturnType<typeof createLlmActivities>;
