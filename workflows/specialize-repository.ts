import {
  defineQuery,
  executeChild,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BuildDatasetResult } from '../activities/dataset/build-dataset';
import type { LifecycleReportActivities, LifecycleReportOutputs } from '../activities/run/lifecycle-report';
import type { ResumeActivities } from '../activities/run/resume';
import type { TrainStudentResult } from '../activities/train/train-student';
import { SUMMARY_MAX_BYTES, truncateSummary } from '../core/activity-summary';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { stageFailure } from '../core/failure-cause';
import {
  STAGE_MANIFEST_MEMO,
  baseEvaluationKey,
  datasetKey,
  environmentKey,
  generationKey,
  reusableStage,
  studentEvaluationKey,
  trainingKey,
  unfinishedGeneration,
  type LifecycleStage,
  type StageRecord,
} from '../core/lifecycle-stages';
import { TaskQueues } from '../core/queues';
import { imageRecipeInput, type RunConfig, type RunConfigRequest } from '../core/run-config';
import { SearchAttributes } from '../core/search-attributes';
import { buildDataset } from './build-dataset';
import { callWithSummary } from './with-summary';
import { prepareEnvironment, type PrepareEnvironmentResult } from './prepare-environment';
import {
  compareModels,
  evaluateBaseModel,
  evaluateStudentModel,
  type EvaluatedModel,
  type RunEvaluationResult,
} from './run-evaluation';
import { pauseSignal, resumeSignal, runConfigOrFail, svgRun, type SvgRunResult } from './svg-run';
import { cancelFollowsContinue } from './cancel-follows-continue';
import { trainStudentModel } from './train-student';
import { acceptedCountOf } from '../core/accepted-count';

export interface SpecializeProgress {
  stage: LifecycleStage | 'resuming' | 'done';
  /** The child workflow doing the current stage: query it for its own progress. */
  child?: string;
  /** The run whose finished stages this one looked for, and what it took from it. */
  resumedFrom?: string;
  stages: Array<Omit<StageRecord, 'result' | 'key'>>;
}

export interface SpecializeResult {
  runId: string;
  workflowId: string;
  resumedFrom?: string;
  stages: Array<Omit<StageRecord, 'result' | 'key'>>;
  environment?: PrepareEnvironmentResult;
  generation: SvgRunResult;
  dataset?: BuildDatasetResult;
  training?: TrainStudentResult;
  evaluation?: RunEvaluationResult;
  report: LifecycleReportOutputs;
}

export const specializeProgressQuery = defineQuery<SpecializeProgress>('progress');

const retry = {
  initialInterval: '2s',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};
const run = proxyActivities<ResumeActivities & LifecycleReportActivities>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '10m',
  retry,
});

/**
 * The whole specialization of one repository: the environment check, SVG generation, the SFT
 * dataset, training of the student, evaluation of the base model and the student, and a final
 * report; each stage a child workflow whose result is kept in a stage manifest (an artifact the
 * memo names). A run started with `resumeFrom` (or the same workflow id started again) takes every
 * stage an earlier run finished with the same inputs instead of doing it again, and the samples of
 * a generation it left unfinished.
 */
export async function specializeRepository(request: RunConfigRequest): Promise<SpecializeResult> {
  const config = runConfigOrFail(request);
  const me = workflowInfo();
  const stages: StageRecord[] = [];
  const progress: SpecializeProgress = { stage: 'resuming', stages: [] };
  setHandler(specializeProgressQuery, () => ({
    ...progress,
    stages: stages.map(({ result: _r, key: _k, ...rest }) => rest),
  }));
  // Pause and resume reach the generation, the only stage that has them.
  const forward = (signal: typeof pauseSignal | typeof resumeSignal) => async () => {
    if (progress.stage === 'generation' && progress.child)
      await getExternalWorkflowHandle(progress.child).signal(signal);
  };
  setHandler(pauseSignal, forward(pauseSignal));
  setHandler(resumeSignal, forward(resumeSignal));

  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: config.runId },
    { key: SearchAttributes.repository, value: config.repository.path },
    { key: SearchAttributes.stage, value: progress.stage },
  ]);
  upsertMemo({
    config: `${config.samples} samples of ${config.repository.path}@${config.repository.commit}, teacher ${config.teacher.model}, seed ${config.seed}${config.train ? ', then SFT' : ''}${config.evaluate ? ' and evaluation' : ''}`,
  });

  const previous = await run.findPreviousRun({
    workflowId: config.resumeFrom ?? me.workflowId,
    currentRunId: me.runId,
    required: config.resumeFrom !== undefined,
  });
  const earlier = previous?.stages;
  if (previous) {
    progress.resumedFrom = `${previous.workflowId} (run ${previous.runId}, ${previous.status})`;
    upsertMemo({ resumedFrom: progress.resumedFrom });
  }

  const saveManifest = async (): Promise<void> => {
    const summary = stages.map((s) => `${s.stage} ${s.status}`).join(', ');
    // The timeline shows each manifest write as the run's stages so far.
    const step = truncateSummary(`stages: ${summary}`, SUMMARY_MAX_BYTES);
    const id = await callWithSummary(run.writeStageManifest, step, { runId: config.runId, stages });
    upsertMemo({ [STAGE_MANIFEST_MEMO]: id, stages: summary });
  };
  const enter = (stage: LifecycleStage, child?: string): void => {
    progress.stage = stage;
    progress.child = child;
    upsertSearchAttributes([{ key: SearchAttributes.stage, value: stage }]);
  };
  /** Takes the earlier run's result for this stage when its key matches, or does the work and records it. */
  async function stage<T>(
    name: LifecycleStage,
    key: string,
    workflowId: string,
    work: () => Promise<T>,
  ): Promise<T> {
    const reused = reusableStage(earlier, name, key);
    if (reused) {
      stages.push({ ...reused, status: 'reused' });
      await saveManifest();
      return reused.result as T;
    }
    enter(name, workflowId);
    const started = Date.now();
    // A failed stage fails the run naming the stage and its reason; only the thrown failure changes, not the commands.
    const result = await work().catch((error: unknown) => {
      throw stageFailure(name, error);
    });
    const record: StageRecord = {
      stage: name,
      status: 'finished',
      key,
      workflowId,
      seconds: (Date.now() - started) / 1000,
      result,
    };
    const open = stages.findIndex((s) => s.stage === name);
    if (open >= 0) stages[open] = record;
    else stages.push(record);
    await saveManifest();
    return result;
  }

  const check = config.environment?.testCommand ? config.environment : undefined;
  const environment = check
    ? await stage('environment', environmentKey(config), `${me.workflowId}-env`, () =>
        executeChild(prepareEnvironment, {
          workflowId: `${me.workflowId}-env`,
          staticSummary: `environment check of run ${config.runId}`,
          args: [
            {
              runId: config.runId,
              repository: config.repository,
              testCommand: check.testCommand!,
              testTimeoutSeconds: check.testTimeoutSeconds,
              requireTestsPass: check.requireTestsPass,
              testRunner: check.testRunner,
              ...imageRecipeInput(config),
              limits: config.sandboxLimits,
              heartbeatTimeoutSeconds: config.heartbeatTimeoutSeconds,
            },
          ],
        }),
      )
    : undefined;

  const genKey = generationKey(config);
  const svgId = `${me.workflowId}-svg`;
  const generation = await stage('generation', genKey, svgId, async () => {
    // Recorded before it starts, so a run that dies here can be resumed sample by sample.
    stages.push({ stage: 'generation', status: 'started', key: genKey, workflowId: svgId, seconds: 0 });
    await saveManifest();
    const unfinished = unfinishedGeneration(earlier, genKey);
    return cancelFollowsContinue(svgId, () =>
      executeChild(svgRun, {
        workflowId: svgId,
        staticSummary: `SVG generation of run ${config.runId}`,
        args: [generationConfig(config, unfinished?.workflowId)],
      }),
    );
  });

  let dataset: BuildDatasetResult | undefined;
  let training: TrainStudentResult | undefined;
  let evaluation: RunEvaluationResult | undefined;
  if (config.dataset.build) {
    const datasetId = `${me.workflowId}-dataset`;
    const built = await stage('dataset', datasetKey(config, generation.ledger), datasetId, () =>
      executeChild(buildDataset, {
        workflowId: datasetId,
        staticSummary: `SFT dataset of run ${config.runId}`,
        args: [
          {
            runId: config.runId,
            ledger: generation.ledger,
            config: config.dataset,
            runThreshold: config.threshold,
            output: config.output,
          },
        ],
      }),
    );
    dataset = built;
    const train = config.train;
    if (train && built.lines > 0) {
      const trainId = `${me.workflowId}-train`;
      const trained = await stage('training', trainingKey(config, built.dataset.id), trainId, () =>
        executeChild(trainStudentModel, {
          workflowId: trainId,
          staticSummary: `SFT of the student on run ${config.runId}'s dataset`,
          args: [
            {
              runId: config.runId,
              dataset: built.dataset.id,
              config: train,
              output: config.output,
              // A training the earlier run left midway goes on from its last checkpoint when it
              // trained the same thing (the activity checks); otherwise it starts at step 0.
              ...(previous ? { continueFrom: `${previous.workflowId}-train` } : {}),
            },
          ],
        }),
      );
      training = trained;
      if (config.evaluate) evaluation = await evaluate(config, trained.model);
    } else if (train) {
      upsertMemo({ training: 'skipped: the dataset has no lines' });
    }
  }

  async function evaluate(cfg: RunConfig, model: string): Promise<RunEvaluationResult> {
    const evaluation = cfg.evaluate!;
    const base = await stage<EvaluatedModel | undefined>(
      'evaluation-base',
      baseEvaluationKey(cfg),
      `${me.workflowId}-eval-base`,
      () => evaluateBaseModel(cfg.runId, me.workflowId, evaluation),
    );
    const student = await stage(
      'evaluation-student',
      studentEvaluationKey(cfg, model),
      `${me.workflowId}-eval-student`,
      () => evaluateStudentModel(cfg.runId, me.workflowId, evaluation, model),
    );
    if (!base) return { student };
    return { student, base, comparison: await compareModels(base, student) };
  }

  enter('report');
  const started = Date.now();
  const report = await callWithSummary(run.writeLifecycleReport, 'lifecycle report', {
    report: {
      runId: config.runId,
      workflowId: me.workflowId,
      stages: stages.map(({ stage: s, status, seconds, workflowId }) => ({
        stage: s,
        status,
        seconds,
        workflowId,
      })),
      environment: environment && {
        passed: environment.passed,
        tests: environment.summary?.line,
        image: environment.image,
        commit: environment.commit,
      },
      generation: {
        status: generation.status,
        samples: generation.samples,
        finished: generation.finished,
        reused: generation.reused ?? 0,
        accepted: acceptedCountOf(generation),
        rejectedByReason: generation.rejectedByReason,
        tokens: generation.tokens,
        costUsd: generation.costUsd,
      },
      dataset,
      training,
      evaluation: evaluation && {
        base: evaluation.base,
        student: evaluation.student,
      },
    },
    comparison: evaluation?.comparison?.artifact,
    output: config.output,
  });
  stages.push({
    stage: 'report',
    status: 'finished',
    key: report.report.id,
    workflowId: me.workflowId,
    seconds: (Date.now() - started) / 1000,
  });
  await saveManifest();
  upsertMemo({
    report: report.report.id,
    reportMarkdown: report.markdown.id,
    reportCharts: report.charts,
    headline: report.headline.join('\n'),
  });
  progress.stage = 'done';
  upsertSearchAttributes([{ key: SearchAttributes.stage, value: 'done' }]);
  return {
    runId: config.runId,
    workflowId: me.workflowId,
    resumedFrom: previous?.workflowId,
    stages: stages.map(({ result: _r, key: _k, ...rest }) => rest),
    environment,
    generation,
    dataset,
    training,
    evaluation,
    report,
  };
}

/** The generation child's config: the same run, but the dataset, training and evaluation are the parent's stages. */
function generationConfig(config: RunConfig, resumeFrom: string | undefined): RunConfig {
  return {
    ...config,
    environment: undefined,
    train: undefined,
    evaluate: undefined,
    dataset: { ...config.dataset, build: false },
    resumeFrom,
  };
}
