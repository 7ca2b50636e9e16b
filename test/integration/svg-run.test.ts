import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import type { LedgerEntry } from '../../core/sft/sample-record';
import { softVerify } from '../../core/soft-verify';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunProgress, SvgRunResult } from '../../workflows/svg-run';
import { readArtifact } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

interface SampleRecord {
  accepted: boolean;
  reason?: string;
  recall?: number;
  rollout1?: { patch?: { id: string } };
  rollout2?: { patch?: { id: string } };
}

describe('an SVG run on the example repository with the offline teacher', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  beforeAll(async () => {
    // Fidelity below 1 so that some samples fail verification.
    teacher = await startTeacherServer({ fidelity: 0.6 });
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: 'svg-tests' });
  });
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  function config(runId: string, overrides: Partial<RunConfigRequest> = {}): RunConfigRequest {
    const example = exampleRepository();
    return {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
      samples: 20,
      concurrency: 4,
      seed: 11,
      samplesPerContinue: 8,
      ...overrides,
    };
  }

  it('accepts and rejects samples, and every record’s recall matches its stored patches', async () => {
    const runId = uniqueRunId('svg');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId)],
    });
    const result = (await handle.result()) as SvgRunResult;
    expect(result.status).toBe('completed');
    expect(result.finished).toBe(20);
    const accepted = result.acceptedCount!;
    expect(accepted).toBeGreaterThan(0);
    const rejected = Object.values(result.rejectedByReason).reduce((a, b) => a + b, 0);
    expect(rejected).toBeGreaterThan(0);
    expect(accepted + rejected).toBe(20);
    // The result does not grow with the run: accepted samples are found through the ledger.
    expect(result.accepted).toBeUndefined();
    const ledgerAccepted = (
      await Promise.all(
        result.ledger.map(
          async (id) =>
            JSON.parse(
              await readArtifact({ id, size: 0, mediaType: 'application/json', preview: '' }),
            ) as LedgerEntry[],
        ),
      )
    )
      .flat()
      .filter((e) => e.accepted);
    expect(ledgerAccepted).toHaveLength(accepted);

    const progress = (await handle.query('progress')) as SvgRunProgress;
    expect(progress).toMatchObject({ stage: 'done', finished: 20, accepted });

    // Records are self-contained: recomputing recall from the stored patches gives the same number.
    let checked = 0;
    for (let index = 0; index < 20; index += 1) {
      const child = await workers.client.workflow.getHandle(`sera-run-${runId}-s${index}`).result();
      const record = JSON.parse(
        await readArtifact(
          (child as { record: { id: string; size: number; mediaType: string; preview: string } }).record,
        ),
      ) as SampleRecord;
      const p1 = record.rollout1?.patch;
      const p2 = record.rollout2?.patch;
      if (!p1 || !p2 || record.recall === undefined) continue;
      const again = softVerify(
        await readArtifact({ id: p1.id, size: 0, mediaType: 'text/x-diff', preview: '' }),
        await readArtifact({ id: p2.id, size: 0, mediaType: 'text/x-diff', preview: '' }),
        1,
      );
      expect(again.recall).toBe(record.recall);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(0);
    expect(await containersOfRun(runId)).toEqual([]);
  }, 600_000);

  it('pauses, resumes and changes concurrency while running, refusing a bad value', async () => {
    const runId = uniqueRunId('svg-steer');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { samples: 4, concurrency: 1 })],
    });
    await handle.signal('pause');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const paused = (await handle.query('progress')) as SvgRunProgress;
    expect(paused.paused).toBe(true);
    expect(paused.started).toBeLessThanOrEqual(1);
    await expect(handle.executeUpdate('setConcurrency', { args: [0] })).rejects.toThrow();
    expect(await handle.executeUpdate('setConcurrency', { args: [2] })).toBe(1);
    await handle.signal('resume');
    const result = (await handle.result()) as SvgRunResult;
    expect(result.finished).toBe(4);
    expect(((await handle.query('progress')) as SvgRunProgress).concurrency).toBe(2);
  });

  it('stops at the token budget, reads demonstrations from a file and writes its manifest', async () => {
    const runId = uniqueRunId('svg-budget');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sera-output-'));
    try {
      writeFileSync(
        path.join(dir, 'demos.txt'),
        'First issue: it crashes.\n---\nSecond issue: it is slow.\n',
      );
      const handle = await workers.client.workflow.start('svgRun', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-run-${runId}`,
        // About 17,000 tokens a sample with the offline teacher: two fit, a third would not.
        args: [
          config(runId, {
            samples: 10,
            concurrency: 1,
            budget: { maxTokens: 45_000 },
            demonstrationsFile: path.join(dir, 'demos.txt'),
            output: dir,
          }),
        ],
      });
      const result = (await handle.result()) as SvgRunResult;
      expect(result.status).toBe('budget_exhausted');
      expect(result.finished).toBeGreaterThan(0);
      expect(result.finished).toBeLessThan(10);
      expect(result.tokens).toBeLessThanOrEqual(45_000);
      const manifest = JSON.parse(readFileSync(result.manifest!, 'utf8')) as SvgRunResult;
      expect(manifest.finished).toBe(result.finished);
      expect(readdirSync(path.join(dir, runId, 'accepted'))).toHaveLength(result.acceptedCount!);

      const missing = await failureOf(uniqueRunId('svg-nodemos'), {
        demonstrationsFile: path.join(dir, 'nope.txt'),
      });
      expect(missing.message).toMatch(/cannot read the demonstrations file .*nope\.txt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a malformed config naming every bad field, before anything runs', async () => {
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: uniqueRunId('bad-config'),
      args: [
        {
          runId: 'x',
          samples: 'many',
          repository: { path: '/r' },
          teacher: { baseUrl: 'not a url', model: '' },
        },
      ],
    });
    const error = await handle.result().catch((e: unknown) => e);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    for (const field of ['samples', 'repository.commit', 'teacher.baseUrl', 'teacher.model'])
      expect(cause.message).toContain(field);
  });

  async function failureOf(runId: string, overrides: Partial<RunConfigRequest>): Promise<ApplicationFailure> {
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { samples: 3, ...overrides })],
    });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    let cause = (error as WorkflowFailedError).cause as Error | undefined;
    while (cause && cause.cause && !('type' in cause && cause.type)) cause = cause.cause as Error;
    expect(await containersOfRun(runId)).toEqual([]);
    return cause as ApplicationFailure;
  }

  it('says clearly when the repository, the commit or the teacher is wrong, and starts nothing', async () => {
    const example = exampleRepository();
    const noRepo = await failureOf(uniqueRunId('svg-norepo'), {
      repository: { path: '/nonexistent/repo', commit: 'main' },
    });
    expect(noRepo.type).toBe('RepositoryNotFound');
    const noCommit = await failureOf(uniqueRunId('svg-nocommit'), {
      repository: { path: example.path, commit: 'v9.9.9' },
    });
    expect(noCommit.type).toBe('CommitNotFound');
    // Port 9 (discard) on this machine: nothing listens there.
    const noTeacher = await failureOf(uniqueRunId('svg-noteacher'), {
      teacher: { baseUrl: 'http://127.0.0.1:9/v1', model: TEACHER_MODEL },
    });
    expect(noTeacher.message).toMatch(/the teacher at http:\/\/127\.0\.0\.1:9\/v1 cannot be used/);
  });

  it('cancels cleanly: running samples stop and no container is left', async () => {
    const runId = uniqueRunId('svg-cancel');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { samples: 50, concurrency: 3 })],
    });
    const deadline = Date.now() + 60_000;
    while (
      ((await handle.query('progress').catch(() => undefined)) as SvgRunProgress | undefined)?.running !== 3
    ) {
      if (Date.now() > deadline) throw new Error('the run never had 3 samples running');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await handle.cancel();
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('checks the model before spending anything, naming what the endpoint serves', async () => {
    const failure = await failureOf(uniqueRunId('svg-nomodel'), {
      teacher: { baseUrl: teacher.url, model: 'no-such-model' },
    });
    expect(failure.type).toBe('ModelNotFound');
    expect(failure.message).toMatch(/does not serve "no-such-model"; it serves: sera-offline-teacher/);
  });
});
