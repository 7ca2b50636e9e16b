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
