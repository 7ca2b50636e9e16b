import { executeChild, proxyActivities, upsertMemo } from '@temporalio/workflow';
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
  const common = {
    instances: evaluation.instances,
    environments: evaluation.environments,
    instanceIds: evaluation.instanceIds,
    concurrency: evaluation.concurrency,
    limits: evaluation.limits,
    heartbeatTimeoutSeconds: evaluation.heartbeatTimeoutSeconds,
    seeds: evaluation.seeds,
    solve: evaluation.solve,
  };
  const run = async (who: string, request: Omit<EvaluateModelRequest, keyof typeof common | 'runId'>) => {
    const workflowId = `${parentWorkflowId}-eval-${who}`;
    const result = await executeChild(evaluateModel, {
      workflowId,
      staticSummary: `evaluation of the ${who} model of run ${runId}`,
      args: [{ ...common, runId: evalRunId(evaluation.runId ?? runId, who), ...request }],
    });
    return {
      modelName: result.modelName,
      headline: result.headline,
      summary: result.summary,
      report: result.report.id,
      predictions: result.predictions,
      workflowId,
    };
  };
  const base = evaluation.base
    ? await run('base', { modelName: evaluation.base.model, model: { endpoint: evaluation.base } })
    : undefined;
  if (base) upsertMemo({ evaluationBase: base.headline });
  const student = await run('student', {
    modelName: `${runId}-student`,
    model: {
      serve: { ...evaluation.serve, checkpoint: { artifact: studentModel } },
      settings: evaluation.settings,
    },
  });
  upsertMemo({ evaluationStudent: student.headline, evaluationReport: student.report });
  if (!base) return { student };
  const compared = await reports.compareEvalReports({ base: base.report, other: student.report });
  upsertMemo({ comparison: compared.headline, comparisonArtifact: compared.comparison.id });
  return { student, base, comparison: { headline: compared.headline, artifact: compared.comparison.id } };
}
