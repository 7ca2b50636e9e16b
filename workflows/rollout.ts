import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentToolActivities, ToolResult } from '../activities/agent/activities';
import type { LlmActivities } from '../activities/llm/activities';
import type { SandboxActivities } from '../activities/sandbox/activities';
import { formatProblemObservation, NO_TOOL_CALL_PROBLEM, observation } from '../core/agent/observation';
import { systemPrompt, taskMessage } from '../core/agent/prompts';
import { RolloutInputSchema, type RolloutInput, type RolloutRequest } from '../core/agent/rollout-input';
import { parseToolCall } from '../core/agent/tool-call';
import type { ExitStatus, PendingObservation } from '../core/agent/trajectory';
import type { ArtifactRef } from '../core/artifacts';
import { describeIssues } from '../core/environment-input';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { containerName } from '../core/names';
import type { PatchStats } from '../core/patch-stats';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';

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
}

export type RolloutProgress = Omit<RolloutState, 'pending' | 'trajectory' | 'lastDiff'> & { status: string };

export const rolloutProgressQuery = defineQuery<RolloutProgress>('progress');

const MAX_RECOVERIES = 3;

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
    const { pending, trajectory, lastDiff, ...rest } = state;
    return { ...rest, status };
  });

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
  const sandbox = proxyActivities<SandboxActivities & AgentToolActivities>({
    taskQueue: input.sandbox.hostQueue,
    startToCloseTimeout: `${input.limits.commandTimeoutSeconds + 180}s`,
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
    retry: { ...retry, initialInterval: '1s', maximumAttempts: 10 },
  });

  const name = containerName(input.runId, input.rolloutId);
  const createContainer = async (): Promise<void> => {
    await sandbox.createSandbox({
      name,
      image: input.sandbox.image,
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
        if (failureType(error) !== ErrorTypes.ContainerGone || state.recoveries >= MAX_RECOVERIES)
          throw error;
        state.recoveries += 1;
        status = `recreating the sandbox (${state.recoveries})`;
        await sandbox.destroySandbox({ name });
        await createContainer();
        if (state.lastDiff) await sandbox.applyPatch({ container: name, patch: state.lastDiff });
      }
    }
  };

  const runTool = (
    key: string,
    action: Parameters<AgentToolActivities['runTool']>[0]['action'],
  ): Promise<ToolResult> =>
    onContainer(() =>
      sandbox.runTool({
        container: name,
        baseCommit: input.sandbox.baseCommit,
        key,
        before: state.lastDiff,
        action,
        commandTimeoutSeconds: input.limits.commandTimeoutSeconds,
        observationCapBytes: input.limits.observationCapBytes,
      }),
    );

  let continuing = false;
  try {
    if (!state.containerReady) {
      status = 'creating the sandbox';
      await createContainer();
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
        ? await llm.finishTrajectory({
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
      let turn;
      try {
        turn = await llm.agentTurn({
          rolloutId: input.rolloutId,
          turn: state.turn + 1,
          model: input.model,
          trajectory: state.trajectory,
          start: state.trajectory
            ? undefined
            : { system: systemPrompt(), user: taskMessage(input.kind, input.task) },
          observations: state.pending,
        });
      } catch (error) {
        // A rejected request or a missing model: the trajectory records it, then the rollout fails.
        if (state.trajectory) await finish('exit_error', (error as Error).message).catch(() => undefined);
        throw error;
      }
      state.turn += 1;
      state.pending = [];
      state.trajectory = turn.trajectory;
      state.promptTokens += turn.usage.promptTokens;
      state.completionTokens += turn.usage.completionTokens;
      state.modelMs += turn.modelMs;
      state.costUsd +=
        (turn.usage.promptTokens * input.model.inputUsdPerMTok +
          turn.usage.completionTokens * input.model.outputUsdPerMTok) /
        1e6;
      if (turn.contextExceeded || turn.usage.promptTokens > input.limits.contextCapTokens) {
        return await finish('exit_context', `prompt of ${turn.usage.promptTokens} tokens`);
      }

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
          ref: result.observation,
        });
      }
      state.formatErrors = malformed ? state.formatErrors + 1 : 0;
      if (submitted) {
        const diff = await onContainer(() =>
          sandbox.sandboxDiff({ container: name, baseCommit: input.sandbox.baseCommit }),
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
    if (!continuing) await CancellationScope.nonCancellable(() => sandbox.destroySandbox({ name }));
  }
}
