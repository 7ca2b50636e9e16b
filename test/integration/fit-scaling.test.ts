import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { runScalingCommand } from '../../client/eval-commands';
import { predictRate } from '../../core/eval/scaling-fit';
import { TaskQueues } from '../../core/queues';
import type { FitScalingRequest, FitScalingResult } from '../../workflows/fit-scaling';
import { applicationCause } from '../support/failures';
import { readArtifact } from '../support/rollout';
import { STUB_QUEUE, type StubRun } from '../support/scaling-stub-workflows';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

// The runs lie on y = 0.6 − 5·x^(−0.5) (x: training samples); each run's three seeds spread ±5 points around it.
const CURVE = { a: 5, b: 0.5, c: 0.6 };
const seedsAt = (x: number): number[] => [-0.05, 0, 0.05].map((d) => predictRate(CURVE, x) + d);

describe('fitScaling over finished runs and evaluations', () => {
  let workers: RunningWorkers;
  let stubs: Worker;
  let stubsRunning: Promise<void>;
  const id = uniqueRunId('scaling');

  /** A finished stub run, under the workflow id a run config's runId gets (sera-run-<runId>). */
  async function run(input: StubRun): Promise<string> {
    const workflowId = `sera-run-${id}-${input.runId}`;
    await workers.client.workflow.execute('specializeRepository', {
      taskQueue: STUB_QUEUE,
      workflowId,
      args: [input],
    });
    return workflowId;
  }
  const fit = (request: FitScalingRequest, suffix: string): Promise<FitScalingResult> =>
    workers.client.workflow.execute('fitScaling', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${id}-fit-${suffix}`,
      args: [request],
    });

  beforeAll(async () => {
    workers = await startWorkers(['orchestration', 'llm']);
    stubs = await Worker.create({
      connection: workers.connection,
      taskQueue: STUB_QUEUE,
      workflowsPath: fileURLToPath(new URL('../support/scaling-stub-workflows.ts', import.meta.url)),
    });
    stubsRunning = stubs.run();
  });
  afterAll(async () => {
    if (stubs?.getState() === 'RUNNING') stubs.shutdown();
    await stubsRunning;
    await workers?.stop();
  });

  it('reads samples, cost and mean rates from the results, fits the curve and projects the target', async () => {
    const small = await run({ runId: 'r100', lines: 100, costUsd: 2, tokens: 150_000, rates: seedsAt(100) });
    const medium = await run({ runId: 'r400', lines: 400, costUsd: 8, tokens: 600_000, rates: seedsAt(400) });
    const large = await run({
      runId: 'r1600',
      lines: 1600,
      costUsd: 32,
      tokens: 2_400_000,
      rates: seedsAt(1600),
    });
    const standalone = `${id}-eval-alone`;
    await workers.client.workflow.execute('evaluateModel', {
      taskQueue: STUB_QUEUE,
      workflowId: standalone,
      args: [{ rates: seedsAt(800) }],
    });

    const result = await fit(
      {
        // A run, an evaluation inside a run (its x comes from the run), another run, an evaluation with its x given.
        workflowIds: [small, `${medium}-eval-student`, large],
        evaluations: [{ workflowId: standalone, x: 800 }],
        target: 0.5,
      },
      'ok',
    );
    expect(result.points.map((p) => [p.samples, p.costUsd ?? null, p.seeds])).toEqual([
      [100, 2, 3],
      [400, 8, 3],
      [1600, 32, 3],
      [800, null, 3],
    ]);
    result.points.forEach((p) => expect(p.rate).toBeCloseTo(predictRate(CURVE, p.samples!), 12));
    expect(result.fit.c).toBeCloseTo(CURVE.c, 6);
    expect(result.fit.b).toBeCloseTo(CURVE.b, 5);
    expect(result.fit.r2).toBeCloseTo(1, 9);
    // (5 / (0.6 − 0.5))^2 = 2,500 samples, at 2 cents a sample (the runs that record cost).
    expect(result.projection?.reachable && result.projection.x).toBeCloseTo(2500, 2);
    expect(result.projection?.needed?.cost).toBeCloseTo(50, 4);
    expect(await readArtifact(result.plot)).toMatch(/^<svg[\s\S]*target 50\.0 % at x ≈ 2,500/);
    expect(await readArtifact(result.markdown)).toContain('| r400 (');
    const stored = JSON.parse(await readArtifact(result.report)) as { fit: { c: number } };
    expect(stored.fit.c).toBeCloseTo(result.fit.c, 12);

    // The CLI reads the same points through its own client: runs by runId, evaluations by workflow id.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'scaling-'));
    try {
      const lines = await runScalingCommand(undefined, {
        run: [`${id}-r100`, large],
        eval: [`${medium}-eval-student`, `${standalone}=800`],
        x: 'samples',
        target: '0.5',
        plot: path.join(dir, 'scaling.svg'),
        report: path.join(dir, 'report.md'),
      });
      expect(lines[0]).toMatch(/^y = 0\.6000 − 5\.000·x\^\(−0\.5000\), R² = 1\.0000 over 4 points$/);
      expect(lines[1]).toMatch(/needs about 2,500 samples, \$50\.00/);
      expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain('![scaling curve](scaling.svg)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Bad input fails the workflow at once, naming what is wrong.
    const failure = async (request: FitScalingRequest, suffix: string): Promise<string> => {
      const error = await fit(request, suffix).then(
        () => undefined,
        (e: unknown) => e,
      );
      const cause = applicationCause(error);
      expect(cause.type).toBe('InvalidInput');
      return cause.message;
    };
    expect(await failure({ workflowIds: [small, large] }, 'two')).toMatch(/at least 3 points, got 2/);
    const unevaluated = await run({ runId: 'none', lines: 50, costUsd: 1, tokens: 1 });
    expect(await failure({ workflowIds: [small, unevaluated, large] }, 'unevaluated')).toMatch(
      new RegExp(`run ${unevaluated} has no resolve rate`),
    );
    const running = `${id}-running`;
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: STUB_QUEUE,
      workflowId: running,
    });
    try {
      expect(await failure({ workflowIds: [small, medium, running] }, 'running')).toMatch(
        new RegExp(`${running} did not finish \\(running\\)`),
      );
    } finally {
      await handle.terminate();
    }
    expect(await failure({ workflowIds: [small, medium, standalone] }, 'alone')).toMatch(
      /is not part of a run, so nothing says its x/,
    );
  });
});
