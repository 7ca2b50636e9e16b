import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
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
import { gpuQueue } from '../core/gpu-queues';
import { noWorkerFailure, waitedOutForWorker } from '../core/no-worker';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';
import { MODEL_SERVER_READY_SIGNAL, type ServerReady } from '../core/serve/engine-command';
import type { InstanceHead } from '../activities/eval/activities';
import type { EvalOutputs, StoredGrade } from '../activities/eval/report';
import type { ArtifactRef } from '../core/artifacts';
import { ErrorTypes } from '../core/errors';
import {
  EVAL_MOVES_HOSTS,
  longestTestTimeout,
  claimHostQueue,
  hostActivities,
  imageCache,
  memoizeOutputs,
  parseOrFail,
  reportActivities,
  storedInstances,
} from './eval-common';
import { GradeChunker, HEADS_PER_PAGE, jobAt, SOLVES_PER_RUN, storedGrade } from './eval-segments';
import { onFilesHost } from './host-moves';
import { imageBuilds } from './image-builds';
import { solveInstance, solveKey, type SolveInstanceResult } from './solve-instance';

export interface EvaluateModelResult extends EvalOutputs {
  modelName: string;
  seeds: number[];
  /**
   * How many solving runs ended how (by the agent's exit status); the log has each run's exit
   * status, turns and grade. Absent in evaluations started before grades were stored in chunks.
   */
  agentExits?: Record<string, number>;
  /**
   * Per seed × instance: how the agent ended and how its patch was graded. Only in evaluations
   * started before grades were stored in chunks (its size grows with the evaluation).
   */
  solved?: Array<
    Pick<SolveInstanceResult, 'seed' | 'instanceId' | 'exitStatus' | 'turns'> & { status: string }
  >;
  promptTokens: number;
  completionTokens: number;
  /** Restarts of the served model's engine seen by this evaluation's last workflow run (0 for an endpoint). */
  servedBy?: ServerReady;
  /** Workflow runs the evaluation took (continue-as-new); absent before grades were stored in chunks. */
  runs?: number;
}

/** Since this patch grades travel as artifact references and the evaluation continues as new. */
export const GRADES_BY_REFERENCE = 'eval-grades-by-reference';

/** What one workflow run of an evaluation hands the next: counts and references, never grades. */
export interface EvaluateModelState {
  /** The host that stored the instances; before EVAL_MOVES_HOSTS, the host of every step. */
  hostQueue: string;
  instances: ArtifactRef;
  instanceCount: number;
  /** Solving runs finished, in job order (eval-segments.ts `jobAt`): the next run starts here. */
  done: number;
  resolved: number;
  promptTokens: number;
  completionTokens: number;
  agentExits: Record<string, number>;
  /** The grade chunks stored so far (JSONL artifacts of StoredGrade), by id. */
  gradeChunks: string[];
  /** This workflow run's number, the first being 1. */
  run: number;
}

/** The second argument of `evaluateModel`: how it splits into workflow runs, and where it stands. */
export interface EvaluateModelContinuation {
  /** Solving runs one workflow run starts at most (default SOLVES_PER_RUN); tests force continuations with a small one. */
  solvesPerRun?: number;
  /** Where the previous workflow run stopped; absent in the first. */
  state?: EvaluateModelState;
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

const servingActivities = (heartbeatTimeoutSeconds: number, queue: string, workerWaitSeconds: number) =>
  proxyActivities<ServeActivities>({
    taskQueue: queue,
    // No worker with enough GPUs: a clear failure naming the queue, not an endless wait.
    scheduleToStartTimeout: `${workerWaitSeconds}s`,
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

/** The evaluated model: an endpoint (checked once), or a checkpoint served until `stop`. */
async function startModel(
  input: EvaluateModelInput,
  progress: EvaluateProgress,
  checkEndpoint: boolean,
): Promise<{ model: ModelSettings; stop: () => Promise<void> }> {
  const serveScope = new CancellationScope();
  let serveFailure: unknown;
  let served: Promise<void> = Promise.resolve();
  let model: ModelSettings;
  if ('endpoint' in input.model) {
    model = input.model.endpoint;
    // A wrong URL or model name stops the evaluation here, not once per seed and instance.
    if (checkEndpoint) await modelCheck.checkTeacher({ model, role: 'evaluated model' });
  } else {
    const serve = input.model.serve;
    progress.stage = 'serving';
    const queue = gpuQueue(TaskQueues.gpuServe, serve.gpus);
    const serving = servingActivities(serve.heartbeatTimeoutSeconds, queue, serve.workerWaitSeconds);
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
          gpus: serve.gpus,
        }),
      )
      .catch((error: unknown) => {
        if (isCancellation(error)) return;
        serveFailure = waitedOutForWorker(error)
          ? noWorkerFailure('gpu-serve', serve.gpus, queue, serve.workerWaitSeconds)
          : error;
      });
    await condition(() => progress.server !== undefined || serveFailure !== undefined);
    if (serveFailure)
      throw serveFailure instanceof ActivityFailure && serveFailure.cause ? serveFailure.cause : serveFailure;
    const ready = progress.server as ServerReady;
    model = ModelSettingsSchema.parse({
      ...input.model.settings,
      baseUrl: ready.baseUrl,
      model: ready.model,
      // Solves ask this workflow for the engine's URL before each request: it may move hosts.
      servedBy: workflowInfo().workflowId,
    });
  }
  return {
    model,
    // The server stops with the evaluation (or its workflow run), whatever ended it.
    stop: async () => {
      serveScope.cancel();
      await CancellationScope.nonCancellable(() => served);
    },
  };
}

/**
 * One solving run as a child workflow: on the evaluation's host with the image of its base commit,
 * or (no `placed`) on hosts it claims itself.
 */
function solveAsChild(
  input: EvaluateModelInput,
  instances: ArtifactRef,
  model: ModelSettings,
  seed: number,
  head: InstanceHead,
  placed?: { hostQueue: string; image: string },
): Promise<SolveInstanceResult> {
  return solveOrRecord(seed, head.instanceId, () =>
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
          instances,
          ...(placed ?? { hostStartTimeoutSeconds: input.hostStartTimeoutSeconds }),
          environment: input.environments[head.repo] as RepoEnvironment,
          model,
          solve: input.solve,
          limits: input.limits,
          heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
        },
      ],
    }),
  );
}

/**
 * Evaluates a model over several seeds: per seed × instance a child workflow solves the instance
 * with the agent loop and grades its patch; then predictions files (one per seed), the
 * per-instance log and the report with mean, spread and SNR. A checkpoint is served on the
 * gpu-serve queue for the evaluation's length; an endpoint is used as it is.
 *
 * Grades leave the workflow in chunks (artifacts) and the workflow continues as new every
 * SOLVES_PER_RUN solving runs, or sooner when the server suggests it, so no payload or history
 * grows with the evaluation (docs/evaluation.md, "Evaluations of any size").
 */
export async function evaluateModel(
  request: EvaluateModelRequest,
  continuation: EvaluateModelContinuation = {},
): Promise<EvaluateModelResult> {
  const input: EvaluateModelInput = parseOrFail(EvaluateModelInputSchema, request, 'evaluation input');
  const progress: EvaluateProgress = { stage: 'loading', solved: 0, total: 0, resolved: 0 };
  setHandler(evaluateProgressQuery, () => progress);
  setHandler(modelServerReadySignal, (ready) => {
    if (!progress.server || ready.generation >= progress.server.generation) progress.server = ready;
  });
  // Histories from before the patch hold every grade in the workflow and end in one report payload.
  if (!continuation.state && !patched(GRADES_BY_REFERENCE)) return evaluateAtOnce(input, progress);
  const moves = patched(EVAL_MOVES_HOSTS);

  const seeds = input.seeds;
  const heartbeat = input.heartbeatTimeoutSeconds;
  const maxTestTimeout = longestTestTimeout(input.environments);
  let state = continuation.state;
  if (!state) {
    upsertSearchAttributes([
      { key: SearchAttributes.runId, value: input.runId },
      { key: SearchAttributes.stage, value: 'evaluating' },
    ]);
    const request = {
      source: input.instances,
      environments: Object.keys(input.environments),
      instanceIds: input.instanceIds,
    };
    const { hostQueue, stored } = moves
      ? await onFilesHost(async (host) => ({
          hostQueue: host.taskQueue,
          stored: await hostActivities(
            host.taskQueue,
            maxTestTimeout,
            heartbeat,
            input.hostStartTimeoutSeconds,
          ).storeInstances(request),
        }))
      : await (async () => {
          // Later workflow runs keep this host: it holds the images already built.
          const queue = await claimHostQueue();
          return {
            hostQueue: queue,
            stored: await hostActivities(queue, maxTestTimeout, heartbeat).storeInstances(request),
          };
        })();
    state = {
      hostQueue,
      instances: stored.instances,
      instanceCount: stored.count,
      done: 0,
      resolved: 0,
      promptTokens: 0,
      completionTokens: 0,
      agentExits: {},
      gradeChunks: [],
      run: 1,
    };
  }
  const total = state.instanceCount * seeds.length;
  Object.assign(progress, { total, solved: state.done, resolved: state.resolved });

  // Each workflow run serves the model afresh: the engine activity belongs to one run.
  const model = await startModel(input, progress, state.run === 1);
  let outputs: EvalOutputs | undefined;
  try {
    progress.stage = 'solving';
    await solveSegment(
      input,
      state,
      model.model,
      continuation.solvesPerRun ?? SOLVES_PER_RUN,
      progress,
      moves,
    );
    if (state.done >= total) {
      progress.stage = 'reporting';
      outputs = await reportActivities.writeEvalReportFromChunks({
        runId: input.runId,
        modelName: input.modelName,
        instances: state.instances,
        seeds,
        gradeChunks: state.gradeChunks,
      });
    }
  } finally {
    await model.stop();
  }
  if (!outputs)
    return continueAsNew<typeof evaluateModel>(request, {
      ...continuation,
      state: { ...state, run: state.run + 1 },
    });
  progress.stage = 'done';
  memoizeOutputs(outputs);
  return {
    ...outputs,
    modelName: input.modelName,
    seeds,
    agentExits: state.agentExits,
    promptTokens: state.promptTokens,
    completionTokens: state.completionTokens,
    servedBy: progress.server,
    runs: state.run,
  };
}

/**
 * Solves from `state.done` on, `concurrency` at a time, until every run is done, `solvesPerRun`
 * have started here or the server suggests continuing as new; then waits for the runs started
 * and their grade chunks. `state` is updated in place.
 */
async function solveSegment(
  input: EvaluateModelInput,
  state: EvaluateModelState,
  model: ModelSettings,
  solvesPerRun: number,
  progress: EvaluateProgress,
  moves: boolean,
): Promise<void> {
  const seeds = input.seeds;
  const total = state.instanceCount * seeds.length;
  const maxTestTimeout = longestTestTimeout(input.environments);
  const heartbeat = input.heartbeatTimeoutSeconds;
  // Pinned (before EVAL_MOVES_HOSTS): the evaluation's host lists the instances and builds the images;
  // since, the llm workers read the stored instances and each solve places itself.
  const host = hostActivities(state.hostQueue, maxTestTimeout, heartbeat);
  const imageOf = imageCache(imageBuilds(state.hostQueue, heartbeat), input.environments);
  const listHeads = (page: number): Promise<InstanceHead[]> => {
    const request = { instances: state.instances, offset: page * HEADS_PER_PAGE, limit: HEADS_PER_PAGE };
    return moves ? storedInstances.instanceHeads(request) : host.instanceHeads(request);
  };
  const pages = new Map<number, Promise<InstanceHead[]>>();
  const headAt = async (index: number): Promise<InstanceHead> => {
    const page = Math.floor(index / HEADS_PER_PAGE);
    let heads = pages.get(page);
    if (!heads) {
      heads = listHeads(page);
      pages.set(page, heads);
    }
    const head = (await heads)[index - page * HEADS_PER_PAGE];
    if (!head)
      throw ApplicationFailure.create({
        type: ErrorTypes.InvalidInput,
        message: `instance ${index} is missing from the stored instances ${state.instances.id}`,
        nonRetryable: true,
      });
    return head;
  };
  const chunker = new GradeChunker();
  const writes: Array<Promise<void>> = [];
  const store = (grades: StoredGrade[] | undefined): void => {
    if (grades)
      writes.push(
        reportActivities.storeGradeChunk({ grades }).then((ref) => {
          state.gradeChunks.push(ref.id);
        }),
      );
  };
  let next = state.done;
  let started = 0;
  const lane = async (): Promise<void> => {
    while (next < total && started < solvesPerRun && !workflowInfo().continueAsNewSuggested) {
      const job = jobAt(next, seeds);
      next += 1;
      started += 1;
      const head = await headAt(job.instance);
      const placed = moves ? undefined : { hostQueue: state.hostQueue, image: await imageOf(head) };
      const result = await solveAsChild(input, state.instances, model, job.seed, head, placed);
      progress.solved += 1;
      if (result.grade.resolved) {
        progress.resolved += 1;
        state.resolved += 1;
      }
      state.promptTokens += result.promptTokens;
      state.completionTokens += result.completionTokens;
      state.agentExits[result.exitStatus] = (state.agentExits[result.exitStatus] ?? 0) + 1;
      store(chunker.add(storedGrade(job.instance, result)));
    }
  };
  await Promise.all(Array.from({ length: input.concurrency }, lane));
  store(chunker.drain());
  await Promise.all(writes);
  // Every run started here has finished (the lanes are done), so the next workflow run starts at `next`.
  state.done = next;
}

/** The evaluation as it ran before GRADES_BY_REFERENCE: every grade held here, one report payload. */
async function evaluateAtOnce(
  input: EvaluateModelInput,
  progress: EvaluateProgress,
): Promise<EvaluateModelResult> {
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.stage, value: 'evaluating' },
  ]);
  const maxTestTimeout = longestTestTimeout(input.environments);
  const hostQueue = await claimHostQueue();
  const host = hostActivities(hostQueue, maxTestTimeout, input.heartbeatTimeoutSeconds);
  const loaded = await host.loadInstances({
    source: input.instances,
    environments: Object.keys(input.environments),
    instanceIds: input.instanceIds,
  });
  const model = await startModel(input, progress, true);
  try {
    progress.stage = 'solving';
    const imageOf = imageCache(imageBuilds(hostQueue, input.heartbeatTimeoutSeconds), input.environments);
    const jobs = input.seeds.flatMap((seed) => loaded.heads.map((head) => ({ seed, head })));
    progress.total = jobs.length;
    const results = await mapBounded(jobs, input.concurrency, async ({ seed, head }) => {
      const image = await imageOf(head);
      const result = await solveAsChild(input, loaded.instances, model.model, seed, head, {
        hostQueue,
        image,
      });
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
    await model.stop();
  }
}
