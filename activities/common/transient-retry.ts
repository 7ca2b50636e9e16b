import { whileHeartbeating } from './activity-context';

/** The shape of the waits: each about twice the one before, 30 s in all. */
const WAITS_OF_30_S: readonly number[] = [1000, 2000, 4000, 8000, 15_000];

/**
 * The waits between tries of a step whose fault may pass (a shared mount that hiccups, a network
 * that drops): SERA_TRANSIENT_WAIT_SECONDS in all (default 30), inside one activity attempt,
 * heartbeating. A fault still there after them is final for the caller, which fails
 * non-retryably naming it: the count is bounded here, whatever retry policy the workflow has.
 */
export function transientWaitsMs(env: NodeJS.ProcessEnv = process.env): readonly number[] {
  const raw = env.SERA_TRANSIENT_WAIT_SECONDS;
  const seconds = raw === undefined || raw === '' ? 30 : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new Error(
      `SERA_TRANSIENT_WAIT_SECONDS=${JSON.stringify(raw)}: expected a number of seconds, 0 or more`,
    );
  if (seconds === 0) return [];
  return WAITS_OF_30_S.map((ms) => Math.round((ms * seconds) / 30));
}

/**
 * Runs `step`, and again after each wait while it fails with a transient fault. Returns the first
 * success; throws at once a failure that is not transient, or the last one when the waits are
 * used up (the caller tells the two apart with the same `isTransient`).
 */
export async function retryTransient<T>(
  step: () => Promise<T>,
  isTransient: (error: unknown) => boolean,
  waitsMs: readonly number[] = transientWaitsMs(),
): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await step();
    } catch (error) {
      const wait = waitsMs[tries - 1];
      if (!isTransient(error) || wait === undefined) throw error;
      await whileHeartbeating(() => new Promise((resolve) => setTimeout(resolve, wait)));
    }
  }
}

/** How long a schedule's waits add up to, for a failure's message ("30 s"). */
export function waitedFor(waitsMs: readonly number[]): string {
  return `${Math.round(waitsMs.reduce((sum, ms) => sum + ms, 0) / 1000)} s`;
}
