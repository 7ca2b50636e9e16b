import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { reapOrphans, workflowNotEndedOn } from '../activities/sandbox/reaper';

/** Seconds between sweeps of a sandbox worker's engine; SERA_REAP_INTERVAL_SECONDS=0 turns them off. */
export function reapIntervalSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SERA_REAP_INTERVAL_SECONDS;
  if (raw === undefined || raw === '') return 600;
  const value = Number(raw);
  // Node's timers take at most 2^31 − 1 ms; longer would fire at once, over and over.
  if (!Number.isInteger(value) || value < 0 || value > 2_000_000)
    throw new Error(
      `SERA_REAP_INTERVAL_SECONDS must be a whole number of seconds up to 2000000 (0: off), not ${JSON.stringify(raw)}`,
    );
  return value;
}

/**
 * Every interval, removes this host's containers whose workflow this worker's server reports as
 * ended. A rollout that moved off a host whose engine was down cannot remove its container
 * there; this does, once the engine answers again. A sweep that fails (engine or server away)
 * waits for the next one. Containers of workflows the server does not know are left to
 * `npm run cli -- cleanup`.
 */
export function startPeriodicReaper(client: Client, intervalSeconds: number): () => void {
  if (intervalSeconds === 0) return () => undefined;
  const docker = new Docker();
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    reapOrphans(docker, workflowNotEndedOn(client))
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
