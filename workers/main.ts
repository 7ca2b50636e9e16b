// `npm run worker -- <role> [<role> ...]`: runs the workers of one or more roles in this process
// until SIGINT or SIGTERM, then lets running tasks finish (up to the grace time) and exits.
import { WORKER_ROLES, type WorkerRole } from '../core/queues';
import { connectClient, connectWorker, temporalSettingsFromEnv } from '../infra/temporal-connection';
import { installWorkerRuntime } from '../infra/worker-runtime';
import { reapIntervalSeconds, startPeriodicReaper } from './periodic-reaper';
import { createRoleWorkers, runWorkers } from './role-workers';

const roles = process.argv.slice(2);
if (roles.length === 0 || roles.some((role) => !WORKER_ROLES.includes(role as WorkerRole))) {
  console.error(`usage: npm run worker -- <role> [<role> ...]\nroles: ${WORKER_ROLES.join(', ')}`);
  process.exit(2);
}

installWorkerRuntime('INFO');
try {
  // Inside the try: a bad setting (a malformed SERA_PAYLOAD_KEY) is a one-line error, not a stack.
  const settings = temporalSettingsFromEnv();
  const connection = await connectWorker(settings);
  const client = await connectClient(settings);
  const workers = (
    await Promise.all(
      roles.map((role) =>
        createRoleWorkers(role as WorkerRole, { connection, client, namespace: settings.namespace }),
      ),
    )
  ).flat();
  const queues = workers.map((worker) => worker.options.taskQueue).join(', ');
  // Tests and supervisors wait for this line.
  console.log(`[worker] ready: ${roles.join(', ')} polling ${queues} on ${settings.address}`);
  const stopReaper = roles.includes('sandbox')
    ? startPeriodicReaper(client, reapIntervalSeconds())
    : () => undefined;
  await runWorkers(workers);
  stopReaper();
  await connection.close();
  await client.connection.close();
  console.log('[worker] stopped');
} catch (error) {
  console.error(`[worker] ${(error as Error).message}`);
  process.exit(1);
}
