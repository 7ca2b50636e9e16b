import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { bundleQuietly } from './quiet-bundle';
import type { RunConfigRequest } from '../core/run-config';
import { exampleRepository } from '../infra/example-repo';
import { repoRoot } from '../infra/paths';
import { TEACHER_MODEL, type TeacherServer } from '../infra/teacher-server';
import type { SvgRunProgress, SvgRunResult } from '../workflows/svg-run';
import { STAND_IN_SECONDS } from './stand-in-seconds';
import { acceptedCountOf } from '../core/accepted-count';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { seededRunState } from './long-run-seed';

export interface LongRunFigures {
  /** Samples the seeded state had finished before the benchmark started the run (0: none). */
  startAt: number;
  /** Ledger artifact ids in the result (chunks, or a chunk index and the chunks after it). */
  ledgerIds: number;
  /** Seconds the run's end took to count the duplicates over the whole ledger (countLedgerDuplicates). */
  finalCountSeconds?: number;
  samples: number;
  accepted: number;
  concurrency: number;
  samplesPerContinue: number;
  wallSeconds: number;
  /** One row per continued run of svgRun: its history and the state it started with. */
  segments: Array<{ runId: string; events: number; bytes: number; carriedBytes: number }>;
  /** [samples finished, RSS MiB, heap used MiB] of the process holding every worker. */
  memory: Array<[number, number, number]>;
  resultBytes: number;
  /** Seconds the slowest stand-in sample takes (0: they return at once). */
  slowSeconds: number;
  /** [seconds since the start, samples running] at each poll. */
  occupancy: Array<[number, number]>;
  /** Mean samples running over the polls while samples were still to be started (after the first fill). */
  meanRunningWhileStarting: number;
  /** Continued runs that began with samples carried over from the run before. */
  segmentsWithCarriedSamples: number;
}

const QUEUE = 'sera-bench-long-run';

/** Bytes of the first payload of a run's start event: the state continue-as-new carried into it. */
async function carriedBytes(client: Client, workflowId: string, runId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const start = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return (start?.input?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
}

/** Scheduled-to-completed seconds of the last run's countLedgerDuplicates, when it has one. */
async function finalCountSeconds(client: Client, workflowId: string): Promise<number | undefined> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'countLedgerDuplicates',
  );
  const completed = events.find(
    (e) =>
      e.activityTaskCompletedEventAttributes &&
      String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(scheduled?.eventId),
  );
  const seconds = (e: (typeof events)[number] | undefined): number =>
    Number(e?.eventTime?.seconds ?? 0) + (e?.eventTime?.nanos ?? 0) / 1e9;
  return scheduled && completed ? seconds(completed) - seconds(scheduled) : undefined;
}

/** Samples a continued run took over from the run before it (its carried state's `inFlight`). */
async function carriedSamples(client: Client, workflowId: string, runId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const state = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[1];
  if (!state?.data) return 0;
  const parsed = JSON.parse(Buffer.from(state.data).toString('utf8')) as { inFlight?: unknown[] };
  return parsed.inFlight?.length ?? 0;
}

/**
 * A long generation: the real svgRun with stand-in samples (bench/long-run-workflows.ts) on its
 * own task queue and orchestration worker, following the process's memory as samples finish and
 * measuring every continued run's history afterwards.
 */
export async function benchLongRun(
  client: Client,
  connection: NativeConnection,
  teacher: TeacherServer,
  options: {
    samples: number;
    concurrency: number;
    samplesPerContinue: number;
    tag: string;
    /** Seconds the slowest stand-in sample sleeps (each sleeps a tenth to all of it). */
    slowSeconds?: number;
    /**
     * Samples the run has finished when the benchmark starts it (a seeded state, bench/
     * long-run-seed.ts): it then runs the last `samples` of a run of `startAt + samples`.
     */
    startAt?: number;
  },
  progress: (line: string) => void,
): Promise<LongRunFigures> {
  const bundle = await bundleQuietly(path.join(repoRoot, 'bench', 'long-run-workflows.ts'));
  const worker = await Worker.create({
    connection,
    taskQueue: QUEUE,
    workflowBundle: bundle,
    maxConcurrentWorkflowTaskExecutions: 100,
  });
  const running = worker.run();
  const example = exampleRepository();
  const workflowId = `sera-run-bench-long-${options.tag}`;
  const config: RunConfigRequest = {
    runId: `bench-long-${options.tag}`,
    repository: { path: example.path, commit: example.commit },
    teacher: {
      baseUrl: teacher.url,
      model: TEACHER_MODEL,
      ...(options.slowSeconds ? { extraHeaders: { [STAND_IN_SECONDS]: String(options.slowSeconds) } } : {}),
    },
    samples: (options.startAt ?? 0) + options.samples,
    concurrency: options.concurrency,
    samplesPerContinue: options.samplesPerContinue,
    seed: 3,
    dataset: { build: false },
  };
  const memory: LongRunFigures['memory'] = [];
  const occupancy: LongRunFigures['occupancy'] = [];
  let filled = false;
  const whileStarting: number[] = [];
  try {
    const carried = options.startAt
      ? await seededRunState(
          new LocalArtifactStore(artifactsDir()),
          {
            finished: options.startAt,
            perChunk: options.samplesPerContinue,
            seed: 3,
            concurrency: options.concurrency,
          },
          progress,
        )
      : undefined;
    const started = performance.now();
    const handle = await client.workflow.start('svgRun', {
      taskQueue: QUEUE,
      workflowId,
      args: carried ? [config, carried] : [config],
    });
    let done = false;
    const result = handle.result().finally(() => (done = true)) as Promise<SvgRunResult>;
    let lastLine = 0;
    while (!done) {
      const now = await handle.query<SvgRunProgress>('progress').catch(() => undefined);
      const finished = now?.finished;
      if (now && finished !== undefined) {
        occupancy.push([(performance.now() - started) / 1000, now.running]);
        filled ||= now.running >= options.concurrency;
        if (filled && now.started < config.samples) whileStarting.push(now.running);
        const usage = process.memoryUsage();
        memory.push([finished, usage.rss / 2 ** 20, usage.heapUsed / 2 ** 20]);
        if (performance.now() - lastLine > 30_000) {
          lastLine = performance.now();
          progress(
            `long run: ${finished}/${config.samples} samples, RSS ${(usage.rss / 2 ** 20).toFixed(0)} MiB`,
          );
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    const outcome = await result;
    const wallSeconds = (performance.now() - started) / 1000;
    const runs: Array<{ runId: string; startTime: Date }> = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
      runs.push({ runId: execution.runId, startTime: execution.startTime });
    runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    const segments: LongRunFigures['segments'] = [];
    let segmentsWithCarriedSamples = 0;
    for (const run of runs) {
      if ((await carriedSamples(client, workflowId, run.runId)) > 0) segmentsWithCarriedSamples += 1;
      const description = await client.workflow.getHandle(workflowId, run.runId).describe();
      segments.push({
        runId: run.runId,
        events: description.historyLength,
        bytes: description.historySize ?? 0,
        carriedBytes: await carriedBytes(client, workflowId, run.runId),
      });
    }
    return {
      startAt: options.startAt ?? 0,
      ledgerIds: outcome.ledger.length,
      finalCountSeconds: await finalCountSeconds(client, workflowId),
      samples: outcome.finished,
      accepted: acceptedCountOf(outcome),
      concurrency: options.concurrency,
      samplesPerContinue: options.samplesPerContinue,
      wallSeconds,
      segments,
      memory,
      resultBytes: Buffer.byteLength(JSON.stringify(outcome)),
      slowSeconds: options.slowSeconds ?? 0,
      occupancy,
      meanRunningWhileStarting: whileStarting.reduce((a, b) => a + b, 0) / Math.max(whileStarting.length, 1),
      segmentsWithCarriedSamples,
    };
  } finally {
    worker.shutdown();
    await running;
  }
}

/** The table `npm run bench` prints for the long generation. */
export function printLongRun(f: LongRunFigures): void {
  const events = f.segments.map((s) => s.events);
  const bytes = f.segments.map((s) => s.bytes);
  const carried = f.segments.map((s) => s.carriedBytes);
  const kb = (n: number): string => `${(n / 1024).toFixed(0)} KB`;
  const rss = f.memory.map(([, r]) => r);
  const heap = f.memory.map(([, , h]) => h);
  const tenth = Math.max(1, Math.floor(f.memory.length / 10));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  if (f.startAt > 0)
    console.log(
      `the run started with ${f.startAt} samples finished (a seeded ledger and counters): the rows below are its last ${f.samples - f.startAt} samples`,
    );
  if (f.finalCountSeconds !== undefined)
    console.log(
      `the run's end counted the duplicates over the whole ledger in ${f.finalCountSeconds.toFixed(1)} s`,
    );
  console.log(
    `long generation: ${f.samples} stand-in samples (${f.accepted} accepted) at concurrency ${f.concurrency}, ${f.samplesPerContinue} per continued run, ${f.wallSeconds.toFixed(0)} s (${((f.samples - f.startAt) / f.wallSeconds).toFixed(1)} samples/s run here); the result names ${f.ledgerIds} ledger artifact(s)`,
  );
  console.log(
    `svgRun: ${f.segments.length} runs; per run: history ${Math.min(...events)}–${Math.max(...events)} events, ${kb(Math.min(...bytes))}–${kb(Math.max(...bytes))}; carried state ${kb(carried[0] ?? 0)} at the first run, ${kb(Math.max(...carried))} at most; result ${kb(f.resultBytes)}`,
  );
  console.log(
    `worker RSS (MiB): first tenth ${mean(rss.slice(0, tenth)).toFixed(0)}, last tenth ${mean(rss.slice(-tenth)).toFixed(0)}, peak ${Math.max(...rss).toFixed(0)}; JS heap used: first tenth ${mean(heap.slice(0, tenth)).toFixed(0)}, last tenth ${mean(heap.slice(-tenth)).toFixed(0)}`,
  );
  if (f.slowSeconds > 0)
    console.log(
      `slow samples (up to ${f.slowSeconds} s each): ${f.meanRunningWhileStarting.toFixed(1)} of ${f.concurrency} running on average while samples were left to start; ${f.segmentsWithCarriedSamples} of ${f.segments.length} continued runs began with samples still running`,
    );
}
