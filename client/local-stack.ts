import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { WorkerRole } from '../core/queues';
import { stateDir } from '../infra/paths';
import { connectClient, temporalSettingsFromEnv, type TemporalSettings } from '../infra/temporal-connection';
import { ensureDevServer } from '../infra/temporal-server';
import { installWorkerRuntime } from '../infra/worker-runtime';
import { ensureWorkflowBundle } from '../infra/workflow-bundle';
import { startInProcessWorkers } from '../workers/in-process';

export interface LocalStack {
  client: Client;
  settings: TemporalSettings;
  /** True when it uses the embedded dev server (and may tell the user how to stop it). */
  embeddedServer: boolean;
  stop(): Promise<void>;
}

/**
 * What the CLI's one-shot commands run on: the embedded dev server (unless TEMPORAL_ADDRESS
 * points elsewhere) and workers of the given roles in this process.
 */
export async function startLocalStack(roles: WorkerRole[]): Promise<LocalStack> {
  // Ctrl-C stops the workers cleanly; the workflow stays on the server and resumes with any worker.
  installWorkerRuntime('ERROR');
  const embeddedServer = !process.env.TEMPORAL_ADDRESS;
  if (embeddedServer) {
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
  // One-shot commands rebuild a stale bundle themselves; long-running workers refuse one.
  if (roles.includes('orchestration')) await ensureWorkflowBundle();
  const settings = temporalSettingsFromEnv();
  const local = await startInProcessWorkers(roles, settings);
  return { client: local.client, settings, embeddedServer, stop: local.stop };
}

/** Every worker role: what a one-shot command needs to run the whole lifecycle here. */
export const ALL_ROLES: WorkerRole[] = ['orchestration', 'sandbox', 'llm', 'gpu-train', 'gpu-serve'];

/**
 * Runs `act` with a Temporal client: with `local`, against workers of `roles` started in this
 * process (and the embedded dev server when none is configured); otherwise against the
 * configured server, whose workers run elsewhere. Stops or closes what it opened.
 */
export async function withTemporal<T>(
  local: boolean | undefined,
  roles: WorkerRole[],
  act: (client: Client, settings: TemporalSettings) => Promise<T>,
): Promise<T> {
  const stack = local ? await startLocalStack(roles) : undefined;
  const settings = stack?.settings ?? temporalSettingsFromEnv();
  const client = stack?.client ?? (await connectClient(settings));
  try {
    return await act(client, settings);
  } finally {
    if (stack) await stack.stop();
    else await client.connection.close();
  }
}
