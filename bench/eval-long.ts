import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { bundleQuietly } from './quiet-bundle';
import { parseInstances } from '../core/eval/instances';
import { exampleEvalSet } from '../infra/example-repo';
import { repoRoot } from '../infra/paths';
import type { EvaluateModelResult } from '../workflows/evaluate-model';

export interface LongEvalFigures {
  instances: number;
  seeds: number;
  concurrency: number;
  wallSeconds: number;
  /** One row per workflow run of evaluateModel: its history, the state it started with, its largest payload. */
  runs: Array<{ events: number; bytes: number; carriedBytes: number; largestPayloadBytes: number }>;
  /** [solving runs finished, RSS MiB, heap used MiB] of the process holding every worker. */
  memory: Array<[number, number, number]>;
  resultBytes: number;
}

const QUEUE = 'sera-bench-long-eval';

/** The largest single payload list (an input or a result) of any event in a history. */
function largestPayload(value: unknown): number {
  if (!value || typeof value !== 'object') return 0;
  let largest = 0;
  const payloads = (value as { payloads?: Array<{ data?: Uint8Array | null }> }).payloads;
  if (Array.isArray(payloads)) largest = payloads.reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
  for (const child of Object.values(value)) largest = Math.max(largest, largestPayload(child));
  return largest;
}

/**
 * A long evaluation: the real evaluateModel with stand-in solving children
 * (test/support/eval-continue-workflows.ts) on its own task queue, over copies of the example
 * evaluation set's instances (so the real instance and report activities read real-sized
 * instances, and five real images are prepared); measures every workflow run's history after.
 * Needs the benchmark's sandbox and llm workers running, and an endpoint that lists models.
 */
export async function benchLongEvaluation(
  client: Client,
  connection: NativeConnection,
  options: {
    instances: number;
    seeds: number;
    concurrency: number;
    endpoint: string;
    model: string;
    tag: string;
  },
  progress: (line: string) => void,
): Promise<LongEvalFigures> {
  const set = exampleEvalSet();
  const originals = parseInstances(readFileSync(set.instancesFile, 'utf8'));
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-bench-eval-'));
  const instancesFile = path.join(scratch, 'instances.jsonl');
  writeFileSync(
    instancesFile,
    Array.from({ length: options.instances }, (_, i) => {
      const original = originals[i % originals.length]!;
      return JSON.stringify({ ...original, instance_id: `${original.instance_id}-copy${i}` });
    }).join('\n') + '\n',
  );
  const bundle = await bundleQuietly(path.join(repoRoot, 'test', 'support', 'eval-continue-workflows.ts'));
  const worker = await Worker.create({
    connection,
    taskQueue: QUEUE,
    workflowBundle: bundle,
    maxConcurrentWorkflowTaskExecutions: 100,
  });
  const running = worker.run();
  const workflowId = `sera-bench-long-eval-${options.tag}`;
  const memory: LongEvalFigures['memory'] = [];
  try {
    const started = performance.now();
    const handle = await client.workflow.start('evaluateModel', {
      taskQueue: QUEUE,
      workflowId,
      args: [
        {
          runId: `bench-eval-${options.tag}`,
          modelName: 'stand-in',
          model: { endpoint: { baseUrl: options.endpoint, model: options.model } },
          instances: { path: instancesFile },
          environments: { [set.repo]: set.environment },
          seeds: Array.from({ length: options.seeds }, (_, i) => i),
          concurrency: options.concurrency,
        },
      ],
    });
    let done = false;
    const result = handle.result().finally(() => (done = true)) as Promise<EvaluateModelResult>;
    let lastLine = 0;
    while (!done) {
      const solved = await handle
        .query<{ solved: number }>('progress')
        .then((p) => p.solved)
        .catch(() => undefined);
      if (solved !== undefined) {
        const usage = process.memoryUsage();
        memory.push([solved, usage.rss / 2 ** 20, usage.heapUsed / 2 ** 20]);
        if (performance.now() - lastLine > 30_000) {
          lastLine = performance.now();
          progress(`long evaluation: ${solved} solved, RSS ${(usage.rss / 2 ** 20).toFixed(0)} MiB`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    const outcome = await result;
    const wallSeconds = (performance.now() - started) / 1000;
    const runs: LongEvalFigures['runs'] = [];
    let runId = (await handle.describe()).raw.workflowExecutionInfo?.firstRunId ?? undefined;
    while (runId) {
      const run = client.workflow.getHandle(workflowId, runId);
      const description = await run.describe();
      const events = (await run.fetchHistory()).events ?? [];
      const start = events[0]?.workflowExecutionStartedEventAttributes;
      runs.push({
        events: description.historyLength,
        bytes: description.historySize ?? 0,
        carriedBytes: (start?.input?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0),
        largestPayloadBytes: Math.max(...events.map(largestPayload)),
      });
      runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return {
      instances: options.instances,
      seeds: options.seeds,
      concurrency: options.concurrency,
      wallSeconds,
      runs,
      memory,
      resultBytes: Buffer.byteLength(JSON.stringify(outcome)),
    };
  } finally {
    worker.shutdown();
    await running;
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The table `npm run bench` prints for the long evaluation. */
export function printLongEvaluation(f: LongEvalFigures): void {
  const kb = (n: number): string => `${(n / 1024).toFixed(0)} KB`;
  const events = f.runs.map((r) => r.events);
  const bytes = f.runs.map((r) => r.bytes);
  const solves = f.instances * f.seeds;
  console.log(
    `long evaluation: ${f.instances} instances × ${f.seeds} seeds (stand-in solving) at concurrency ${f.concurrency}, ${f.wallSeconds.toFixed(0)} s (${(solves / f.wallSeconds).toFixed(1)} solves/s)`,
  );
  console.log(
    `evaluateModel: ${f.runs.length} workflow runs; per run: history ${Math.min(...events)}–${Math.max(...events)} events (limit 50,000), ${kb(Math.min(...bytes))}–${kb(Math.max(...bytes))} (limit 50 MB); carried state ≤ ${kb(Math.max(...f.runs.map((r) => r.carriedBytes)))}; largest payload ${kb(Math.max(...f.runs.map((r) => r.largestPayloadBytes)))} (limit 2 MB); result ${kb(f.resultBytes)}`,
  );
  const rss = f.memory.map(([, r]) => r);
  const tenth = Math.max(1, Math.floor(rss.length / 10));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  console.log(
    `worker RSS (MiB): first tenth ${mean(rss.slice(0, tenth)).toFixed(0)}, last tenth ${mean(rss.slice(-tenth)).toFixed(0)}, peak ${Math.max(...rss).toFixed(0)}`,
  );
}
