import { proxyActivities } from '@temporalio/workflow';
import type { SandboxActivities } from '../activities/sandbox/activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { optionsThatNoticeLoss } from './host-moves';

/**
 * prepareRepoImage on a sandbox host, with limits fit for an image build rather than a test run:
 * a recipe's setup may install for many minutes (heartbeats show it is alive), and a build that
 * keeps failing stops after a few tries instead of installing again and again. Given
 * `hostStartTimeoutSeconds`, a lost host shows as a failure its caller moves on (host-moves.ts).
 */
export function imageBuilds(
  hostQueue: string,
  heartbeatTimeoutSeconds: number,
  hostStartTimeoutSeconds?: number,
) {
  const options = {
    taskQueue: hostQueue,
    startToCloseTimeout: '1h',
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    retry: {
      initialInterval: '5s',
      maximumAttempts: 4,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  };
  return proxyActivities<Pick<SandboxActivities, 'prepareRepoImage'>>(
    hostStartTimeoutSeconds === undefined ? options : optionsThatNoticeLoss(options, hostStartTimeoutSeconds),
  );
}
