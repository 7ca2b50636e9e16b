import { executeChild, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RunConfig } from '../core/run-config';
import { SearchAttributes } from '../core/search-attributes';
import { buildDataset } from './build-dataset';
import { evaluateRunModels } from './run-evaluation';
import type { SvgRunResult } from './svg-run';
import { trainStudentModel } from './train-student';

/**
 * The dataset, training and evaluation that `svgRun` ran after its samples before the
 * generation-only patch. Kept only so that runs started before it end (and replay) as they began;
 * `specializeRepository` owns these stages. Delete it with the patch once no such run is open.
 */
export async function chainStagesOfEarlierRuns(
  config: RunConfig,
  result: SvgRunResult,
  enter: (stage: string) => void,
): Promise<void> {
  if (!config.dataset.build) return;
  const at = (stage: string): void => {
    enter(stage);
    upsertSearchAttributes([{ key: SearchAttributes.stage, value: stage }]);
  };
  at('building-dataset');
  const workflowId = `${workflowInfo().workflowId}-dataset`;
  const built = await executeChild(buildDataset, {
    workflowId,
    staticSummary: `SFT dataset of run ${config.runId}`,
    args: [
      {
        runId: config.runId,
        ledger: result.ledger,
        config: config.dataset,
        runThreshold: config.threshold,
        output: config.output,
      },
    ],
  });
  result.dataset = {
    lines: built.lines,
    tokens: built.tokens,
    meanTruncationRatio: built.meanTruncationRatio,
    problems: built.problems,
    directory: built.directory,
    artifact: built.dataset.id,
    report: built.report.id,
    workflowId,
  };
  upsertMemo({
    dataset: `${built.lines} samples, ${built.tokens} tokens, mean truncation ratio ${built.meanTruncationRatio.toFixed(3)} (workflow ${workflowId})`,
    datasetArtifact: built.dataset.id,
    reportArtifact: built.report.id,
    charts: built.charts,
  });
  if (!config.train) return;
  if (built.lines === 0) {
    upsertMemo({ training: 'skipped: the dataset has no lines' });
    return;
  }
  at('training');
  const trainId = `${workflowInfo().workflowId}-train`;
  const trained = await executeChild(trainStudentModel, {
    workflowId: trainId,
    staticSummary: `SFT of the student on run ${config.runId}'s dataset`,
    args: [{ runId: config.runId, dataset: built.dataset.id, config: config.train, output: config.output }],
  });
  result.training = {
    steps: trained.steps,
    samples: trained.samples,
    firstLoss: trained.firstLoss,
    lastLoss: trained.lastLoss,
    wallSeconds: trained.wallSeconds,
    costUsd: trained.costUsd,
    model: trained.model,
    directory: trained.directory,
    report: trained.report.id,
    workflowId: trainId,
  };
  upsertMemo({
    training: `${trained.steps} steps, loss ${trained.firstLoss.toFixed(3)} → ${trained.lastLoss.toFixed(3)} (workflow ${trainId})`,
    modelArtifact: trained.model,
  });
  if (!config.evaluate) return;
  at('evaluating');
  result.evaluation = await evaluateRunModels(
    config.runId,
    workflowInfo().workflowId,
    config.evaluate,
    trained.model,
  );
}
