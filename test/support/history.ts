import type { WorkflowHandle } from '@temporalio/client';

/**
 * For each activity type in a workflow's history, the attempt numbers its completions recorded
 * (Temporal writes ActivityTaskStarted when an attempt ends, with that attempt's number).
 */
export async function activityAttempts(handle: WorkflowHandle): Promise<Record<string, number[]>> {
  const history = await handle.fetchHistory();
  const typeBySchedule = new Map<string, string>();
  const attempts: Record<string, number[]> = {};
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeBySchedule.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeBySchedule.get(String(started.scheduledEventId)) ?? '?';
      (attempts[type] ??= []).push(started.attempt ?? 0);
    }
  }
  return attempts;
}

/**
 * Returns once a worker has picked up an activity of `type` (its pending state is STARTED).
 * Polls without a pause by default, to catch short activities while they run.
 */
export async function waitForStartedActivity(
  handle: WorkflowHandle,
  type: string,
  options: { timeoutMs?: number; pollMs?: number; detail?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    if (pending.some((a) => a.activityType?.name === type && Number(a.state) === 2)) return;
    if (Date.now() > deadline)
      throw new Error(`${type} never started${options.detail ? `:\n${options.detail()}` : ''}`);
    if (options.pollMs) await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
