import path from 'node:path';
import { inject } from 'vitest';
import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection, type Worker } from '@temporalio/worker';
import { listManagedContainers } from '../../activities/sandbox/containers';
import type { WorkerRole } from '../../core/queues';
import {
  connectClient,
  connectWorker,
  temporalSettingsFromEnv,
  type TemporalSettings,
} from '../../infra/temporal-connection';
import { createRoleWorkers, type RoleWorkerOptions } from '../../workers/role-workers';

let runtimeInstalled = false;

/** Points this test process at the test server and a private artifact directory. */
export function useTestServer(): TemporalSettings {
  process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
  process.env.SERA_ARTIFACTS_DIR = path.join(inject('testStateDir'), 'artifacts');
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  return temporalSettingsFromEnv();
}

export interface RunningWorkers {
  client: Client;
  connection: NativeConnection;
  workers: Worker[];
  stop(): Promise<void>;
}

/** Real workers of the given roles, in this process, polling the test server. */
export async function startWorkers(
  roles: WorkerRole[],
  extra: Partial<Pick<RoleWorkerOptions, 'sandboxHostId' | 'wrapSandboxActivities'>> = {},
): Promise<RunningWorkers> {
  const settings = useTestServer();
  const connection = await connectWorker(settings);
  const client = await connectClient(settings);
  const workers = (
    await Promise.all(
      roles.map((role) =>
        createRoleWorkers(role, { connection, client, namespace: settings.namespace, ...extra }),
      ),
    )
  ).flat();
  const running = Promise.all(workers.map((worker) => worker.run()));
  return {
    client,
    connection,
    workers,
    async stop() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    },
  };
}

/** Names of the sandbox containers a run left on the engine. */
export async function containersOfRun(runId: string): Promise<string[]> {
  const all = await listManagedContainers(new Docker());
  return all.filter((c) => c.runId === runId).map((c) => c.name);
}

/** A run id no other test (or earlier test run) uses. */
export function uniqueRunId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
