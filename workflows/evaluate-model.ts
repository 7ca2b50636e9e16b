import {
  ActivityCancellationType,
  ActivityFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SvgActivities } from '../activities/llm/svg-activities';
import type { ServeActivities } from '../activities/serve/serve-model';
import { ModelSettingsSchema, type ModelSettings } from '../core/agent/rollout-input';
import {
  EvaluateModelInputSchema,
  type EvaluateModelInput,
  type EvaluateModelRequest,
  type RepoEnvironment,
} from '../core/eval/eval-input';
import { gradeWithoutTests } from '../core/eval/grading';
import { evalTaskSummary } from '../core/activity-summary';
import { mapBounded } from '../core/map-bounded';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';
import { MODEL_SERVER_READY_SIGNAL, type ServerReady } from '../core/serve/engine-command';
import type { EvalOutputs } from '../activities/eval/report';
import {
  claimHostQueue,
  hostActivities,
  imageCache,
  memoizeOutputs,
  parseOrFail,
  reportActivities,
} from './eval-common';
import { imageBuilds } from './image-builds';
import { solveInstance, solveKey, type SolveInstanceResult } from './solve-instance';

export interface EvaluateModelResult extends EvalOutputs {
  modelName: string;
  seeds: number[];
  /** Per seed × instance: how the agent ended and how its patch was graded (the log has more). */
  solved: Array<
    Pick<SolveInstanceResult, 'seed' | 'instanceId' | 'exitStatus' | 'turns'> & { status: string }
  >;
  promptTokens: number;
  completionTokens: number;
  /** Restarts of the served model's engine seen by this evaluation (0 for an endpoint). */
  servedBy?: ServerReady;
}

export interface EvaluateProgress {
  stage: 'loading' | 'serving' | 'solving' | 'reporting' | 'done';
  solved: number;
  total: number;
  resolved: number;
  server?: ServerReady;
}

export const evaluateProgressQuery = defineQuery<EvaluateProgress>('progress');
export const modelServerReadySignal = defineSignal<[ServerReady]>(MODEL_SERVER_READY_SIGNAL);

const servingActivities = (heartbeatTimeoutSeconds: number) =>
  proxyActivities<ServeActivities>({
    taskQueue: TaskQueues.gpuServe,
    startToCloseTimeout: '30d',
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    // The evaluation ends only once the engine has stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // A lost server is started again; one that cannot start at all fails after a few tries.
    retry: {
      initialInterval: '5s',
      backoffCoefficient: 2,
      maximumInterval: '1m',
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['InvalidInput'],
    },
  });

const modelCheck = proxyActivities<Pick<SvgActivities, 'checkTeacher'>>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidInput'] },
});

/** A solving child that fails (after its own retries) is one instance's error, not a failed evaluation. */
async function solveOrRecord(
  seed: number,
  instanceId: string,
  solve: () => Promise<SolveInstanceResult>,
): Promise<SolveInstanceResult> {
  try {
    return await solve();
  } catch (error) {
    if (!(error instanceof ChildWorkflowFailure) || isCancellation(error)) throw error;
    const reason = `solving failed: ${error.cause?.message ?? error.message}`;
    return {
      seed,
      instanceId,
      exitStatus: 'failed',
      detail: reason,
      turns: 0,
      promptTokens: 0,
      completionTokens: 0,
      grade: gradeWithoutTests(instanceId, 'error', reason),
    };
  }
}

/**
 * Evaluates a model over several seeds: per seed × instance a child workflow solves the instance
 * with the agent loop and grades its patch; then predictions files (one per seed), the
 * per-instance log and the report with mean, spread and SNR. A checkpoint is served on the
 * gpu-serve queue for the evaluation's length; an endpoint is used as it is.
 */
export async function evaluateModel(request: EvaluateModelRequest): Promise<EvaluateModelResult> {
  const input: EvaluateModelInput = parseOrFail(EvaluateModelInputSchema, request, 'evaluation input');
  const progress: EvaluateProgress = { stage: 'loading', solved: 0, total: 0, resolved: 0 };
  setHandler(evaluateProgressQuery, () => progress);
  setHandler(modelServerReadySignal, (ready) => {
    if (!progress.server || ready.generation >= progress.server.generation) progress.server = ready;
  });
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.stage, value: 'evaluating' },
  ]);
  const maxTestTimeout = Math.max(...Object.values(input.environments).map((e) => e.testTimeoutSeconds));
  const hostQueue = await claimHostQueue();
  const host = hostActivities(hostQueue, maxTestTimeout, input.heartbeatTimeoutSeconds);
  const loaded = await host.loadInstances({
    source: input.instances,
    environments: Object.keys(input.environments),
    instanceIds: input.instanceIds,
  });

  const serveScope = new CancellationScope();
  let serveFailure: unknown;
  let served: Promise<void> = Promise.resolve();
  let model: ModelSettings;
  if ('endpoint' in input.model) {
    model = input.model.endpoint;
    // A wrong URL or model name stops the evaluation here, not once per seed and instance.
    await modelCheck.checkTeacher({ model, role: 'evaluated model' });
  } else {
    const serve = input.model.serve;
    progress.stage = 'serving';
    const serving = servingActivities(serve.heartbeatTimeoutSeconds);
    served = serveScope
      .run(() =>
        serving.serveModel({
          workflowId: workflowInfo().workflowId,
          checkpoint: serve.checkpoint,
          servedName: serve.servedName,
          maxModelLen: serve.maxModelLen,
          seed: input.seeds[0] ?? 0,
          extraArgs: serve.extraArgs,
          startupTimeoutSeconds: serve.startupTimeoutSeconds,
        }),
      )
      .catch((error: unknown) => {
        if (!isCancellation(error)) serveFailure = error;
      });
    await condition(() => progress.server !== undefined || serveFailure !== undefined);
    if (serveFailure)
      throw serveFailure instanceof ActivityFailure && serveFailure.cause ? serveFailure.cause : serveFailure;
    const ready = progress.server as ServerReady;
    model = ModelSettingsSchema.parse({
      ...input.model.settings,
      baseUrl: ready.baseUrl,
      model: ready.model,
    });
  }

  try {
    progress.stage = 'solving';
    const imageOf = imageCache(imageBuilds(hostQueue, input.heartbeatTimeoutSeconds), input.environments);
    const jobs = input.seeds.flatMap((seed) => loaded.heads.map((head) => ({ seed, head })));
    progress.total = jobs.length;
    const results = await mapBounded(jobs, input.concurrency, async ({ seed, head }) => {
      const image = await imageOf(head);
      const result = await solveOrRecord(seed, head.instanceId, () =>
        executeChild(solveInstance, {
          workflowId: `${workflowInfo().workflowId}-${solveKey(seed, head.instanceId)}`,
          staticSummary: evalTaskSummary(seed, head.instanceId),
          // A failed or cancelled evaluation cancels its children, so they remove their containers.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          args: [
            {
              runId: input.runId,
              seed,
              head,
              instances: loaded.instances,
              hostQueue,
              image,
              environment: input.environments[head.repo] as RepoEnvironment,
              model,
              solve: input.solve,
              limits: input.limits,
              heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
            },
          ],
        }),
      );
      progress.solved += 1;
      if (result.grade.resolved) progress.resolved += 1;
      return result;
    });

    progress.stage = 'reporting';
    const outputs = await reportActivities.writeEvalReport({
      runId: input.runId,
      modelName: input.modelName,
      instanceIds: loaded.heads.map((h) => h.instanceId),
      passKind: 'seeds',
      passes: input.seeds.map((seed) => ({
        name: `seed-${seed}`,
        seed,
        results: results
          .filter((r) => r.seed === seed)
          .map((r) => ({
            ...r.grade,
            agent: {
              exitStatus: r.exitStatus,
              detail: r.detail,
              turns: r.turns,
              trajectory: r.trajectory?.id,
            },
          })),
      })),
    });
    progress.stage = 'done';
    memoizeOutputs(outputs);
    return {
      ...outputs,
      modelName: input.modelName,
      seeds: input.seeds,
      solved: results.map((r) => ({
        seed: r.seed,
        instanceId: r.instanceId,
        exitStatus: r.exitStatus,
        turns: r.turns,
        status: r.grade.status,
      })),
      promptTokens: results.reduce((s, r) => s + r.promptTokens, 0),
      completionTokens: results.reduce((s, r) => s + r.completionTokens, 0),
      servedBy: progress.server,
    };
  } finally {
    // The server stops with the evaluation, whatever ended it.
    serveScope.cancel();
    await CancellationScope.nonCancellable(() => served);
  }
}
