import { ActivityFailure, ApplicationFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';

/** Whether an activity failed because no worker took it from its queue in time. */
export function waitedOutForWorker(error: unknown): boolean {
  return (
    error instanceof ActivityFailure &&
    error.cause instanceof TimeoutFailure &&
    error.cause.timeoutType === TimeoutType.SCHEDULE_TO_START
  );
}

/** The failure a GPU job ends with when no worker big enough took it: names the queue and the fix. */
export function noWorkerFailure(
  role: 'gpu-train' | 'gpu-serve',
  gpus: number,
  queue: string,
  seconds: number,
) {
  const job = role === 'gpu-train' ? 'the training' : 'the engine';
  return ApplicationFailure.create({
    type: 'NoWorker',
    message: `no ${role} worker with at least ${gpus} GPU(s) took ${job} from task queue ${queue} within ${seconds} s (workerWaitSeconds): start one on a host with enough GPUs (SERA_GPUS)`,
    nonRetryable: true,
  });
}
