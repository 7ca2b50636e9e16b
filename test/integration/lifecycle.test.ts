import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { sampleOutcomes } from '../../client/sample-outcomes';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import type { LifecycleReport } from '../../core/lifecycle-report';
import { solvesRun } from '../../core/teacher/solver';
import { exampleEvalSet, exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import { freePort } from '../../infra/temporal-server';
import type { SpecializeResult } from '../../workflows/specialize-repository';
import { EVAL_INSTANCE, oneInstanceEvaluation } from '../support/specialize';
import type { SvgRunProgress } from '../../workflows/svg-run';
import { applicationCause } from '../support/failures';
import { readArtifact, storedArtifacts } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const evalSet = exampleEvalSet();
const SOLVE_RATE = 0.5;
/** Seeds of the base model's evaluation that its solving mode solves (2 of 0, 1, 2 at rate 0.5). */
const baseSolves = [0, 1, 2].filter((seed) =>
  solvesRun(EVAL_INSTANCE, seed, TEACHER_MODEL, SOLVE_RATE),
).length;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ref = (id: string) => ({ id, size: 0, mediaType: 'application/json', preview: '' });

/** How many runs the namespace knows with this exact workflow id (0 when it was never started). */
async function runsOf(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
    if (run.workflowId === workflowId) n += 1;
  return n;
}

describe('the specialization lifecycle (specializeRepository)', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  let full: SpecializeResult;
  let fullId: string;
  const runId = uniqueRunId('life');

  function config(overrides: Partial<RunConfigRequest> = {}): RunConfigRequest {
    const example = exampleRepository();
    return {
      runId,
      repository: { path: example.path, commit: example.commit },
      environment: { testCommand: example.testCommand },
      teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
      samples: 6,
      concurrency: 3,
      seed: 11,
      dataset: { trajectories: 'T1+T2' },
      train: { preset: 'tiny', recipe: { maxSteps: 6, saveSteps: 3, seed: 3 } },
      evaluate: oneInstanceEvaluation(teacher.url),
      heartbeatTimeoutSeconds: 10,
      ...overrides,
    };
  }
  const execute = (workflowId: string, input: RunConfigRequest): Promise<SpecializeResult> =>
    workers.client.workflow.execute('specializeRepository', {
      taskQueue: TaskQueues.orchestration,
      workflowId,
      args: [input],
    });

  beforeAll(async () => {
    // The base model is the offline teacher in its solving mode (a test instrument): it resolves
    // the evaluation instance in some seeds, so the comparison with the student has a difference.
    teacher = await startTeacherServer({
      fidelity: 0.7,
      solutions: { instancesFile: evalSet.instancesFile, solveRate: SOLVE_RATE },
    });
    process.env.SERA_SERVE_PORT = String(await freePort());
    process.env.SERA_SERVE_DIR = mkdtempSync(path.join(os.tmpdir(), 'sera-serve-'));
    workers = await startWorkers(['orchestration', 'sandbox', 'llm', 'gpu-train', 'gpu-serve'], {
      sandboxHostId: 'lifecycle-tests',
    });
    fullId = `sera-run-${runId}`;
    full = await execute(fullId, config());
  }, 1_200_000);

  afterAll(async () => {
    const serveDir = process.env.SERA_SERVE_DIR;
    delete process.env.SERA_SERVE_PORT;
    delete process.env.SERA_SERVE_DIR;
    await workers?.stop();
    await teacher?.close();
    if (serveDir) rmSync(serveDir, { recursive: true, force: true });
  });

  it('runs every stage from one start and ends with a report comparing base and student', async () => {
    expect(full.stages.map((s) => [s.stage, s.status])).toEqual([
      ['environment', 'finished'],
      ['generation', 'finished'],
      ['dataset', 'finished'],
      ['training', 'finished'],
      ['evaluation-base', 'finished'],
      ['evaluation-student', 'finished'],
      ['report', 'finished'],
    ]);
    expect(full.environment?.passed).toBe(true);
    expect(full.generation.finished).toBe(6);
    expect(full.generation.reused).toBe(0);
    expect(full.dataset!.lines).toBeGreaterThan(0);
    expect(full.training!.steps).toBe(6);
    expect(full.evaluation!.student.summary.seeds).toBe(3);
    // The base resolves the instance in the seeds its solving mode solves; the random-weight
    // student in none, so the paired comparison finds the base better on the one instance.
    expect(baseSolves).toBeGreaterThan(0);
    expect(full.evaluation!.base!.summary.mean).toBeCloseTo(baseSolves / 3, 10);
    expect(full.evaluation!.student.summary.mean).toBe(0);
    expect(full.evaluation!.comparison?.headline).toContain('paired over 1 instances; 0 better, 1 worse');

    const report = JSON.parse(await readArtifact(full.report.report)) as LifecycleReport;
    // The report is written before its own stage is recorded.
    expect(report.stages.map((s) => s.stage)).toEqual(full.stages.slice(0, -1).map((s) => s.stage));
    expect(report.totalSeconds).toBeGreaterThan(0);
    expect(report.generation.accepted).toBe(full.generation.acceptedCount);
    expect(full.generation.acceptedCount).toBeGreaterThan(0);
    expect(report.evaluation?.comparison).toMatchObject({ instances: 1, aBetter: 1, bBetter: 0 });
    expect(report.evaluation!.comparison!.difference).toBeCloseTo(-baseSolves / 3, 10);
    expect(report.headline.some((l) => l.startsWith('paired: '))).toBe(true);
    expect(Object.keys(full.report.charts).sort()).toEqual(['resolveRates', 'stageSeconds']);
    for (const id of Object.values(full.report.charts))
      expect(await readArtifact(ref(id))).toMatch(/^<svg[\s\S]*<\/svg>$/);

    const described = await workers.client.workflow.getHandle(fullId).describe();
    expect(described.memo?.report).toBe(full.report.report.id);
    expect(typeof described.memo?.stageManifest).toBe('string');
    expect(described.searchAttributes.SeraStage).toEqual(['done']);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('started again with the same config and workflow id, makes no sample, checkpoint or evaluation twice', async () => {
    const again = await execute(fullId, config());
    expect(again.resumedFrom).toBe(fullId);
    expect(again.stages.map((s) => [s.stage, s.status])).toEqual([
      ['environment', 'reused'],
      ['generation', 'reused'],
      ['dataset', 'reused'],
      ['training', 'reused'],
      ['evaluation-base', 'reused'],
      ['evaluation-student', 'reused'],
      ['report', 'finished'],
    ]);
    expect(again.generation).toEqual(full.generation);
    expect(again.training!.model).toBe(full.training!.model);
    expect(again.evaluation!.student.predictions).toEqual(full.evaluation!.student.predictions);
    expect(again.evaluation!.base!.predictions).toEqual(full.evaluation!.base!.predictions);
    expect(again.evaluation!.base!.summary).toEqual(full.evaluation!.base!.summary);
    for (const suffix of ['-env', '-svg', '-svg-s0', '-dataset', '-train', '-eval-base', '-eval-student'])
      expect(await runsOf(workers.client, `${fullId}${suffix}`)).toBe(1);
  });

  it('with resumeFrom, takes the stages whose inputs are unchanged and redoes the rest', async () => {
    const resumed = await execute(`sera-run-${runId}-b`, {
      ...config({ train: { preset: 'tiny', recipe: { maxSteps: 4, saveSteps: 2, seed: 3 } } }),
      evaluate: undefined,
      resumeFrom: fullId,
    });
    expect(resumed.stages.map((s) => [s.stage, s.status])).toEqual([
      ['environment', 'reused'],
      ['generation', 'reused'],
      ['dataset', 'reused'],
      ['training', 'finished'],
      ['report', 'finished'],
    ]);
    expect(resumed.stages[1]!.workflowId).toBe(`${fullId}-svg`);
    expect(resumed.training!.steps).toBe(4);
    expect(resumed.training!.model).not.toBe(full.training!.model);
    expect(await runsOf(workers.client, `sera-run-${runId}-b-svg`)).toBe(0);
  });

  it('resumes a generation cancelled midway sample by sample, to what an undisturbed run makes', async () => {
    // One sample per continued run of svgRun: the cancel comes after the generation has continued
    // as new, so it must reach the run that is current then, not the one the parent started.
    const small = config({
      samples: 4,
      concurrency: 1,
      seed: 23,
      samplesPerContinue: 1,
      train: undefined,
      evaluate: undefined,
    });
    const cutId = `sera-run-${runId}-cut`;
    const cut = await workers.client.workflow.start('specializeRepository', {
      taskQueue: TaskQueues.orchestration,
      workflowId: cutId,
      args: [small],
    });
    const deadline = Date.now() + 600_000;
    for (;;) {
      const progress = await workers.client.workflow
        .getHandle(`${cutId}-svg`)
        .query<SvgRunProgress>('progress')
        .catch(() => undefined);
      if (progress && progress.finished >= 2) break;
      if (Date.now() > deadline) throw new Error('the generation did not finish two samples');
      await sleep(500);
    }
    await cut.cancel();
    await expect(cut.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(await containersOfRun(runId)).toEqual([]);

    const resumed = await execute(`sera-run-${runId}-resumed`, { ...small, resumeFrom: cutId });
    expect(resumed.generation.reused).toBeGreaterThanOrEqual(2);
    expect(resumed.generation.finished).toBe(4);
    const undisturbed = await execute(`sera-run-${runId}-whole`, small);
    expect(undisturbed.generation.reused).toBe(0);
    expect(await sampleOutcomes(storedArtifacts(), resumed.generation)).toEqual(
      await sampleOutcomes(storedArtifacts(), undisturbed.generation),
    );
    expect(resumed.generation.acceptedCount).toBe(undisturbed.generation.acceptedCount);
    expect(resumed.dataset!.lines).toBe(undisturbed.dataset!.lines);
  });

  it('refuses a resumeFrom nobody ran and a malformed config, naming them', async () => {
    const unknown = await execute(`sera-run-${runId}-x`, { ...config(), resumeFrom: 'no-such-run' }).catch(
      (e: unknown) => e,
    );
    expect(applicationCause(unknown).type).toBe('InvalidInput');
    expect(applicationCause(unknown).message).toContain('resumeFrom: no run with workflow id "no-such-run"');
    const malformed = await execute(`sera-run-${runId}-y`, { ...config(), samples: 0 }).catch(
      (e: unknown) => e,
    );
    expect(applicationCause(malformed).type).toBe('InvalidInput');
    expect(applicationCause(malformed).message).toContain('samples');
  });
});
