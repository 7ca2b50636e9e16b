import { ApplicationFailure, proxyActivities, upsertMemo } from '@temporalio/workflow';
import type { z } from 'zod';
import type { EvalFileActivities, GradeActivities, InstanceHead } from '../activities/eval/activities';
import type { EvalOutputs, EvalReportActivities } from '../activities/eval/report';
import type { SandboxActivities } from '../activities/sandbox/activities';
import { recipeInput } from '../core/environment-recipe';
import { optionsThatNoticeLoss } from './host-moves';
import type { imageBuilds } from './image-builds';
import type { RepoEnvironment } from '../core/eval/eval-input';
import { describeIssues } from '../core/environment-input';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { TaskQueues } from '../core/queues';

/** What the evaluation workflows share: input checking, the sandbox-host claim, activity proxies, the image cache. */
export const evalRetry = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * Workflow patch (docs/operations.md): since it an evaluation or a grading is pinned to no host;
 * its instance files, each solve's rollout and each grading claim hosts and move off a lost one
 * (workflows/host-moves.ts).
 */
export const EVAL_MOVES_HOSTS = 'eval-moves-hosts';

export function parseOrFail<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `invalid ${what}: ${describeIssues(parsed.error)}`,
      nonRetryable: true,
    });
  return parsed.data;
}

const shared = proxyActivities<Pick<SandboxActivities, 'claimSandboxHost'>>({
  taskQueue: TaskQueues.sandbox,
  startToCloseTimeout: '30s',
  retry: evalRetry,
});

/** The longest test run any environment allows: the host activities' timeouts are sized for it. */
export function longestTestTimeout(environments: Record<string, RepoEnvironment>): number {
  return Math.max(...Object.values(environments).map((e) => e.testTimeoutSeconds));
}

export async function claimHostQueue(): Promise<string> {
  return (await shared.claimSandboxHost()).taskQueue;
}

/**
 * The host-queue activities the evaluation workflows use, with timeouts fit for test runs. Given
 * `hostStartTimeoutSeconds`, a lost host shows as a failure its caller moves on (host-moves.ts).
 */
export function hostActivities(
  hostQueue: string,
  testTimeoutSeconds: number,
  heartbeatTimeoutSeconds: number,
  hostStartTimeoutSeconds?: number,
) {
  const options = {
    taskQueue: hostQueue,
    startToCloseTimeout: `${testTimeoutSeconds + 900}s`,
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    retry: evalRetry,
  };
  return proxyActivities<EvalFileActivities & GradeActivities>(
    hostStartTimeoutSeconds === undefined ? options : optionsThatNoticeLoss(options, hostStartTimeoutSeconds),
  );
}

/** Reads of an evaluation's stored instances, on the llm workers (they hold the store, as every worker does). */
export const storedInstances = proxyActivities<Pick<EvalFileActivities, 'instanceProblem' | 'instanceHeads'>>(
  {
    taskQueue: TaskQueues.llm,
    startToCloseTimeout: '5m',
    retry: evalRetry,
  },
);

export const reportActivities = proxyActivities<EvalReportActivities>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '10m',
  retry: evalRetry,
});

/** Links an evaluation's outputs from its memo, so the Temporal UI shows where its report and plots are. */
export function memoizeOutputs(outputs: EvalOutputs): void {
  upsertMemo({
    report: outputs.report.id,
    log: outputs.log.id,
    predictions: outputs.predictions,
    charts: outputs.charts,
    headline: outputs.headline,
  });
}

/** Builds each (repo, base commit) image once; later calls wait for the first. */
export function imageCache(
  host: ReturnType<typeof imageBuilds>,
  environments: Record<string, RepoEnvironment>,
): (head: InstanceHead) => Promise<string> {
  const images = new Map<string, Promise<string>>();
  return (head) => {
    const key = `${head.repo}@${head.baseCommit}`;
    let image = images.get(key);
    if (!image) {
      const environment = environments[head.repo];
      image = host
        .prepareRepoImage({
          repository: environment?.path ?? '',
          commit: head.baseCommit,
          ...recipeInput(environment),
        })
        .then((i) => i.image);
      images.set(key, image);
    }
    return image;
  };
}
