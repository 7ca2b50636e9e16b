import path from 'node:path';
import { inject } from 'vitest';
import Docker from 'dockerode';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { listManagedContainers } from '../../activities/sandbox/containers';
import type { WorkerRole } from '../../core/queues';
import { temporalSettingsFromEnv, type TemporalSettings } from '../../infra/temporal-connection';
import { startInProcessWorkers, type InProcessWorkers } from '../../workers/in-process';
import type { RoleWorkerOptions } from '../../workers/role-workers';

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

export type RunningWorkers = InProcessWorkers;

/** Real workers of the given roles, in this process, polling the test server. */
export async function startWorkers(
  roles: WorkerRole[],
  extra: Partial<Pick<RoleWorkerOptions, 'sandboxHostId' | 'docker' | 'wrapSandboxActivities'>> = {},
): Promise<RunningWorkers> {
  return startInProcessWorkers(roles, useTestServer(), extra);
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
