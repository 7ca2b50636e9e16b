import { executeChild, proxyActivities, upsertMemo } from '@temporalio/workflow';
import { cancelFollowsContinue } from './cancel-follows-continue';
import type { EvalReportActivities } from '../activities/eval/report';
import type { EvaluateModelRequest, RunEvaluation } from '../core/eval/eval-input';
import type { SeedSummary } from '../core/eval/stats';
import { TaskQueues } from '../core/queues';
import { evaluateModel } from './evaluate-model';

export interface EvaluatedModel {
  modelName: string;
  headline: string;
  summary: SeedSummary;
  report: string;
  predictions: Record<string, string>;
  workflowId: string;
}

/** What the specialization run says of its evaluation stage. */
export interface RunEvaluationResult {
  student: EvaluatedModel;
  base?: EvaluatedModel;
  /** The paired difference, student minus base, when the base model was evaluated too. */
  comparison?: { headline: string; artifact: string };
}

const reports = proxyActivities<Pick<EvalReportActivities, 'compareEvalReports'>>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '5m',
  retry: { maximumAttempts: 5 },
});

/** The run's name with a suffix, within the run id's 48 characters. */
function evalRunId(runId: string, who: string): string {
  return `${runId.slice(0, 47 - who.length)}-${who}`;
}

function commonRequest(evaluation: RunEvaluation) {
  return {
    instances: evaluation.instances,
    environments: evaluation.environments,
    instanceIds: evaluation.instanceIds,
    concurrency: evaluation.concurrency,
    limits: evaluation.limits,
    heartbeatTimeoutSeconds: evaluation.heartbeatTimeoutSeconds,
    seeds: evaluation.seeds,
    solve: evaluation.solve,
  };
}

async function evaluateAs(
  who: 'base' | 'student',
  runId: string,
  parentWorkflowId: string,
  evaluation: RunEvaluation,
  request: Pick<EvaluateModelRequest, 'modelName' | 'model'>,
): Promise<EvaluatedModel> {
  const workflowId = `${parentWorkflowId}-eval-${who}`;
  const result = await cancelFollowsContinue(workflowId, () =>
    executeChild(evaluateModel, {
      workflowId,
      staticSummary: `evaluation of the ${who} model of run ${runId}`,
      args: [{ ...commonRequest(evaluation), runId: evalRunId(evaluation.runId ?? runId, who), ...request }],
    }),
  );
  return {
    modelName: result.modelName,
    headline: result.headline,
    summary: result.summary,
    report: result.report.id,
    predictions: result.predictions,
    workflowId,
  };
}

/** The base model (an endpoint) on the run's evaluation set; undefined when the config names none. */
export async function evaluateBaseModel(
  runId: string,
  parentWorkflowId: string,
  evaluation: RunEvaluation,
): Promise<EvaluatedModel | undefined> {
  if (!evaluation.base) return undefined;
  const base = await evaluateAs('base', runId, parentWorkflowId, evaluation, {
    modelName: evaluation.base.model,
    model: { endpoint: evaluation.base },
  });
  upsertMemo({ evaluationBase: base.headline });
  return base;
}

/** The trained student, served from its checkpoint on the gpu-serve queue, on the same set and seeds. */
export async function evaluateStudentModel(
  runId: string,
  parentWorkflowId: string,
  evaluation: RunEvaluation,
  studentModel: string,
): Promise<EvaluatedModel> {
  const student = await evaluateAs('student', runId, parentWorkflowId, evaluation, {
    modelName: `${runId}-student`,
    model: {
      serve: { ...evaluation.serve, checkpoint: { artifact: studentModel } },
      settings: evaluation.settings,
    },
  });
  upsertMemo({ evaluationStudent: student.headline, evaluationReport: student.report });
  return student;
}

/** The paired difference, student minus base, on the instances both were graded on. */
export async function compareModels(
  base: EvaluatedModel,
  student: EvaluatedModel,
): Promise<{ headline: string; artifact: string }> {
  const compared = await reports.compareEvalReports({ base: base.report, other: student.report });
  upsertMemo({ comparison: compared.headline, comparisonArtifact: compared.comparison.id });
  return { headline: compared.headline, artifact: compared.comparison.id };
}

/**
 * The evaluation stage of a specialization run: the base model (when configured) and then the
 * trained student, each an `evaluateModel` child on the same instances and seeds, one after the
 * other (they would share the sandbox hosts), then their paired comparison.
 */
export async function evaluateRunModels(
  runId: string,
  parentWorkflowId: string,
  evaluation: RunEvaluation,
  studentModel: string,
): Promise<RunEvaluationResult> {
  const base = await evaluateBaseModel(runId, parentWorkflowId, evaluation);
  const student = await evaluateStudentModel(runId, parentWorkflowId, evaluation, studentModel);
  if (!base) return { student };
  return { student, base, comparison: await compareModels(base, student) };
}
