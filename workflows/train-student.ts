import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type {
  TrainActivities,
  TrainStopped,
  TrainStudentInput,
  TrainStudentResult,
} from '../activities/train/train-student';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';
import { gpuQueue } from '../core/gpu-queues';
import { noWorkerFailure, waitedOutForWorker } from '../core/no-worker';
import { resolveTrainConfig, TrainConfigError } from '../core/train/train-config';

export interface TrainStudentStatus {
  stage: 'training' | 'trained' | 'stopped';
  /** The size-class queue the trainer waits on until a worker with enough GPUs takes it. */
  queue: string;
  gpus: number;
  /** The last checkpoint a cancelled training left. */
  stoppedAt?: TrainStopped;
}

/** The step-by-step progress is the activity's heartbeat (pending activity in the UI, `sera-flow train`). */
export const trainStatusQuery = defineQuery<TrainStudentStatus>('progress');

/**
 * SFT of the student on an exported dataset, on the gpu-train queue. Started by svgRun after its
 * dataset stage, or on its own (`sera-flow train`, `temporal workflow start --type trainStudentModel`).
 * The config is checked here, before any worker is asked; a lost trainer resumes from its last
 * checkpoint; cancelling leaves that checkpoint in the memo.
 */
export async function trainStudentModel(input: TrainStudentInput): Promise<TrainStudentResult> {
  let config;
  try {
    config = resolveTrainConfig(input.config);
  } catch (error) {
    if (error instanceof TrainConfigError)
      throw ApplicationFailure.create({ type: 'InvalidInput', message: error.message, nonRetryable: true });
    throw error;
  }
  const queue = gpuQueue(TaskQueues.gpuTrain, config.gpus);
  const status: TrainStudentStatus = { stage: 'training', queue, gpus: config.gpus };
  setHandler(trainStatusQuery, () => status);
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.stage, value: 'training' },
  ]);

  const trainer = proxyActivities<TrainActivities>({
    taskQueue: queue,
    // No worker with enough GPUs: a clear failure naming the queue, not an endless wait.
    scheduleToStartTimeout: `${config.workerWaitSeconds}s`,
    startToCloseTimeout: '30d',
    // A preempted or crashed trainer goes silent; the retry resumes from its last checkpoint.
    heartbeatTimeout: `${config.heartbeatTimeoutSeconds}s`,
    // Cancelling waits for the trainer's final checkpoint.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '10s',
      backoffCoefficient: 2,
      maximumInterval: '10m',
      maximumAttempts: config.maxAttempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });

  try {
    const result = await trainer.trainStudent(input);
    status.stage = 'trained';
    upsertMemo({
      training: `${result.steps} steps, ${result.samples} samples, loss ${result.firstLoss.toFixed(3)} → ${result.lastLoss.toFixed(3)}, ${Math.round(result.wallSeconds)} s, about $${result.costUsd.toFixed(2)}`,
      modelArtifact: result.model,
      trainingReport: result.report.id,
      trainingCharts: result.charts,
      ...(result.directory ? { modelDirectory: result.directory } : {}),
    });
    upsertSearchAttributes([{ key: SearchAttributes.stage, value: 'trained' }]);
    return result;
  } catch (error) {
    if (waitedOutForWorker(error))
      throw noWorkerFailure('gpu-train', config.gpus, queue, config.workerWaitSeconds);
    if (!isCancellation(error)) throw error;
    const cause = error instanceof ActivityFailure ? error.cause : error;
    const details =
      cause instanceof CancelledFailure ? (cause.details[0] as TrainStopped | undefined) : undefined;
    status.stage = 'stopped';
    status.stoppedAt = details;
    await CancellationScope.nonCancellable(async () => {
      upsertMemo({
        stoppedAtCheckpoint: details?.checkpoint?.manifest ?? 'none',
        stoppedAtStep: details?.step ?? 0,
      });
      upsertSearchAttributes([{ key: SearchAttributes.stage, value: 'training-stopped' }]);
    });
    throw error;
  }
}
