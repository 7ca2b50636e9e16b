import type { Client } from '@temporalio/client';
import { expect } from 'vitest';
import { faultVerdicts, verdictLine, type Fault } from '../../client/fault-evidence';
import {
  cutByKill,
  waitForWorkInFlight,
  workerIdentity,
  type ActivityInFlight,
} from '../../client/work-in-flight';
import type { WorkerRole } from '../../core/queues';
import type { WorkerProcess } from './worker-process';

/**
 * Kills a worker process with SIGKILL once it runs an activity of the workflow (or of one of its
 * children), polling without a pause so a short activity is caught too, and returns the fault
 * with the activities the kill cut. A short activity may end between the look and the kill: then
 * nothing was cut, and with `replace` a new worker is started and killed the same way (up to 5
 * times); without it, the fault says nothing ran and the evidence check fails on it.
 */
export async function killWhenBusy(
  client: Client,
  workflowId: string,
  worker: WorkerProcess,
  role: WorkerRole,
  options: { label?: string; type?: string; pollMs?: number; replace?: () => Promise<WorkerProcess> } = {},
): Promise<Fault> {
  for (let tries = 1; ; tries += 1) {
    const identity = workerIdentity(worker.child.pid!);
    await waitForWorkInFlight(
      client,
      workflowId,
      (a) => a.worker === identity && (options.type === undefined || a.type === options.type),
      { what: `the ${role} worker ran ${options.type ?? 'an activity'}`, pollMs: options.pollMs },
    );
    const fault = await killNow(worker, role, { label: options.label });
    const inFlight = await cutByKill(client, workflowId, identity);
    if (inFlight.length > 0 || !options.replace || tries === 5) return { ...fault, inFlight };
    worker = await options.replace();
  }
}

/** Kills a worker process with SIGKILL now, and returns the fault (what was running, if known). */
export async function killNow(
  worker: WorkerProcess,
  role: WorkerRole,
  options: { label?: string; inFlight?: ActivityInFlight[] } = {},
): Promise<Fault & { kind: 'worker-killed' }> {
  const at = Date.now();
  worker.child.kill('SIGKILL');
  await worker.exited;
  return {
    kind: 'worker-killed',
    label: options.label ?? `kill -9 the ${role} worker`,
    at,
    role,
    worker: workerIdentity(worker.child.pid!),
    ...(options.inFlight ? { inFlight: options.inFlight } : {}),
  };
}

/**
 * Asserts that every fault hit work in flight in the workflows (and their children), printing
 * the evidence; a missed fault fails the test by its label.
 */
export async function expectFaultsHit(
  client: Client,
  workflowIds: Array<string | { workflowId: string; runId?: string }>,
  faults: Fault[],
): Promise<void> {
  const verdicts = await faultVerdicts(client, workflowIds, faults);
  console.info(verdicts.map(verdictLine).join('\n'));
  expect(verdicts.filter((v) => !v.hit).map(verdictLine), 'every fault must hit work in flight').toEqual([]);
  expect(verdicts).toHaveLength(faults.length);
}
