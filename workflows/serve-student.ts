import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ServeActivities } from '../activities/serve/serve-model';
import { gpuQueue } from '../core/gpu-queues';
import { noWorkerFailure, waitedOutForWorker } from '../core/no-worker';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';
import { MODEL_SERVER_READY_SIGNAL, type ServerReady } from '../core/serve/engine-command';
import {
  ServeStudentInputSchema,
  type ServeStudentInput,
  type ServeStudentRequest,
} from '../core/serve/serve-request';
import { parseOrFail } from './eval-common';

/** What `serve status` and the UI's query show. */
export interface ServeStatus {
  runId: string;
  phase: 'starting' | 'serving' | 'stopping' | 'stopped';
  /** The engine and proxy of the latest (re)start. */
  server?: ServerReady;
  /** Engine (re)starts seen, the first included. */
  starts: number;
  startedAt: string;
}

export interface ServeStudentResult {
  runId: string;
  proxyUrl?: string;
  starts: number;
  servedSeconds: number;
}

export const serveStatusQuery = defineQuery<ServeStatus>('status');
export const stopServingSignal = defineSignal('stop');
const serverReadySignal = defineSignal<[ServerReady]>(MODEL_SERVER_READY_SIGNAL);

const serving = (heartbeatTimeoutSeconds: number, queue: string, workerWaitSeconds: number) =>
  proxyActivities<ServeActivities>({
    taskQueue: queue,
    // No worker with enough GPUs: a clear failure naming the queue, not an endless wait.
    scheduleToStartTimeout: `${workerWaitSeconds}s`,
    startToCloseTimeout: '3650d',
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    // Stopping ends only once the engine and the proxy are down.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // A lost worker's engine starts again on another; one that cannot start at all fails in the end.
    retry: {
      initialInterval: '5s',
      backoffCoefficient: 2,
      maximumInterval: '2m',
      maximumAttempts: 10,
      nonRetryableErrorTypes: ['InvalidInput'],
    },
  });

/**
 * Serves a trained student for use until it is stopped (the `stop` signal, or a cancel): vLLM on
 * a gpu-serve worker with a token-guarded proxy in front that speaks OpenAI's and Anthropic's
 * APIs in the hermes format the student learned. A lost worker's engine and proxy start again on
 * another; the status query always names where the proxy answers now.
 */
export async function serveStudent(request: ServeStudentRequest): Promise<ServeStudentResult> {
  const input: ServeStudentInput = parseOrFail(ServeStudentInputSchema, request, 'serve input');
  const started = Date.now();
  const status: ServeStatus = {
    runId: input.runId,
    phase: 'starting',
    starts: 0,
    startedAt: new Date(started).toISOString(),
  };
  let stopRequested = false;
  setHandler(serveStatusQuery, () => status);
  setHandler(stopServingSignal, () => {
    stopRequested = true;
  });
  setHandler(serverReadySignal, (ready) => {
    if (status.server && ready.generation < status.server.generation) return;
    status.server = ready;
    status.starts += 1;
    if (status.phase === 'starting') status.phase = 'serving';
  });
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.stage, value: 'serving' },
  ]);

  const queue = gpuQueue(TaskQueues.gpuServe, input.gpus);
  const scope = new CancellationScope();
  let failure: unknown;
  let ended = false;
  const served = scope
    .run(() =>
      serving(input.heartbeatTimeoutSeconds, queue, input.workerWaitSeconds).serveModel({
        workflowId: workflowInfo().workflowId,
        checkpoint: input.checkpoint,
        servedName: input.servedName,
        maxModelLen: input.maxModelLen,
        seed: input.seed,
        extraArgs: input.extraArgs,
        startupTimeoutSeconds: input.startupTimeoutSeconds,
        gpus: input.gpus,
        proxy: {
          bind: input.proxy.bind,
          port: input.proxy.port,
          tokenSha256: input.proxy.tokenSha256,
          engineWaitSeconds: input.proxy.engineWaitSeconds,
        },
      }),
    )
    .catch((error: unknown) => {
      if (isCancellation(error)) return;
      failure = waitedOutForWorker(error)
        ? noWorkerFailure('gpu-serve', input.gpus, queue, input.workerWaitSeconds)
        : error;
    })
    .finally(() => {
      ended = true;
    });

  try {
    await condition(() => stopRequested || ended);
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // A cancel of the workflow has reached the activity through the scope: wait until it is down.
    status.phase = 'stopping';
    await CancellationScope.nonCancellable(() => served);
    status.phase = 'stopped';
    throw error;
  }
  if (failure !== undefined)
    throw failure instanceof ActivityFailure && failure.cause ? failure.cause : failure;
  status.phase = 'stopping';
  scope.cancel();
  await served;
  status.phase = 'stopped';
  return {
    runId: input.runId,
    proxyUrl: status.server?.proxyUrl,
    starts: status.starts,
    servedSeconds: Math.round((Date.now() - started) / 1000),
  };
}
