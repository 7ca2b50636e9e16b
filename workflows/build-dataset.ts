import { proxyActivities, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type {
  BuildDatasetInput,
  BuildDatasetResult,
  DatasetActivities,
} from '../activities/dataset/build-dataset';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';

const datasets = proxyActivities<DatasetActivities>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '12h',
  // It heartbeats once per sample; a dead worker's export starts again elsewhere within minutes.
  heartbeatTimeout: '2m',
  retry: {
    initialInterval: '5s',
    maximumInterval: '5m',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/**
 * The dataset stage of a run: its samples through SERA's filters and truncation into SFT JSONL,
 * with a report and charts. Started by specializeRepository when generation ends, or on its own over a finished
 * run (`sera-flow dataset <run workflow id>`). The memo links every output.
 */
export async function buildDataset(input: BuildDatasetInput): Promise<BuildDatasetResult> {
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.stage, value: 'building-dataset' },
  ]);
  const result = await datasets.exportDataset(input);
  upsertMemo({
    dataset: `${result.lines} samples, ${result.tokens} tokens, mean truncation ratio ${result.meanTruncationRatio.toFixed(3)}, ${result.problems} unreadable records`,
    datasetArtifact: result.dataset.id,
    reportArtifact: result.report.id,
    charts: result.charts,
    ...(result.directory ? { directory: result.directory } : {}),
  });
  upsertSearchAttributes([{ key: SearchAttributes.stage, value: 'dataset-built' }]);
  return result;
}
