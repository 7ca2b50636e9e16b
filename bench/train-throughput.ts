import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { TrainStudentResult } from '../activities/train/train-student';
import { TaskQueues } from '../core/queues';
import type { TrainReport } from '../core/train/train-report';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir, qwen3TokenizerDir, repoRoot, trainerDir, trainerPython } from '../infra/paths';

export interface TrainBenchRow {
  way: 'direct' | 'activity';
  round: number;
  steps: number;
  tokensSeen: number;
  /** Mean of the trainer's own per-log rates: the training loop's speed. */
  meanTokensPerSecond: number;
  /** Tokens over wall time, start-up, data and checkpoint handling included. */
  endToEndTokensPerSecond: number;
  wallSeconds: number;
  peakRssMb?: number;
}

export const BENCH_DATASET = path.join(repoRoot, 'examples', 'sft-dataset.jsonl');

/** The trainer run by hand: trainer/bench_train.py, the same recipe as the activity below. */
function direct(steps: number, round: number): TrainBenchRow {
  const result = spawnSync(
    trainerPython(),
    [
      path.join(trainerDir, 'bench_train.py'),
      '--dataset',
      BENCH_DATASET,
      '--tokenizer',
      qwen3TokenizerDir,
      '--steps',
      String(steps),
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`bench_train.py failed: ${result.stderr.slice(-2000)}`);
  const r = JSON.parse(result.stdout.trim().split('\n').pop()!) as {
    steps: number;
    tokens_seen: number;
    mean_tokens_per_s: number;
    end_to_end_tokens_per_s: number;
    wall_s: number;
    peak_rss_mb: number;
  };
  return {
    way: 'direct',
    round,
    steps: r.steps,
    tokensSeen: r.tokens_seen,
    meanTokensPerSecond: r.mean_tokens_per_s,
    endToEndTokensPerSecond: r.end_to_end_tokens_per_s,
    wallSeconds: r.wall_s,
    peakRssMb: r.peak_rss_mb,
  };
}

/** The same training as a trainStudentModel workflow on a gpu-train worker. */
async function throughTemporal(
  client: Client,
  steps: number,
  round: number,
  tag: string,
): Promise<TrainBenchRow> {
  const store = new LocalArtifactStore(artifactsDir());
  const dataset = (await store.putFile(BENCH_DATASET, 'application/x-ndjson')).id;
  const started = Date.now();
  const result = (await client.workflow.execute('trainStudentModel', {
    taskQueue: TaskQueues.orchestration,
    workflowId: `bench-train-${tag}-${round}-${process.pid}`,
    args: [
      {
        runId: `bench-train-${tag}`,
        dataset,
        // bench_train.py's recipe: the tiny preset, no periodic checkpoint, seed 0.
        config: {
          preset: 'tiny',
          recipe: { epochs: 1000, maxSteps: steps, saveSteps: 1_000_000_000, seed: 0 },
        },
      },
    ],
  })) as TrainStudentResult;
  const wall = (Date.now() - started) / 1000;
  const report = JSON.parse((await store.get(result.report.id)).toString('utf8')) as TrainReport;
  return {
    way: 'activity',
    round,
    steps: result.steps,
    tokensSeen: result.tokensSeen,
    meanTokensPerSecond: report.meanTokensPerSecond,
    endToEndTokensPerSecond: result.tokensSeen / wall,
    wallSeconds: wall,
    peakRssMb: report.peakRssMb,
  };
}

/** Interleaved rounds of both ways, so a slow moment of the machine hits both alike. */
export async function benchTraining(
  client: Client,
  options: { rounds: number; steps: number; tag: string },
  log: (line: string) => void,
): Promise<TrainBenchRow[]> {
  const rows: TrainBenchRow[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    rows.push(direct(options.steps, round));
    log(`train round ${round}: direct ${rows[rows.length - 1]!.wallSeconds.toFixed(1)} s`);
    rows.push(await throughTemporal(client, options.steps, round, options.tag));
    log(`train round ${round}: activity ${rows[rows.length - 1]!.wallSeconds.toFixed(1)} s`);
  }
  return rows;
}
