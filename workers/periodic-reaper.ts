import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { reapOrphans, workflowRunningOn } from '../activities/sandbox/reaper';

/** Seconds between sweeps of a sandbox worker's engine; SERA_REAP_INTERVAL_SECONDS=0 turns them off. */
export function reapIntervalSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SERA_REAP_INTERVAL_SECONDS;
  if (raw === undefined || raw === '') return 600;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(
      `SERA_REAP_INTERVAL_SECONDS must be a number of seconds (0: off), not ${JSON.stringify(raw)}`,
    );
  return value;
}

/**
 * Every interval, removes this host's containers whose workflow no longer runs. A rollout that
 * moved off a host whose engine was down cannot remove its container there; this does, once the
 * engine answers again. A sweep that fails (engine or server away) waits for the next one.
 */
export function startPeriodicReaper(client: Client, intervalSeconds: number): () => void {
  if (intervalSeconds === 0) return () => undefined;
  const docker = new Docker();
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    reapOrphans(docker, workflowRunningOn(client))
      .then(({ removed }) => {
        if (removed.length > 0)
          console.log(`[worker] removed containers of ended runs: ${removed.join(', ')}`);
      })
      .catch((error: unknown) =>
        console.warn(`[worker] container sweep skipped: ${(error as Error).message}`),
      )
      .finally(() => (sweeping = false));
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
