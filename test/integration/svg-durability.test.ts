import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleOutcomes } from '../../client/sample-outcomes';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import { connectClient, temporalSettingsFromEnv } from '../../infra/temporal-connection';
import { ensureDevServer, freePort, stopDevServer } from '../../infra/temporal-server';
import type { SvgRunResult } from '../../workflows/svg-run';
import { storedArtifacts } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, useTestServer } from '../support/temporal';
import { startWorkerProcess, workerProcessEnv, type WorkerProcess } from '../support/worker-process';

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
    let reference: string[];
    try {
      const result = (await calm.client.workflow.execute('svgRun', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-run-${calmId}`,
        args: [config(calmId)],
      })) as SvgRunResult;
      reference = await sampleOutcomes(storedArtifacts(), result);
    } finally {
      await calm.stop();
    }
    expect(reference.filter((line) => line.includes(' accepted ')).length).toBeGreaterThan(0);

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
    expect(await sampleOutcomes(storedArtifacts(), result)).toEqual(reference);
    expect(await containersOfRun(stormId)).toEqual([]);
  }, 900_000);
});
