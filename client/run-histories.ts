import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
export type Failure = temporal.api.failure.v1.IFailure;

/** One run of one workflow: a run's workflow id, its run id and its events. */
export interface RunHistory {
  workflowId: string;
  runId: string;
  type: string;
  events: HistoryEvent[];
}

/** An activity as its run's history records it. Only the last attempt's start is written. */
export interface ActivityRecord {
  workflowId: string;
  runId: string;
  activityId: string;
  type: string;
  taskQueue: string;
  scheduledAt: number;
  /** The first input argument, decoded from JSON when it is JSON. */
  input?: unknown;
  started?: { at: number; attempt: number; identity: string; lastFailure?: Failure };
  closed?: { at: number; how: 'completed' | 'failed' | 'timed out' | 'canceled'; failure?: Failure };
}

/** A workflow task as its run's history records it. */
export interface WorkflowTaskRecord {
  eventId: number;
  scheduledAt: number;
  taskQueue: string;
  started?: { at: number; identity: string };
  closed?: { at: number; how: 'completed' | 'timed out' | 'failed' };
}

/** Milliseconds since the epoch of an event (its seconds may be a protobuf Long). */
export function eventMs(event: HistoryEvent): number {
  const time = event.eventTime;
  if (!time) return 0;
  const seconds = time.seconds;
  const whole =
    typeof seconds === 'number'
      ? seconds
      : seconds
        ? Number((seconds as { toString(): string }).toString())
        : 0;
  return whole * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}

const idOf = (value: unknown): string => String(value ?? '');

function decodedInput(payloads: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const data = payloads?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The histories of the given workflows and everything they started: every run of each (its
 * continue-as-new chain, from the first run) and, recursively, every child workflow's runs.
 * A workflow named without a run id is read from its first run.
 */
export async function fetchRunHistories(
  client: Client,
  roots: Array<string | { workflowId: string; runId?: string }>,
): Promise<RunHistory[]> {
  const seen = new Set<string>();
  const histories: RunHistory[] = [];
  let next = roots.map((root) => (typeof root === 'string' ? { workflowId: root } : root));
  while (next.length > 0) {
    const level = next;
    next = [];
    const fetched = await Promise.all(
      level.map(async ({ workflowId, runId }) => {
        const first = runId ?? (await firstRunId(client, workflowId));
        const key = `${workflowId}/${first}`;
        if (seen.has(key)) return undefined;
        seen.add(key);
        const history = await client.workflow.getHandle(workflowId, first).fetchHistory();
        return { workflowId, runId: first, events: history.events ?? [] };
      }),
    );
    for (const run of fetched) {
      if (!run) continue;
      const started = run.events[0]?.workflowExecutionStartedEventAttributes;
      histories.push({ ...run, type: started?.workflowType?.name ?? '?' });
      for (const event of run.events) {
        const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
        if (child?.workflowId && child.runId) next.push({ workflowId: child.workflowId, runId: child.runId });
        const newRun = event.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
        if (newRun) next.push({ workflowId: run.workflowId, runId: newRun });
      }
    }
  }
  return histories;
}

/** The first run of a workflow's continue-as-new chain, read from its latest run's start event. */
async function firstRunId(client: Client, workflowId: string): Promise<string> {
  const handle = client.workflow.getHandle(workflowId);
  const latest = await handle.describe();
  const history = await client.workflow.getHandle(workflowId, latest.runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return started?.firstExecutionRunId || latest.runId;
}

/** Every activity of a run, with its last attempt's start and how it ended. */
export function activitiesOf(run: RunHistory): ActivityRecord[] {
  const bySchedule = new Map<string, ActivityRecord>();
  for (const event of run.events) {
    const at = eventMs(event);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const input = decodedInput(scheduled.input);
      bySchedule.set(idOf(event.eventId), {
        workflowId: run.workflowId,
        runId: run.runId,
        activityId: scheduled.activityId ?? '',
        type: scheduled.activityType?.name ?? '?',
        taskQueue: scheduled.taskQueue?.name ?? '',
        scheduledAt: at,
        ...(input === undefined ? {} : { input }),
      });
      continue;
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const record = bySchedule.get(idOf(started.scheduledEventId));
      if (record)
        record.started = {
          at,
          attempt: started.attempt ?? 1,
          identity: started.identity ?? '',
          ...(started.lastFailure ? { lastFailure: started.lastFailure } : {}),
        };
      continue;
    }
    const close =
      (event.activityTaskCompletedEventAttributes && {
        scheduled: event.activityTaskCompletedEventAttributes.scheduledEventId,
        how: 'completed' as const,
        failure: undefined,
      }) ||
      (event.activityTaskFailedEventAttributes && {
        scheduled: event.activityTaskFailedEventAttributes.scheduledEventId,
        how: 'failed' as const,
        failure: event.activityTaskFailedEventAttributes.failure,
      }) ||
      (event.activityTaskTimedOutEventAttributes && {
        scheduled: event.activityTaskTimedOutEventAttributes.scheduledEventId,
        how: 'timed out' as const,
        failure: event.activityTaskTimedOutEventAttributes.failure,
      }) ||
      (event.activityTaskCanceledEventAttributes && {
        scheduled: event.activityTaskCanceledEventAttributes.scheduledEventId,
        how: 'canceled' as const,
        failure: undefined,
      });
    if (close) {
      const record = bySchedule.get(idOf(close.scheduled));
      if (record)
        record.closed = { at, how: close.how, ...(close.failure ? { failure: close.failure } : {}) };
    }
  }
  return [...bySchedule.values()];
}

/** Every workflow task of a run, with who started it and how it ended. */
export function workflowTasksOf(run: RunHistory): WorkflowTaskRecord[] {
  const bySchedule = new Map<string, WorkflowTaskRecord>();
  const byStart = new Map<string, WorkflowTaskRecord>();
  for (const event of run.events) {
    const at = eventMs(event);
    const scheduled = event.workflowTaskScheduledEventAttributes;
    if (scheduled) {
      bySchedule.set(idOf(event.eventId), {
        eventId: Number(idOf(event.eventId)),
        scheduledAt: at,
        taskQueue: scheduled.taskQueue?.name ?? '',
      });
      continue;
    }
    const started = event.workflowTaskStartedEventAttributes;
    if (started) {
      const task = bySchedule.get(idOf(started.scheduledEventId));
      if (task) {
        task.started = { at, identity: started.identity ?? '' };
        byStart.set(idOf(event.eventId), task);
      }
      continue;
    }
    const completed = event.workflowTaskCompletedEventAttributes;
    const timedOut = event.workflowTaskTimedOutEventAttributes;
    const failed = event.workflowTaskFailedEventAttributes;
    if (completed) {
      const task = byStart.get(idOf(completed.startedEventId));
      if (task) task.closed = { at, how: 'completed' };
    } else if (timedOut) {
      // A task that timed out on a sticky queue before any worker took it was never started.
      const task =
        byStart.get(idOf(timedOut.startedEventId)) ?? bySchedule.get(idOf(timedOut.scheduledEventId));
      if (task) task.closed = { at, how: 'timed out' };
    } else if (failed) {
      const task = byStart.get(idOf(failed.startedEventId));
      if (task) task.closed = { at, how: 'failed' };
    }
  }
  return [...bySchedule.values()];
}

/** When a run started and, if it has, when it closed (completed, failed, continued as new…). */
export function runSpan(run: RunHistory): { startedAt: number; closedAt?: number } {
  const startedAt = run.events[0] ? eventMs(run.events[0]) : 0;
  const last = run.events.at(-1);
  const closing =
    last &&
    (last.workflowExecutionCompletedEventAttributes ||
      last.workflowExecutionFailedEventAttributes ||
      last.workflowExecutionTimedOutEventAttributes ||
      last.workflowExecutionCanceledEventAttributes ||
      last.workflowExecutionTerminatedEventAttributes ||
      last.workflowExecutionContinuedAsNewEventAttributes);
  return closing ? { startedAt, closedAt: eventMs(last) } : { startedAt };
}

/** A failure in a few words: its type (or timeout kind) and message. */
export function describeFailure(failure: Failure | undefined): string {
  if (!failure) return 'no failure recorded';
  const timeout = failure.timeoutFailureInfo?.timeoutType;
  if (timeout !== undefined && timeout !== null) return `${TIMEOUT_NAMES[Number(timeout)] ?? 'a'} timeout`;
  const type = failure.applicationFailureInfo?.type;
  const cause = failure.cause ? `: ${describeFailure(failure.cause)}` : '';
  const message = failure.message ?? '';
  const short = message.length > 100 ? `${message.slice(0, 100)}…` : message;
  return `${type ? `${type}: ` : ''}${short}${cause}`;
}

/** True when the failure is a timeout (heartbeat, start-to-close…), as a lost worker's attempt ends. */
export function isTimeout(failure: Failure | undefined): boolean {
  return failure?.timeoutFailureInfo !== undefined && failure?.timeoutFailureInfo !== null;
}

// temporal.api.enums.v1.TimeoutType
const TIMEOUT_NAMES: Record<number, string> = {
  1: 'start-to-close',
  2: 'schedule-to-start',
  3: 'schedule-to-close',
  4: 'heartbeat',
};
