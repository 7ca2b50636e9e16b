import { proxyActivities } from '@temporalio/workflow';
import type { SandboxActivities } from '../activities/sandbox/activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';

/**
 * prepareRepoImage on a sandbox host, with limits fit for an image build rather than a test run:
 * a recipe's setup may install for many minutes (heartbeats show it is alive), and a build that
 * keeps failing stops after a few tries instead of installing again and again.
 */
export function imageBuilds(hostQueue: string, heartbeatTimeoutSeconds: number) {
  return proxyActivities<Pick<SandboxActivities, 'prepareRepoImage'>>({
    taskQueue: hostQueue,
    startToCloseTimeout: '1h',
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    retry: {
      initialInterval: '5s',
      maximumAttempts: 4,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
}
