import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentTurnResult, LlmActivities } from '../activities/llm/activities';
import { agentTurnSummary } from '../core/activity-summary';
import { formatProblemObservation, NO_TOOL_CALL_PROBLEM, observation } from '../core/agent/observation';
import { systemPrompt, taskMessage } from '../core/agent/prompts';
import { RolloutInputSchema, type RolloutInput, type RolloutRequest } from '../core/agent/rollout-input';
import { parseToolCall } from '../core/agent/tool-call';
import type { ExitStatus, PendingObservation, ReplyProblem } from '../core/agent/trajectory';
import type { ArtifactRef } from '../core/artifacts';
import { describeIssues } from '../core/environment-input';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import type { PatchStats } from '../core/patch-stats';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';
import { askTurn } from './ask-turn';
import { callWithSummary } from './with-summary';
import { rolloutSandbox } from './rollout-sandbox';

/** What a rollout carries across continue-as-new. Small: the trajectory itself is an artifact. */
export interface RolloutState {
  turn: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  modelMs: number;
  toolMs: number;
  startedAt: number;
  trajectory?: ArtifactRef;
  pending: PendingObservation[];
  formatErrors: number;
  submitArmed: boolean;
  lastDiff?: ArtifactRef;
  containerReady: boolean;
  recoveries: number;
  /** Rollouts that claim their own host: where the container is now, and every host used. */
  host?: { queue: string; id: string; image: string };
  hosts?: string[];
  moves?: number;
  /** Replies asked again under the reply policy, by cause, over all turns so far. */
  retried?: Partial<Record<ReplyProblem, number>>;
}

export interface RolloutResult {
  rolloutId: string;
  exitStatus: ExitStatus;
  detail?: string;
  turns: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  trajectory: ArtifactRef;
  patch?: ArtifactRef & PatchStats;
  /** The sandbox's diff after the last tool call, submitted or not (an evaluation grades it). */
  lastDiff?: ArtifactRef;
  wallMs: number;
  modelMs: number;
  toolMs: number;
  recoveries: number;
  /** Sandbox hosts the rollout ran on, in order (rollouts that claim their own host). */
  hosts?: string[];
  /** The queue and image of the host it ended on (rollouts that claim their own host): its grading goes there first. */
  lastHost?: { queue: string; image: string };
  /** Replies asked again under the reply policy, by cause, summed over the turns. */
  retried?: Partial<Record<ReplyProblem, number>>;
}

export type RolloutProgress = Omit<RolloutState, 'pending' | 'trajectory' | 'lastDiff' | 'host'> & {
  status: string;
};

export const rolloutProgressQuery = defineQuery<RolloutProgress>('progress');

/** Workflow patch (docs/operations.md): turns pass `formatRequeries` to the model call. */
export const FORMAT_REQUERIES = 'format-requeries';
// Kept importable from here: prepareEnvironment and older code name it from the rollout.
export { CREATE_BEFORE_CLEANUP } from './rollout-sandbox';
/**
 * Workflow patch (docs/operations.md): turns pass a reply policy to the model call, which asks
 * again on a cut, empty, call-less or malformed reply (new seed each time, token limit raised
 * once); a turn whose retries are spent ends the rollout with exit_format. Replaces
 * FORMAT_REQUERIES for rollouts begun after it.
 */
export const REPLY_POLICY = 'reply-policy';
/**
 * Workflow patch (docs/operations.md): each model request of a turn is an activity of its own,
 * and the workflow asks a reply that went wrong again (workflows/ask-turn.ts); every attempt's
 * tokens, lost requests' included, are counted as it ends. Replaces REPLY_POLICY's in-activity
 * retries for rollouts begun after it.
 */
export const ONE_REQUEST_PER_ATTEMPT = 'one-request-per-attempt';
/**
 * Workflow patch (docs/operations.md): a rollout's first model call is asked at the same time as
 * its container is made, not after it; the container's making (about 0.5 s) then costs no wall
 * time when the model takes longer. Before it, the first call waited for the container.
 */
export const FIRST_TURN_BESIDE_CREATE = 'first-turn-beside-create';

const STAGE_OF_KIND = { change: 'rollout-1', reproduce: 'rollout-2', solve: 'solving' } as const;

function freshState(): RolloutState {
  return {
    turn: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
    modelMs: 0,
    toolMs: 0,
    startedAt: Date.now(),
    pending: [],
    formatErrors: 0,
    submitArmed: false,
    containerReady: false,
    recoveries: 0,
  };
}

/**
 * One SWE-agent-style rollout: the model is called once per turn on the llm queue, each tool call
 * runs on the sandbox host's queue, and the trajectory grows in the artifact store. Limits end
 * the rollout with an exit status, not an error. Usable on its own or as a child workflow.
 */
export async function rollout(request: RolloutRequest, carried?: RolloutState): Promise<RolloutResult> {
  const parsed = RolloutInputSchema.safeParse(request);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `invalid rollout input: ${describeIssues(parsed.error)}`,
      nonRetryable: true,
    });
  }
  const input: RolloutInput = parsed.data;
  const state = carried ?? freshState();
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.stage, value: STAGE_OF_KIND[input.kind] },
  ]);
  let status = carried ? 'continued' : 'starting';
  setHandler(rolloutProgressQuery, () => {
    const { pending, trajectory, lastDiff, host, ...rest } = state;
    return { ...rest, status };
  });

  /** A model call's tokens, cost and time, added to the rollout's. */
  function countModelUse(call: Pick<AgentTurnResult, 'usage' | 'modelMs'>): void {
    state.promptTokens += call.usage.promptTokens;
    state.completionTokens += call.usage.completionTokens;
    state.modelMs += call.modelMs;
    state.costUsd +=
      (call.usage.promptTokens * input.model.inputUsdPerMTok +
        call.usage.completionTokens * input.model.outputUsdPerMTok) /
      1e6;
  }

  const retry = { nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES, ErrorTypes.ContainerGone] };
  const llm = proxyActivities<LlmActivities>({
    taskQueue: TaskQueues.llm,
    startToCloseTimeout: `${input.model.requestTimeoutSeconds + 60}s`,
    scheduleToCloseTimeout: '6h',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
    // Rate limits and outages are waited out (Retry-After first); they never count against the model.
    retry: {
      ...retry,
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '2m',
    },
  });
  const sandbox = rolloutSandbox(input, state, (now) => (status = now));

  /**
   * Parses and runs one reply's tool calls in order, each observation going to `state.pending`:
   * a malformed call is answered with its problem, a confirmed submit ends the calls.
   */
  const execute = async (
    calls: AgentTurnResult['toolCalls'],
  ): Promise<{ malformed: boolean; submitted: boolean }> => {
    let malformed = false;
    let submitted = false;
    for (const [index, call] of calls.entries()) {
      const base = { toolCallId: call.id, name: call.function.name };
      if (submitted) {
        state.pending.push({
          ...base,
          ok: false,
          ms: 0,
          text: observation('Not run: the change was already submitted.'),
        });
        continue;
      }
      const tool = parseToolCall(call.function.name, call.function.arguments);
      if (!tool.ok) {
        malformed = true;
        state.pending.push({ ...base, ok: false, ms: 0, text: formatProblemObservation(tool.problem) });
        continue;
      }
      if (tool.action.tool === 'submit' && state.submitArmed) {
        submitted = true;
        state.pending.push({ ...base, ok: true, ms: 0, text: observation('Submitted.') });
        continue;
      }
      status = `turn ${state.turn}: ${tool.action.tool}`;
      const result = await sandbox.runTool(`t${state.turn}-${index}`, tool.action);
      state.submitArmed = tool.action.tool === 'submit';
      state.toolMs += result.ms;
      state.lastDiff = result.diff;
      state.pending.push({
        ...base,
        ok: result.ok,
        ms: result.ms,
        exitCode: result.exitCode,
        ...(result.writableKb === undefined ? {} : { writableKb: result.writableKb }),
        ref: result.observation,
      });
    }
    return { malformed, submitted };
  };

  /** The next turn's model call (its reply, under the reply policy), from the rollout's state now. */
  const askModel = async (): Promise<AgentTurnResult> => {
    status = `turn ${state.turn + 1}: model`;
    const turnInput = {
      rolloutId: input.rolloutId,
      turn: state.turn + 1,
      model: input.model,
      trajectory: state.trajectory,
      start: state.trajectory
        ? undefined
        : {
            system: systemPrompt(input.languages),
            user: taskMessage(input.kind, input.task, {
              languages: input.languages,
              style: input.prompts,
            }),
          },
      observations: state.pending,
    };
    const replyPolicy = {
      retries: input.limits.formatRequeries,
      raiseLimitOnce: input.limits.raiseTokenLimitOnce,
    };
    // Since ONE_REQUEST_PER_ATTEMPT each attempt's tokens are counted as it ends.
    const perAttempt = patched(ONE_REQUEST_PER_ATTEMPT);
    // Since the reply policy, no reply that went wrong reaches the trajectory; before it, since
    // FORMAT_REQUERIES, a malformed tool call was asked again before it did.
    if (perAttempt)
      return askTurn(llm.agentTurn, { ...turnInput, replyPolicy }, (attempt) => {
        countModelUse(attempt);
        return state.costUsd >= input.limits.costCapUsd ? 'stop' : 'go-on';
      });
    const turn = await callWithSummary(llm.agentTurn, agentTurnSummary(state.turn + 1), {
      ...turnInput,
      ...(patched(REPLY_POLICY)
        ? { replyPolicy }
        : patched(FORMAT_REQUERIES)
          ? { formatRequeries: input.limits.formatRequeries }
          : {}),
    });
    countModelUse(turn);
    return turn;
  };

  let continuing = false;
  /** The first model call, asked while the container is made (since FIRST_TURN_BESIDE_CREATE). */
  let early: Promise<AgentTurnResult> | undefined;
  try {
    if (!state.containerReady) {
      // The first request needs no container: its wait hides the container's making.
      const beside = state.turn === 0 && !state.trajectory && patched(FIRST_TURN_BESIDE_CREATE);
      const asking = beside ? new CancellationScope() : undefined;
      if (asking) {
        early = asking.run(askModel);
        // Awaited in the loop; until then a failure must not count as unhandled.
        early.catch(() => undefined);
      }
      status = 'creating the sandbox';
      try {
        await sandbox.create();
      } catch (error) {
        // No container, no rollout: the model call in flight is cancelled, not left to run for nothing.
        asking?.cancel();
        throw error;
      }
      state.containerReady = true;
    }
    const finish = async (
      exitStatus: ExitStatus,
      detail?: string,
      patch?: ArtifactRef & PatchStats,
    ): Promise<RolloutResult> => {
      status = exitStatus;
      upsertSearchAttributes([{ key: SearchAttributes.costUsd, value: state.costUsd }]);
      const trajectory = state.trajectory
        ? await callWithSummary(llm.finishTrajectory, `finish · ${exitStatus}`, {
            trajectory: state.trajectory,
            observations: state.pending,
            exit: { status: exitStatus, detail, patch },
          })
        : undefined;
      if (!trajectory)
        throw ApplicationFailure.create({
          message: 'rollout ended before its first model call',
          nonRetryable: true,
        });
      return {
        rolloutId: input.rolloutId,
        exitStatus,
        detail,
        turns: state.turn,
        promptTokens: state.promptTokens,
        completionTokens: state.completionTokens,
        costUsd: state.costUsd,
        trajectory,
        patch,
        lastDiff: state.lastDiff,
        wallMs: Date.now() - state.startedAt,
        modelMs: state.modelMs,
        toolMs: state.toolMs,
        recoveries: state.recoveries,
        hosts: state.hosts,
        ...(state.host ? { lastHost: { queue: state.host.queue, image: state.host.image } } : {}),
        ...(state.retried ? { retried: state.retried } : {}),
      };
    };

    for (;;) {
      // Limits are checked before a model call: the first call asked beside the create already was.
      if (!early) {
        if (state.turn > 0 && state.turn >= input.limits.maxModelCalls)
          return await finish('exit_turns', `${state.turn} model calls`);
        if (state.costUsd >= input.limits.costCapUsd)
          return await finish('exit_cost', `$${state.costUsd.toFixed(4)} spent`);
        if (state.turn > 0 && Date.now() - state.startedAt > input.limits.wallClockSeconds * 1000) {
          return await finish('exit_time', `over ${input.limits.wallClockSeconds} s`);
        }
        if (
          workflowInfo().historyLength >= input.historyEventsBeforeContinue ||
          workflowInfo().continueAsNewSuggested
        ) {
          continuing = true;
          await continueAsNew<typeof rollout>(request, state);
        }
      }

      let turn;
      try {
        turn = await (early ?? askModel());
        early = undefined;
      } catch (error) {
        // A rejected request or a missing model: the trajectory records it, then the rollout fails.
        if (state.trajectory) await finish('exit_error', (error as Error).message).catch(() => undefined);
        throw error;
      }
      state.turn += 1;
      state.pending = [];
      state.trajectory = turn.trajectory;
      if (turn.retried) {
        const sum = { ...state.retried };
        for (const [problem, count] of Object.entries(turn.retried) as Array<[ReplyProblem, number]>)
          sum[problem] = (sum[problem] ?? 0) + count;
        state.retried = sum;
      }
      // The cost cap reached while a reply that went wrong was to be asked again.
      if (turn.rejected && !turn.unusable)
        return await finish('exit_cost', `$${state.costUsd.toFixed(4)} spent`);
      // The conversation's length, not the sum of the turn's attempts (results recorded before
      // the field have only the sum, and replay must decide as they did).
      const conversation = turn.conversationTokens ?? turn.usage.promptTokens;
      if (turn.contextExceeded || conversation > input.limits.contextCapTokens) {
        return await finish('exit_context', `prompt of ${conversation} tokens`);
      }
      if (turn.unusable) return await finish('exit_format', turn.unusable.detail);

      if (turn.toolCalls.length === 0) {
        state.pending.push({
          name: 'none',
          ok: false,
          ms: 0,
          text: formatProblemObservation(NO_TOOL_CALL_PROBLEM),
        });
        state.formatErrors += 1;
        if (state.formatErrors >= input.limits.maxFormatErrors)
          return await finish(
            'exit_format',
            `${state.formatErrors} replies in a row without a valid tool call`,
          );
        continue;
      }

      const { malformed, submitted } = await execute(turn.toolCalls);
      state.formatErrors = malformed ? state.formatErrors + 1 : 0;
      if (submitted) {
        const diff = await sandbox.diff();
        return await finish('submitted', undefined, {
          ...diff.patch,
          filesChanged: diff.filesChanged,
          linesAdded: diff.linesAdded,
          linesDeleted: diff.linesDeleted,
        });
      }
      if (state.formatErrors >= input.limits.maxFormatErrors) {
        return await finish('exit_format', `${state.formatErrors} malformed replies in a row`);
      }
    }
  } finally {
    if (!continuing) await CancellationScope.nonCancellable(() => sandbox.remove());
  }
}
