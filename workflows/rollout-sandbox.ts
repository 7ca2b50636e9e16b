import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentToolActivities, ToolResult } from '../activities/agent/activities';
import type { SandboxActivities } from '../activities/sandbox/activities';
import { runToolSummary } from '../core/activity-summary';
import type { RolloutInput } from '../core/agent/rollout-input';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { hostLost } from '../core/host-lost';
import { containerName } from '../core/names';
import { TaskQueues } from '../core/queues';
import type { RolloutState } from './rollout';
import { callWithSummary } from './with-summary';

/*
 * Where a rollout's tool calls run, and how it recovers: the container on its sandbox host, made
 * again when it dies, and (for a rollout that knows its repository) a move to another live host
 * when its host is lost. The agent loop (workflows/rollout.ts) sees only create, runTool, diff and
 * remove.
 */

/**
 * Workflow patch (docs/operations.md): a cancelled rollout waits for a container create in flight
 * to end before it removes the container, so the create cannot add it back after the removal.
 */
export const CREATE_BEFORE_CLEANUP = 'create-before-cleanup';
/** Containers remade on the same host before the rollout fails. */
const MAX_RECOVERIES = 3;
/** Hosts a rollout may move to before it fails: a run whose hosts all keep dying should stop. */
const MAX_HOST_MOVES = 5;

function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

type ToolAction = Parameters<AgentToolActivities['runTool']>[0]['action'];
type SandboxDiff = Awaited<ReturnType<SandboxActivities['sandboxDiff']>>;

export interface RolloutSandbox {
  /** Claims a host (a rollout that knows its repository) and creates the container. */
  create(): Promise<void>;
  /** Runs one tool call in the container, remaking the container or moving host when lost. */
  runTool(key: string, action: ToolAction): Promise<ToolResult>;
  /** The container's diff against the base commit. */
  diff(): Promise<SandboxDiff>;
  /** Removes the container; on a host that cannot be reached, its reaper removes it later. */
  remove(): Promise<void>;
}

/** The sandbox of one rollout; `state` is the rollout's and is updated in place. */
export function rolloutSandbox(
  input: RolloutInput,
  state: RolloutState,
  setStatus: (status: string) => void,
): RolloutSandbox {
  const retry = { nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES, ErrorTypes.ContainerGone] };
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
  /**
   * The rollout's current host and image: the ones it claimed, or the ones it was given (the
   * input schema requires them of a rollout that does not claim).
   */
  const current = (): { queue: string; image: string } => {
    const queue = state.host?.queue ?? input.sandbox.hostQueue;
    const image = state.host?.image ?? input.sandbox.image;
    if (queue === undefined || image === undefined)
      throw ApplicationFailure.create({
        type: ErrorTypes.InvalidInput,
        message:
          'the rollout has no sandbox host: give sandbox.hostQueue and sandbox.image, or sandbox.repository',
        nonRetryable: true,
      });
    return { queue, image };
  };
  const sandbox = (waitForCancel = false): ReturnType<typeof onHost> =>
    onHost(current().queue, waitForCancel);
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
      image: current().image,
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
        setStatus(`recreating the sandbox (${state.recoveries})`);
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
          setStatus(`recreating the sandbox (${state.recoveries})`);
          await sandbox().destroySandbox({ name });
        } else {
          // The old host's container is left to that host's reaper: the host cannot be reached.
          state.moves = (state.moves ?? 0) + 1;
          setStatus(`moving off sandbox host ${state.host?.id ?? '?'} (${state.moves})`);
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

  return {
    async create(): Promise<void> {
      if (movable) {
        await claimHost();
        await onContainer(createContainer);
      } else await createContainer();
    },

    runTool: (key, action) =>
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
      ),

    diff: () =>
      onContainer(() => sandbox().sandboxDiff({ container: name, baseCommit: input.sandbox.baseCommit })),

    async remove(): Promise<void> {
      // A movable rollout that never got a host never made a container.
      if (movable && !state.host) return;
      try {
        await sandbox().destroySandbox({ name });
      } catch (error) {
        if (!movable || !hostLost(error)) throw error;
      }
    },
  };
}
