import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { TrainProgress, TrainStudentResult } from '../activities/train/train-student';
import { isArtifactId } from '../core/artifacts';
import { TaskQueues } from '../core/queues';
import { resolveTrainConfig, type TrainConfigRequest } from '../core/train/train-config';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { workflowUiUrl, type TemporalSettings } from '../infra/temporal-connection';
import type { SvgRunResult } from '../workflows/svg-run';
import { readConfigFile } from './config-file';
import { asRunResult } from './svg-run-commands';
import { runWorkflowId } from './run-workflow-id';
import { workflowResult } from './workflow-failure';
import type { SpecializeResult } from '../workflows/specialize-repository';

export interface TrainCommandOptions {
  /** A dataset: a JSONL file in the export format, or an artifact id. Default: the run's. */
  dataset?: string;
  /** Training settings, JSON or YAML (the run config's "train" fields). */
  config?: string;
  /** A directory to copy the trained model into (on the gpu-train worker). */
  out?: string;
  /** An earlier training's workflow id: start from its last checkpoint when it trained the same. */
  continueFrom?: string;
}

/** One line of where a training stands, from the activity's heartbeat. */
export function trainProgressLine(p: TrainProgress, width = 24): string {
  const planned = p.plannedSteps ?? 0;
  const filled = planned > 0 ? Math.round((Math.min(p.step, planned) / planned) * width) : 0;
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  const parts = [`[${bar}] step ${p.step}/${planned || '?'}`];
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(3)}`);
  if (p.learningRate !== undefined) parts.push(`lr ${p.learningRate.toExponential(1)}`);
  if (p.tokensPerSecond !== undefined) parts.push(`${Math.round(p.tokensPerSecond)} tokens/s`);
  parts.push(p.checkpoint ? `checkpoint at step ${p.checkpoint.step}` : 'no checkpoint yet');
  if (p.attempts > 1) parts.push(`attempt ${p.attempts}, resumed from ${p.resumedFrom.join(', ')}`);
  return `${parts.join(', ')} (${p.phase})`;
}

async function datasetOf(client: Client, runId: string, dataset: string | undefined): Promise<string> {
  if (dataset && isArtifactId(dataset)) return dataset;
  if (dataset) {
    if (!existsSync(dataset)) throw new Error(`dataset file ${dataset} does not exist`);
    return (
      await new LocalArtifactStore(artifactsDir()).putFile(path.resolve(dataset), 'application/x-ndjson')
    ).id;
  }
  const run = client.workflow.getHandle(runWorkflowId(runId));
  const described = await run.describe();
  if (described.status.name !== 'COMPLETED')
    throw new Error(`run ${runId} is ${described.status.name}, not completed: it has no dataset yet`);
  const result = asRunResult((await run.result()) as SvgRunResult | SpecializeResult);
  if (!result.dataset) throw new Error(`run ${runId} built no dataset (its config has dataset.build false)`);
  if (result.dataset.lines === 0) throw new Error(`run ${runId}'s dataset has no lines: nothing to train on`);
  return result.dataset.artifact;
}

/** Refuses a --continue-from that names no training workflow, before anything starts. */
async function expectTraining(client: Client, workflowId: string): Promise<void> {
  let type: string;
  try {
    type = (await client.workflow.getHandle(workflowId).describe()).type;
  } catch {
    throw new Error(`--continue-from ${workflowId}: no such workflow`);
  }
  if (type !== 'trainStudentModel')
    throw new Error(`--continue-from ${workflowId}: a ${type} workflow, not a training (trainStudentModel)`);
}

/** Trains the student on a run's dataset (or a given one), showing the trainer's progress. */
export async function trainOnDataset(
  client: Client,
  settings: TemporalSettings,
  runId: string,
  options: TrainCommandOptions,
): Promise<TrainStudentResult> {
  const config = (
    options.config ? readConfigFile(options.config, 'training config') : {}
  ) as TrainConfigRequest;
  resolveTrainConfig(config); // a wrong field is reported here, before anything starts
  const dataset = await datasetOf(client, runId, options.dataset);
  const output = options.out ? path.resolve(options.out) : undefined;
  const continueFrom = options.continueFrom;
  if (continueFrom) await expectTraining(client, continueFrom);
  const hash = createHash('sha256')
    .update(JSON.stringify({ dataset, config, output, continueFrom }))
    .digest('hex')
    .slice(0, 10);
  const workflowId = `${runWorkflowId(runId)}-train-${hash}`;
  const handle = await client.workflow.start('trainStudentModel', {
    taskQueue: TaskQueues.orchestration,
    workflowId,
    args: [{ runId, dataset, config, output, ...(continueFrom ? { continueFrom } : {}) }],
  });
  console.error(`training ${workflowId}: ${workflowUiUrl(settings, workflowId)}`);
  const tty = process.stderr.isTTY;
  const poll = setInterval(() => {
    handle
      .describe()
      .then((d) => {
        const data = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
        if (!data) return;
        const line = trainProgressLine(JSON.parse(Buffer.from(data).toString('utf8')) as TrainProgress);
        process.stderr.write(tty ? `\r\x1b[K${line}` : `  ${line}\n`);
      })
      .catch(() => undefined);
  }, 2000);
  try {
    return await workflowResult<TrainStudentResult>(handle);
  } finally {
    clearInterval(poll);
    if (tty) process.stderr.write('\n');
  }
}

export function describeTraining(result: TrainStudentResult): string[] {
  const store = new LocalArtifactStore(artifactsDir());
  return [
    `student of run ${result.runId}: ${result.steps} steps on ${result.samples} samples (${result.skippedTooLong} too long), loss ${result.firstLoss.toFixed(3)} → ${result.lastLoss.toFixed(3)}, ${result.tokensSeen} tokens, ${Math.round(result.wallSeconds)} s, about $${result.costUsd.toFixed(2)}${result.resumedFrom.length ? `, resumed from step ${result.resumedFrom.join(', ')}` : ''}`,
    ...(result.directory ? [`  model folder   ${result.directory}`] : []),
    `  model manifest ${store.pathOf(result.model)}`,
    `  serve it       npm run cli -- serve start --model ${result.model}`,
    `  report.json    ${store.pathOf(result.report.id)}`,
    ...Object.entries(result.charts).map(([name, id]) => `  ${name.padEnd(14)} ${store.pathOf(id)}`),
  ];
}
