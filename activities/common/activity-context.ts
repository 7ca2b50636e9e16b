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

export function heartbeat(): void {
  activityContext()?.heartbeat();
}
