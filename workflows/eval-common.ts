import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { z } from 'zod';
import type { SandboxActivities } from '../activities/sandbox/activities';
import { describeIssues } from '../core/environment-input';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { TaskQueues } from '../core/queues';

/** What the evaluation workflows share: input checking and the sandbox-host claim. */
export const evalRetry = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

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

export async function claimHostQueue(): Promise<string> {
  return (await shared.claimSandboxHost()).taskQueue;
}
