import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerRole } from '../core/queues';
import { connectClient, connectWorker, type TemporalSettings } from '../infra/temporal-connection';
import { createRoleWorkers, type RoleWorkerOptions } from './role-workers';

export interface InProcessWorkers {
  client: Client;
  connection: NativeConnection;
  workers: Worker[];
  /** Shuts the workers down (running tasks finish first) and closes the connections. */
  stop(): Promise<void>;
}

/** Workers of the given roles running in this process, for the CLI's one-shot commands, tests and benchmarks. */
export async function startInProcessWorkers(
  roles: WorkerRole[],
  settings: TemporalSettings,
  extra: Partial<Pick<RoleWorkerOptions, 'sandboxHostId' | 'docker' | 'wrapSandboxActivities'>> = {},
): Promise<InProcessWorkers> {
  const connection = await connectWorker(settings);
  const client = await connectClient(settings);
  const workers: Worker[] = [];
  for (const role of roles) {
    workers.push(
      ...(await createRoleWorkers(role, { connection, client, namespace: settings.namespace, ...extra })),
    );
  }
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
