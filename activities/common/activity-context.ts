import { Context } from '@temporalio/activity';

/**
 * The activity context when running as an activity, undefined otherwise (the benchmark's plain
 * loop calls the same functions directly, without Temporal).
 */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The last details each running activity sent, so a plain tick does not wipe them. */
const lastDetails = new WeakMap<Context, unknown>();

/**
 * Heartbeats the current activity, if any. Without details it repeats the last details sent
 * through here (an image build's latest line), since Temporal keeps only the latest heartbeat.
 */
export function heartbeat(details?: unknown): void {
  const ctx = activityContext();
  if (!ctx) return;
  if (details !== undefined) lastDetails.set(ctx, details);
  ctx.heartbeat(lastDetails.get(ctx));
}

/** How often a step that reports nothing of its own heartbeats: well inside any heartbeat timeout. */
export const HEARTBEAT_EVERY_MS = 1000;

/**
 * Runs a step that may outlast the heartbeat timeout without saying anything (an archive
 * transfer, a clone, a wait before a retry), heartbeating while it runs. The ticks stop with the
 * process, so a dead worker is still noticed within the timeout. Outside an activity it only runs.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, everyMs = HEARTBEAT_EVERY_MS): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return work();
  heartbeat();
  const ticker = setInterval(heartbeat, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(ticker);
  }
}
