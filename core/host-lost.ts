import { ActivityFailure, ApplicationFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { ErrorTypes } from './errors';

/**
 * Seconds a task may wait on a sandbox host's own queue before the host counts as lost (its
 * worker is gone). A live host holds no more containers than it has task slots
 * (core/host-capacity.ts), so its tasks do not wait that long.
 */
export const HOST_START_TIMEOUT_SECONDS = 60;

/**
 * The host, not the work, failed an activity: its engine does not answer (DockerUnreachable), or
 * no worker took the task from the host's queue in time (a schedule-to-start timeout).
 */
export function hostLost(error: unknown): boolean {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type === ErrorTypes.DockerUnreachable) return true;
  return cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}
