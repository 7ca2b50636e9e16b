import { exampleRepository } from '../infra/example-repo';
import { ensureDevServer } from '../infra/temporal-server';
import { stateDir } from '../infra/paths';
import { connectClient, connectWorker, temporalSettingsFromEnv } from '../infra/temporal-connection';
import { createRoleWorkers } from '../workers/role-workers';
import { installWorkerRuntime } from '../infra/worker-runtime';
import { describeOutcome, runEnvironment, type EnvironmentOutcome } from './run-environment';
import path from 'node:path';

export interface DemoOptions {
  runId?: string;
  commit?: string;
  testCommand?: string;
}

/**
 * The main job on the embedded defaults: the dev server (started if nothing answers, and left
 * running so the UI keeps the history), orchestration and sandbox workers in this process, and
 * one prepareEnvironment run on the example repository.
 */
export async function runDemo(options: DemoOptions): Promise<EnvironmentOutcome> {
  // Ctrl-C stops the workers cleanly; the workflow stays on the server and resumes with any worker.
  installWorkerRuntime('ERROR');
  const usesOwnServer = !process.env.TEMPORAL_ADDRESS;
  if (usesOwnServer) {
    const server = await ensureDevServer({
      port: Number(process.env.SERA_TEMPORAL_PORT ?? 7233),
      uiPort: Number(process.env.SERA_TEMPORAL_UI_PORT ?? 8233),
      dbFile: path.join(stateDir(), 'temporal.db'),
      stateDir: stateDir(),
    });
    process.env.TEMPORAL_ADDRESS = server.address;
    process.env.TEMPORAL_UI_URL ??= server.uiUrl;
    console.error(
      `${server.started ? 'started' : 'using'} the Temporal dev server at ${server.address} (UI ${server.uiUrl})`,
    );
  }
  const settings = temporalSettingsFromEnv();
  const connection = await connectWorker(settings);
  const client = await connectClient(settings);
  const workers = [
    ...(await createRoleWorkers('orchestration', { connection, client, namespace: settings.namespace })),
    ...(await createRoleWorkers('sandbox', { connection, client, namespace: settings.namespace })),
  ];
  const running = Promise.all(workers.map((worker) => worker.run()));
  try {
    const example = exampleRepository();
    const outcome = await runEnvironment(client, settings, {
      runId:
        options.runId ??
        `demo-${new Date()
          .toISOString()
          .replace(/[^0-9]/g, '')
          .slice(0, 14)}`,
      repository: { path: example.path, commit: options.commit ?? example.commit },
      testCommand: options.testCommand ?? example.testCommand,
    });
    for (const line of describeOutcome(outcome)) console.log(line);
    if (usesOwnServer)
      console.log('the dev server keeps running for the UI; stop it with: npm run cli -- server stop');
    return outcome;
  } finally {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection.close();
    await client.connection.close();
  }
}
