import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { readConfigFile } from './config-file';
import type { BuildDatasetResult } from '../activities/dataset/build-dataset';
import { TaskQueues } from '../core/queues';
import { RunConfigSchema } from '../core/run-config';
import { DatasetConfigSchema, type DatasetConfigRequest } from '../core/sft/dataset-config';
import { mixSourceLabel, type MixSource } from '../core/sft/dataset-mix';
import { describeIssues } from '../core/environment-input';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { workflowUiUrl, type TemporalSettings } from '../infra/temporal-connection';
import type { SvgRunResult } from '../workflows/svg-run';
import { asRunResult } from './svg-run-commands';
import { runWorkflowId } from './run-workflow-id';
import { workflowResult } from './workflow-failure';
import type { SpecializeResult } from '../workflows/specialize-repository';

export interface DatasetCommandOptions {
  /** A dataset config file (JSON or YAML); default: the run's own dataset settings. */
  config?: string;
  /** A directory to copy the dataset's files into (on the llm worker). */
  out?: string;
}

function readDatasetConfig(file: string): DatasetConfigRequest {
  const raw = readConfigFile(file, 'dataset config');
  const parsed = DatasetConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file}: invalid dataset config: ${describeIssues(parsed.error)}`);
  return raw as DatasetConfigRequest;
}

/**
 * Stores each `{ file }` source of a dataset mix as an artifact and names it by its path, so the
 * workflow gets `{ artifact, name }` and never a path. A relative path is taken from the current
 * directory, as the run config's repository path is. Other sources are left as they are.
 */
export async function storeMixFiles<C extends { mix?: { sources: MixSource[] } }>(config: C): Promise<C> {
  if (!config.mix) return config;
  const store = new LocalArtifactStore(artifactsDir());
  const sources: MixSource[] = [];
  for (const [i, source] of config.mix.sources.entries()) {
    if (!('file' in source)) {
      sources.push(source);
      continue;
    }
    if (!existsSync(source.file)) throw new Error(`${mixSourceLabel(source, i)}: the file does not exist`);
    const stored = await store.putFile(path.resolve(source.file), 'application/x-ndjson');
    sources.push({ artifact: stored.id, name: source.file });
  }
  return { ...config, mix: { ...config.mix, sources } };
}

/**
 * Builds (again) the SFT dataset of a finished run: reads the run's ledger from its result and
 * starts the buildDataset workflow, showing how many samples it has gone through.
 */
export async function buildDatasetOfRun(
  client: Client,
  settings: TemporalSettings,
  runId: string,
  options: DatasetCommandOptions,
): Promise<BuildDatasetResult> {
  const run = client.workflow.getHandle(runWorkflowId(runId));
  const described = await run.describe();
  if (described.status.name !== 'COMPLETED') {
    throw new Error(
      `run ${runId} is ${described.status.name}, not completed: its samples are not all in yet`,
    );
  }
  const result = asRunResult((await run.result()) as SvgRunResult | SpecializeResult);
  const runConfig = RunConfigSchema.parse(await firstInput(client, runWorkflowId(runId)));
  const config = await storeMixFiles(options.config ? readDatasetConfig(options.config) : runConfig.dataset);
  const output = options.out ? path.resolve(options.out) : runConfig.output;
  const hash = createHash('sha256').update(JSON.stringify({ config, output })).digest('hex').slice(0, 10);
  const workflowId = `${runWorkflowId(runId)}-dataset-${hash}`;
  const handle = await client.workflow.start('buildDataset', {
    taskQueue: TaskQueues.orchestration,
    workflowId,
    args: [{ runId, ledger: result.ledger, config, runThreshold: runConfig.threshold, output }],
  });
  console.error(`dataset ${workflowId}: ${workflowUiUrl(settings, workflowId)}`);
  const poll = setInterval(() => {
    handle
      .describe()
      .then((d) => {
        const details = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
        if (!details) return;
        const progress = JSON.parse(Buffer.from(details).toString('utf8')) as
          { done: number; total: number } | { generalSource: string; linesRead: number };
        process.stderr.write(
          'generalSource' in progress
            ? `  ${progress.generalSource}: ${progress.linesRead} lines proven\n`
            : `  samples read ${progress.done}/${progress.total}\n`,
        );
      })
      .catch(() => undefined);
  }, 2000);
  try {
    return await workflowResult<BuildDatasetResult>(handle);
  } finally {
    clearInterval(poll);
  }
}

/** The run config a run was started with (the first event's input), for its dataset defaults. */
async function firstInput(client: Client, workflowId: string): Promise<unknown> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload?.data) throw new Error(`${workflowId} has no input in its history`);
  return JSON.parse(Buffer.from(payload.data).toString('utf8')) as unknown;
}

export function describeDataset(result: BuildDatasetResult): string[] {
  const store = new LocalArtifactStore(artifactsDir());
  const where = (id: string): string => store.pathOf(id);
  return [
    `dataset of run ${result.runId}: ${result.lines} samples, ${result.tokens} tokens, mean truncation ratio ${result.meanTruncationRatio.toFixed(3)}, ${result.problems} unreadable records`,
    ...(result.directory ? [`  files: ${result.directory}`] : []),
    ...(result.mix
      ? [
          `  mix: α ${result.mix.alpha}, ${result.mix.repository} repository lines, ${result.mix.general.map((g) => `${g.lines} from ${g.name}`).join(', ')}`,
        ]
      : []),
    `  train.jsonl  ${where(result.dataset.id)}`,
    `  report.json  ${where(result.report.id)}`,
    ...Object.entries(result.charts).map(([name, id]) => `  ${name.padEnd(12)} ${where(id)}`),
  ];
}
