import type { ActivityOptions } from '@temporalio/common';

/** An activity function of a `proxyActivities` proxy: callable, and with per-call options. */
interface ActivityWithOptions<A extends unknown[], R> {
  executeWithOptions(options: ActivityOptions, args: A): Promise<R>;
}

/**
 * Calls the activity with a one-line summary that the Temporal UI shows on its event in the
 * timeline (user metadata; core/activity-summary.ts writes the text). The proxy's other options
 * stay as they are: the SDK merges per-call options into them.
 */
export function callWithSummary<A extends unknown[], R>(
  activity: ActivityWithOptions<A, R>,
  summary: string,
  ...args: A
): Promise<R> {
  return activity.executeWithOptions({ summary }, args);
}
