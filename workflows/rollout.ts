import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  continueAsNew,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentToolActivities, ToolResult } from '../activities/agent/activities';
import type { AgentTurnResult, LlmActivities } from '../activities/llm/activities';
import type { SandboxActivities } from '../activities/sandbox/activities';
import { agentTurnSummary, runToolSummary } from '../core/activity-summary';
import { formatProblemObservation, NO_TOOL_CALL_PROBLEM, observation } from '../core/agent/observation';
import { systemPrompt, taskMessage } from '../core/agent/prompts';
import { RolloutInputSchema, type RolloutInput, type RolloutRequest } from '../core/agent/rollout-input';
import { parseToolCall } from '../core/agent/tool-call';
import type { ExitStatus, PendingObservation, ReplyProblem } from '../core/agent/trajectory';
import type { ArtifactRef } from '../core/artifacts';
import { describeIssues } from '../core/environment-input';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { containerName } from '../core/names';
import type { PatchStats } from '../core/patch-stats';
import { TimeoutType } from '@temporalio/common';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';
import { askTurn } from './ask-turn';
import { callWithSummary } from './with-summary';

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
  /** Replies asked again under the reply policy, by cause, summed over the turns. */
  retried?: Partial<Record<ReplyProblem, number>>;
}

export type RolloutProgress = Omit<RolloutState, 'pending' | 'trajectory' | 'lastDiff' | 'host'> & {
  status: string;
};

export const rolloutProgressQuery = defineQuery<RolloutProgress>('progress');

const MAX_RECOVERIES = 3;
/** Workflow patch (docs/operations.md): turns pass `formatRequeries` to the model call. */
export const FORMAT_REQUERIES = 'format-requeries';
/**
 * Workflow patch (docs/operations.md): a cancelled rollout waits for a container create in flight
 * to end before it removes the container, so the create cannot add it back after the removal.
 */
export const CREATE_BEFORE_CLEANUP = 'create-before-cleanup';
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
/** Hosts a rollout may move to before it fails: a run whose hosts all keep dying should stop. */
const MAX_HOST_MOVES = 5;

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

function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** The host, not the container, is gone: its engine does not answer, or no worker takes its tasks. */
function hostLost(error: unknown): boolean {
  if (failureType(error) === ErrorTypes.DockerUnreachable) return true;
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  return cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
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
  // A rollout that knows its repository claims a host itself and can move to another one.
  const repository = input.sandbox.repository;
  const movable = repository !== undefined;
  const onHost = (queue: string, waitForCancel = false) =>
    proxyActivities<SandboxActivities & AgentToolActivities>({
      taskQueue: queue,
      ...(waitForCancel ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
      startToCloseTimeout: `${input.limits.commandTimeoutSeconds + 180}s`,
      heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
      // A movable rollout does not wait for a dead engine: it moves to a live host instead.
      ...(movable ? { scheduleToStartTimeout: `${input.sandbox.hostStartTimeoutSeconds}s` } : {}),
      retry: {
        nonRetryableErrorTypes: movable
          ? [...retry.nonRetryableErrorTypes, ErrorTypes.DockerUnreachable]
          : retry.nonRetryableErrorTypes,
        initialInterval: '1s',
        maximumAttempts: 10,
      },
    });
  /** The rollout's current host: the one it claimed, or the one it was given. */
  const sandbox = (waitForCancel = false): ReturnType<typeof onHost> =>
    onHost(state.host?.queue ?? input.sandbox.hostQueue, waitForCancel);
  const claims = proxyActivities<Pick<SandboxActivities, 'claimHostForRepository'>>({
    taskQueue: TaskQueues.sandbox,
    startToCloseTimeout: '30m',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
    // Hosts whose engine is down, or that cannot build the image, refuse claims; retrying soon
    // lets another host answer. About 10 minutes of refusals fail the rollout.
    retry: {
      initialInterval: '1s',
      maximumInterval: '15s',
      maximumAttempts: 45,
      nonRetryableErrorTypes: retry.nonRetryableErrorTypes,
    },
  });
  const claimHost = async (): Promise<void> => {
    const host = await claims.claimHostForRepository({
      repository: repository!,
      commit: input.sandbox.baseCommit,
      ...(input.sandbox.recipe ? { recipe: input.sandbox.recipe } : {}),
    });
    state.host = { queue: host.taskQueue, id: host.hostId, image: host.image };
    state.hosts = [...(state.hosts ?? []), host.hostId];
  };

  const name = containerName(input.runId, input.rolloutId);
  const createContainer = async (): Promise<void> => {
    await sandbox(patched(CREATE_BEFORE_CLEANUP)).createSandbox({
      name,
      image: state.host?.image ?? input.sandbox.image,
      baseCommit: input.sandbox.baseCommit,
      runId: input.runId,
      workflowId: workflowInfo().workflowId,
      limits: input.sandbox.limits,
    });
  };

  /** Runs a call against the container; a dead container is replaced by one at the last recorded diff. */
  const onContainer = async <T>(call: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (movable) {
          await replaceLost(error);
          continue;
        }
        if (failureType(error) !== ErrorTypes.ContainerGone || state.recoveries >= MAX_RECOVERIES)
          throw error;
        state.recoveries += 1;
        status = `recreating the sandbox (${state.recoveries})`;
        await sandbox().destroySandbox({ name });
        await createContainer();
        if (state.lastDiff) await sandbox().applyPatch({ container: name, patch: state.lastDiff });
      }
    }
  };

  /**
   * A movable rollout's recovery: a lost container is rebuilt on its host, a lost host on another
   * live host (whose image is built first); either way from the base commit plus the last
   * recorded diff. A host lost while recovering moves the rollout again. Anything else is rethrown.
   */
  const replaceLost = async (error: unknown): Promise<void> => {
    let failure = error;
    for (;;) {
      const lost =
        failureType(failure) === ErrorTypes.ContainerGone
          ? 'container'
          : hostLost(failure)
            ? 'host'
            : undefined;
      if (lost === undefined) throw failure;
      if (lost === 'container' && state.recoveries >= MAX_RECOVERIES) throw failure;
      if (lost === 'host' && (state.moves ?? 0) >= MAX_HOST_MOVES) throw failure;
      try {
        if (lost === 'container') {
          state.recoveries += 1;
          status = `recreating the sandbox (${state.recoveries})`;
          await sandbox().destroySandbox({ name });
        } else {
          // The old host's container is left to that host's reaper: the host cannot be reached.
          state.moves = (state.moves ?? 0) + 1;
          status = `moving off sandbox host ${state.host?.id ?? '?'} (${state.moves})`;
          await claimHost();
          // The claim may land on the same host once it is back: its stale container must go first.
          await sandbox().destroySandbox({ name });
        }
        await createContainer();
        if (state.lastDiff) await sandbox().applyPatch({ container: name, patch: state.lastDiff });
        return;
      } catch (next) {
        failure = next;
      }
    }
  };

  const runTool = (
    key: string,
    action: Parameters<AgentToolActivities['runTool']>[0]['action'],
  ): Promise<ToolResult> =>
    onContainer(() =>
      callWithSummary(sandbox().runTool, runToolSummary(state.turn, action), {
        container: name,
        prompts: input.prompts,
        baseCommit: input.sandbox.baseCommit,
        key,
        before: state.lastDiff,
        action,
        commandTimeoutSeconds: input.limits.commandTimeoutSeconds,
        observationCapBytes: input.limits.observationCapBytes,
      }),
    );

  /** The container goes with the rollout; on a host that cannot be reached, its reaper removes it later. */
  const removeContainer = async (): Promise<void> => {
    // A movable rollout that never got a host never made a container.
    if (movable && !state.host) return;
    try {
      await sandbox().destroySandbox({ name });
    } catch (error) {
      if (!movable || !hostLost(error)) throw error;
    }
  };

  let continuing = false;
  try {
    if (!state.containerReady) {
      status = 'creating the sandbox';
      if (movable) {
        await claimHost();
        await onContainer(createContainer);
      } else await createContainer();
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
        ...(state.retried ? { retried: state.retried } : {}),
      };
    };

    for (;;) {
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
      let turn;
      // Since ONE_REQUEST_PER_ATTEMPT each attempt's tokens are counted as it ends.
      const perAttempt = patched(ONE_REQUEST_PER_ATTEMPT);
      try {
        // Since the reply policy, no reply that went wrong reaches the trajectory; before it, since
        // FORMAT_REQUERIES, a malformed tool call was asked again before it did.
        turn = perAttempt
          ? await askTurn(llm.agentTurn, { ...turnInput, replyPolicy }, (attempt) => {
              countModelUse(attempt);
              return state.costUsd >= input.limits.costCapUsd ? 'stop' : 'go-on';
            })
          : await callWithSummary(llm.agentTurn, agentTurnSummary(state.turn + 1), {
              ...turnInput,
              ...(patched(REPLY_POLICY)
                ? { replyPolicy }
                : patched(FORMAT_REQUERIES)
                  ? { formatRequeries: input.limits.formatRequeries }
                  : {}),
            });
      } catch (error) {
        // A rejected request or a missing model: the trajectory records it, then the rollout fails.
        if (state.trajectory) await finish('exit_error', (error as Error).message).catch(() => undefined);
        throw error;
      }
      state.turn += 1;
      state.pending = [];
      state.trajectory = turn.trajectory;
      if (!perAttempt) countModelUse(turn);
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

      let malformed = false;
      let submitted = false;
      for (const [index, call] of turn.toolCalls.entries()) {
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
        const result = await runTool(`t${state.turn}-${index}`, tool.action);
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
      state.formatErrors = malformed ? state.formatErrors + 1 : 0;
      if (submitted) {
        const diff = await onContainer(() =>
          sandbox().sandboxDiff({ container: name, baseCommit: input.sandbox.baseCommit }),
        );
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
    if (!continuing) await CancellationScope.nonCancellable(() => removeContainer());
  }
}
