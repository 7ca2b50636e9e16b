import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../../client/fault-evidence';
import { sampleOutcomes } from '../../client/sample-outcomes';
import { cutByKill, waitForWorkInFlight, workerIdentity } from '../../client/work-in-flight';
import { TaskQueues, type WorkerRole } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import { connectClient, temporalSettingsFromEnv } from '../../infra/temporal-connection';
import { ensureDevServer, freePort, stopDevServer } from '../../infra/temporal-server';
import type { SvgRunResult } from '../../workflows/svg-run';
import { storedArtifacts } from '../support/rollout';
import { expectFaultsHit, killNow, killWhenBusy } from '../support/fault-evidence';
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
    const ROLES = ['orchestration', 'sandbox', 'llm'] as const;
    const workers = new Map<WorkerRole, WorkerProcess>();
    const start = async (role: WorkerRole): Promise<WorkerProcess> => {
      const worker = await startWorkerProcess([role], env);
      processes.push(worker);
      workers.set(role, worker);
      return worker;
    };
    const startAll = (): Promise<unknown> => Promise.all(ROLES.map(start));
    const identityOf = (role: WorkerRole): string => workerIdentity(workers.get(role)!.child.pid!);

    const stormId = uniqueRunId('storm');
    const workflowId = `sera-run-${stormId}`;
    await startAll();
    let client = await connectClient({ ...temporalSettingsFromEnv(), address: dev.address });
    await client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId,
      args: [config(stormId)],
    });
    const faults: Fault[] = [];

    // First each worker dies on its own, and a new one takes its place: the llm one during a
    // model call of a rollout, the sandbox one during a tool call.
    for (const [role, type] of [
      ['llm', 'agentTurn'],
      ['sandbox', 'runTool'],
    ] as const) {
      const replace = (): Promise<WorkerProcess> => start(role);
      faults.push(await killWhenBusy(client, workflowId, workers.get(role)!, role, { type, replace }));
      await start(role);
    }
    faults.push(await killNow(workers.get('orchestration')!, 'orchestration'));
    await start('orchestration');

    /**
     * Every worker dies at once, at a moment when the llm and sandbox workers both run an activity.
     * If one of them finished its activity before the kill landed, the machine comes back and dies
     * again (up to 5 times), so each kill of the round cut work in flight.
     */
    const killAllWhenBusy = async (round: string): Promise<void> => {
      for (let tries = 1; ; tries += 1) {
        const busy = { llm: identityOf('llm'), sandbox: identityOf('sandbox') };
        await waitForWorkInFlight(
          client,
          workflowId,
          (a) => a.worker === busy.llm || a.worker === busy.sandbox,
          {
            what: 'the llm and sandbox workers ran an activity at once',
            enough: (found) => new Set(found.map((a) => a.worker)).size === 2,
          },
        );
        const killed = await Promise.all(
          ROLES.map((role) =>
            killNow(workers.get(role)!, role, { label: `${round}: kill -9 the ${role} worker` }),
          ),
        );
        const cut = {
          llm: await cutByKill(client, workflowId, busy.llm),
          sandbox: await cutByKill(client, workflowId, busy.sandbox),
        };
        if ((cut.llm.length > 0 && cut.sandbox.length > 0) || tries === 5) {
          faults.push(
            ...killed.map((f) =>
              f.role === 'orchestration' ? f : { ...f, inFlight: f.role === 'llm' ? cut.llm : cut.sandbox },
            ),
          );
          return;
        }
        await startAll();
      }
    };

    // Then the whole machine dies, and the server restarts before the workers come back.
    await killAllWhenBusy('second round');
    await client.connection.close();
    faults.push({ kind: 'server-restarted', label: 'restart the Temporal dev server', at: Date.now() });
    stopDevServer(scratch);
    await sleep(1500);
    await ensureDevServer(server);
    client = await connectClient({ ...temporalSettingsFromEnv(), address: dev.address });
    await startAll();
    // And once more.
    await killAllWhenBusy('third round');
    await startAll();

    const result = (await client.workflow.getHandle(workflowId).result()) as SvgRunResult;
    for (const worker of workers.values()) worker.child.kill('SIGKILL');
    // Every kill and the restart reached work in flight, as the histories show.
    await expectFaultsHit(client, [workflowId], faults);
    await client.connection.close();
    expect(result.finished).toBe(8);
    expect(await sampleOutcomes(storedArtifacts(), result)).toEqual(reference);
    expect(await containersOfRun(stormId)).toEqual([]);
  }, 900_000);
});
