import { proxyActivities, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { SandboxActivities, SandboxHost, SandboxHostWithImage } from '../activities/sandbox/activities';
import type { RepoImageInput } from '../activities/sandbox/repo-image';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { hostLost } from '../core/host-lost';
import { TaskQueues } from '../core/queues';

/*
 * Stages pinned to one sandbox host (an environment check, a generation's image build and index,
 * an evaluation's instance files and grading) move to another when theirs is lost, as rollouts
 * do: the stage claims again, and does its work from the start on the host that answered.
 */

/** Hosts a stage may move to before it fails: a run whose hosts all keep dying should stop. */
export const MAX_HOST_MOVES = 5;

// Hosts at their container cap, or whose engine is down, refuse; another host, or the same one
// once it has room, answers a later try. An hour of refusals fails the stage.
const claims = proxyActivities<Pick<SandboxActivities, 'claimSandboxHost'>>({
  taskQueue: TaskQueues.sandbox,
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '1h',
  // No attempt limit: the hour bounds the tries.
  retry: {
    initialInterval: '1s',
    maximumInterval: '15s',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/**
 * Activity options on a claimed host that let a lost host show: a task no worker takes within
 * `hostStartTimeoutSeconds` times out, and a dead engine is not retried on the same host.
 */
export function optionsThatNoticeLoss(
  options: ActivityOptions & { retry: RetryPolicy },
  hostStartTimeoutSeconds: number,
): ActivityOptions {
  return {
    ...options,
    scheduleToStartTimeout: `${hostStartTimeoutSeconds}s`,
    retry: {
      ...options.retry,
      nonRetryableErrorTypes: [...(options.retry.nonRetryableErrorTypes ?? []), ErrorTypes.DockerUnreachable],
    },
  };
}

/**
 * Claims a host and runs `work` there; when the host is lost midway, claims another and runs
 * `work` again from the start (`moved` counts the moves), at most MAX_HOST_MOVES times.
 */
export function onLiveHost<T>(
  work: (host: SandboxHost, moved: number) => Promise<T>,
  onClaiming: () => void = () => undefined,
): Promise<T> {
  return movingBetweenHosts(() => claims.claimSandboxHost(), work, onClaiming);
}

/**
 * As onLiveHost, on a host that holds the repository's image at the commit: the claim builds it
 * there when the host has none (heartbeating), so it is sized for an image build. Its work makes
 * its container without createSandbox (a grading), so the claim reserves no place on the host.
 */
export function onRepositoryHost<T>(
  repository: RepoImageInput,
  heartbeatTimeoutSeconds: number,
  work: (host: SandboxHostWithImage, moved: number) => Promise<T>,
): Promise<T> {
  const builds = proxyActivities<Pick<SandboxActivities, 'claimHostForRepository'>>({
    taskQueue: TaskQueues.sandbox,
    startToCloseTimeout: '1h',
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    scheduleToCloseTimeout: '2h',
    retry: {
      initialInterval: '1s',
      maximumInterval: '15s',
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
  return movingBetweenHosts(() => builds.claimHostForRepository(repository, { reserve: false }), work);
}

/** As onLiveHost, for work that reads files and makes no container: hosts at their cap answer too. */
export function onFilesHost<T>(work: (host: SandboxHost, moved: number) => Promise<T>): Promise<T> {
  return movingBetweenHosts(() => claims.claimSandboxHost({ container: false }), work);
}

async function movingBetweenHosts<H, T>(
  claim: () => Promise<H>,
  work: (host: H, moved: number) => Promise<T>,
  onClaiming: () => void = () => undefined,
): Promise<T> {
  for (let moved = 0; ; moved += 1) {
    onClaiming();
    const host = await claim();
    try {
      return await work(host, moved);
    } catch (error) {
      if (!hostLost(error) || moved >= MAX_HOST_MOVES) throw error;
    }
  }
}
