import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import { connectClient, temporalSettingsFromEnv } from '../../infra/temporal-connection';
import { ensureDevServer, freePort, stopDevServer } from '../../infra/temporal-server';
import type { LedgerEntry } from '../../core/sft/sample-record';
import type { SvgRunResult } from '../../workflows/svg-run';
import { readArtifact } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, useTestServer } from '../support/temporal';
import { startWorkerProcess, workerProcessEnv, type WorkerProcess } from '../support/worker-process';

/** One sample's fate as the ledger tells it, with its patches when it has a record. */
interface Outcome {
  index: number;
  accepted: boolean;
  reason?: string;
  patch1?: string;
  patch2?: string;
  recall?: number;
}

const ref = (id: string) => ({ id, size: 0, mediaType: 'application/json', preview: '' });

/** Every finished sample's outcome, in index order: the whole run, not only what it accepted. */
async function outcomesOf(result: SvgRunResult): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const chunk of result.ledger) {
    const entries = JSON.parse(await readArtifact(ref(chunk))) as LedgerEntry[];
    for (const entry of entries) {
      const outcome: Outcome = { index: entry.index, accepted: entry.accepted, reason: entry.reason };
      if (entry.record) {
        const record = JSON.parse(await readArtifact(ref(entry.record))) as {
          rollout1?: { patch?: { id: string } };
          rollout2?: { patch?: { id: string } };
          recall?: number;
        };
        outcome.patch1 = record.rollout1?.patch?.id;
        outcome.patch2 = record.rollout2?.patch?.id;
        outcome.recall = record.recall;
      }
      out.push(outcome);
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('an SVG run whose every worker is killed and whose server restarts', () => {
  let teacher: TeacherServer;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-durability-'));
  const processes: WorkerProcess[] = [];
  beforeAll(async () => {
    teacher = await startTeacherServer({ fidelity: 0.6 });
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    stopDevServer(scratch);
    await teacher?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  function config(runId: string): RunConfigRequest {
    const example = exampleRepository();
    return {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
      samples: 8,
      concurrency: 2,
      seed: 5,
      samplesPerContinue: 3,
      heartbeatTimeoutSeconds: 3,
    };
  }

  it('ends with exactly the accepted samples of an undisturbed run', async () => {
    // The undisturbed run, on the shared test server with in-process workers.
    const calm = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: 'calm-host' });
    const calmId = uniqueRunId('calm');
    let reference: Outcome[];
    try {
      const result = (await calm.client.workflow.execute('svgRun', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-run-${calmId}`,
        args: [config(calmId)],
      })) as SvgRunResult;
      reference = await outcomesOf(result);
    } finally {
      await calm.stop();
    }
    expect(reference.filter((o) => o.accepted).length).toBeGreaterThan(0);

    // The disturbed run: its own dev server (to restart), workers as processes (to kill -9).
    useTestServer();
    const port = await freePort();
    const server = {
      port,
      uiPort: await freePort(),
      dbFile: path.join(scratch, 'temporal.db'),
      stateDir: scratch,
      headless: true,
    };
    const dev = await ensureDevServer(server);
    const env = { ...workerProcessEnv('storm-host'), TEMPORAL_ADDRESS: dev.address };
    const startAll = async (): Promise<WorkerProcess[]> => {
      const started = await Promise.all(
        ['orchestration', 'sandbox', 'llm'].map((role) => startWorkerProcess([role], env)),
      );
      processes.push(...started);
      return started;
    };
    const killAll = async (workers: WorkerProcess[]): Promise<void> => {
      for (const w of workers) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
    };

    const stormId = uniqueRunId('storm');
    let workers = await startAll();
    let client = await connectClient({ ...temporalSettingsFromEnv(), address: dev.address });
    await client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${stormId}`,
      args: [config(stormId)],
    });

    await sleep(5000);
    await killAll(workers);
    workers = await startAll();
    await sleep(6000);
    await killAll(workers);
    await client.connection.close();
    stopDevServer(scratch);
    await sleep(1500);
    await ensureDevServer(server);
    client = await connectClient({ ...temporalSettingsFromEnv(), address: dev.address });
    workers = await startAll();
    await sleep(4000);
    await killAll(workers);
    workers = await startAll();

    const result = (await client.workflow.getHandle(`sera-run-${stormId}`).result()) as SvgRunResult;
    await client.connection.close();
    await killAll(workers);
    expect(result.finished).toBe(8);
    expect(await outcomesOf(result)).toEqual(reference);
    expect(await containersOfRun(stormId)).toEqual([]);
  }, 900_000);
});
