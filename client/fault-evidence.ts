import type { Client } from '@temporalio/client';
import { isGpuQueueOf } from '../core/gpu-queues';
import { TaskQueues, type WorkerRole } from '../core/queues';
import {
  activitiesOf,
  describeFailure,
  fetchRunHistories,
  isTimeout,
  runSpan,
  workflowTasksOf,
  type ActivityRecord,
  type RunHistory,
  type WorkflowTaskRecord,
} from './run-histories';
import type { ActivityInFlight } from './work-in-flight';

/**
 * A fault a drill or a test injected, and when: a worker process killed, the Temporal server
 * restarted, or containers lost (a Docker engine restarted or stopped, a container killed).
 * `at` is the wall time (ms since the epoch) just before it was done.
 */
export type Fault =
  | {
      kind: 'worker-killed';
      label: string;
      at: number;
      role: WorkerRole;
      /** The killed process's worker identity (`pid@host`), when known. */
      worker?: string;
      /** What describe() showed running on that worker just before the kill. */
      inFlight?: ActivityInFlight[];
    }
  | { kind: 'server-restarted'; label: string; at: number }
  | { kind: 'containers-lost'; label: string; at: number };

/** Whether a fault hit work in flight, and the history events that show it (or why not). */
export interface FaultVerdict {
  label: string;
  hit: boolean;
  evidence: string;
}

const QUEUE_OF_ROLE: Record<WorkerRole, string> = {
  orchestration: TaskQueues.orchestration,
  sandbox: TaskQueues.sandbox,
  llm: TaskQueues.llm,
  'gpu-train': TaskQueues.gpuTrain,
  'gpu-serve': TaskQueues.gpuServe,
};

/**
 * A role's queue, or for the sandbox role also a host's own queue (`sera-sandbox@host`), or for
 * the GPU roles every size-class queue (`sera-gpu-train-2gpu`).
 */
export function onRoleQueue(role: WorkerRole, queue: string): boolean {
  const base = QUEUE_OF_ROLE[role];
  if (role === 'gpu-train' || role === 'gpu-serve') return isGpuQueueOf(base, queue);
  return queue === base || (role === 'sandbox' && queue.startsWith(`${base}@`));
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * A killed activity worker: an activity that ran on it when it died and whose later attempt
 * started after the kill; or, read from the histories alone, an activity scheduled before the
 * kill whose later attempt started after it because the one before timed out (a dead worker's
 * attempt can only time out). `until` bounds the search: the next kill of the same role.
 */
function killedActivityWorker(
  fault: Extract<Fault, { kind: 'worker-killed' }>,
  activities: ActivityRecord[],
  until: number,
): FaultVerdict | undefined {
  const label = fault.label;
  for (const seen of fault.inFlight ?? []) {
    const record = activities.find(
      (a) => a.workflowId === seen.workflowId && a.runId === seen.runId && a.activityId === seen.activityId,
    );
    const started = record?.started;
    if (record && started && started.attempt > seen.attempt && started.at >= fault.at)
      return {
        label,
        hit: true,
        evidence: `${record.workflowId}: ${record.type} (activity ${record.activityId}) ran attempt ${seen.attempt} on the killed worker; attempt ${started.attempt} started ${seconds(started.at - fault.at)} after the kill, after ${describeFailure(started.lastFailure)}`,
      };
  }
  const retried = activities.find(
    (a) =>
      onRoleQueue(fault.role, a.taskQueue) &&
      a.scheduledAt < fault.at &&
      a.started !== undefined &&
      a.started.attempt > 1 &&
      a.started.at >= fault.at &&
      a.started.at < until &&
      isTimeout(a.started.lastFailure),
  );
  if (retried?.started)
    return {
      label,
      hit: true,
      evidence: `${retried.workflowId}: ${retried.type} (activity ${retried.activityId}) scheduled before the kill; attempt ${retried.started.attempt} started ${seconds(retried.started.at - fault.at)} after it, after ${describeFailure(retried.started.lastFailure)}`,
    };
  return undefined;
}

/**
 * A killed orchestration worker: a run it had been serving (workflow tasks it started before
 * the kill) whose next workflow task another worker started after the kill, replaying the run
 * from its history; a run whose task timed out on the dead worker first, else the earliest.
 * Without the worker's identity: a run with workflow tasks on both sides of the kill.
 */
function killedOrchestrationWorker(
  fault: Extract<Fault, { kind: 'worker-killed' }>,
  histories: RunHistory[],
  until: number,
): FaultVerdict | undefined {
  const carried = histories.flatMap((run) => {
    const tasks = workflowTasksOf(run);
    const started = tasks.filter((t) => t.started);
    const servedByKilled = started.some(
      (t) => t.started!.at < fault.at && (fault.worker === undefined || t.started!.identity === fault.worker),
    );
    const next = started.find(
      (t) => t.started!.at >= fault.at && t.started!.at < until && t.started!.identity !== fault.worker,
    );
    if (!servedByKilled || !next) return [];
    // A task that timed out on the dead worker (or its sticky queue) before the run moved on.
    const timedOut = tasks.find(
      (t) => t.closed?.how === 'timed out' && t.closed.at >= fault.at && t.closed.at <= next.started!.at,
    );
    return [{ run, next, timedOut }];
  });
  carried.sort(
    (a, b) => Number(!a.timedOut) - Number(!b.timedOut) || a.next.started!.at - b.next.started!.at,
  );
  const best = carried[0];
  if (!best) return undefined;
  const { run, next, timedOut } = best;
  return {
    label: fault.label,
    hit: true,
    evidence: `${run.workflowId}: workflow tasks ran on the killed worker before it; the workflow task at event ${next.eventId} started ${seconds(next.started!.at - fault.at)} after the kill on ${next.started!.identity}${timedOut ? `, after the one at event ${timedOut.eventId} timed out` : ''}`,
  };
}

/**
 * A restarted server: a run open across the restart that went on. The first workflow task after
 * the restart, over every such run, is the evidence.
 */
function restartedServer(fault: Fault, histories: RunHistory[]): FaultVerdict | undefined {
  let first: { run: RunHistory; startedAt: number; task: WorkflowTaskRecord } | undefined;
  for (const run of histories) {
    const span = runSpan(run);
    if (span.startedAt >= fault.at || (span.closedAt !== undefined && span.closedAt < fault.at)) continue;
    const task = workflowTasksOf(run).find((t) => t.started && t.started.at >= fault.at);
    if (task && (!first || task.started!.at < first.task.started!.at))
      first = { run, startedAt: span.startedAt, task };
  }
  if (!first) return undefined;
  return {
    label: fault.label,
    hit: true,
    evidence: `${first.run.workflowId}: started ${seconds(fault.at - first.startedAt)} before the restart; the workflow task at event ${first.task.eventId} started ${seconds(first.task.started!.at - fault.at)} after it`,
  };
}

const containerNameOf = (record: ActivityRecord): string | undefined => {
  const input = record.input as { name?: unknown } | undefined;
  return typeof input?.name === 'string' ? input.name : undefined;
};

/**
 * Lost containers (an engine restarted or stopped, a container killed): a container made before
 * the fault and made again, under the same name, after it (a rollout recreating its sandbox, or
 * moving to another host).
 */
function lostContainers(fault: Fault, activities: ActivityRecord[]): FaultVerdict | undefined {
  const creates = activities.filter((a) => a.type === 'createSandbox' && containerNameOf(a));
  for (const made of creates) {
    if (made.closed?.how !== 'completed' || made.closed.at >= fault.at) continue;
    const again = creates.find(
      (a) => containerNameOf(a) === containerNameOf(made) && a.scheduledAt >= fault.at,
    );
    if (!again) continue;
    // What the workflow met in between: the failure that sent it to make the container again.
    const cause = activities
      .filter(
        (a) =>
          a.workflowId === again.workflowId &&
          a.closed &&
          a.closed.how !== 'completed' &&
          a.closed.at >= fault.at &&
          a.closed.at <= again.scheduledAt,
      )
      .at(-1);
    return {
      label: fault.label,
      hit: true,
      evidence: `${again.workflowId}: container ${containerNameOf(again)} made ${seconds(fault.at - made.closed.at)} before and made again ${seconds(again.scheduledAt - fault.at)} after${cause ? `, after ${cause.type} ${cause.closed!.how}: ${describeFailure(cause.closed!.failure)}` : ''}`,
    };
  }
  return undefined;
}

const WHY_MISSED: Record<Fault['kind'] | 'orchestration-killed', string> = {
  'worker-killed': 'no activity of the killed worker was run again after the kill',
  'orchestration-killed':
    'no run the killed worker served had a workflow task on another worker after the kill',
  'server-restarted': 'no run that was open at the restart had a workflow task after it',
  'containers-lost': 'no container made before it was made again after it',
};

/**
 * Judges each fault against the histories of the run it disturbed: hit, with the events that
 * show it reached work in flight, or missed. Pure: the histories come from fetchRunHistories.
 */
export function judgeFaults(faults: Fault[], histories: RunHistory[]): FaultVerdict[] {
  const activities = histories.flatMap(activitiesOf);
  return faults.map((fault) => {
    let verdict: FaultVerdict | undefined;
    if (fault.kind === 'worker-killed') {
      const later = faults
        .filter((f) => f.kind === 'worker-killed' && f.role === fault.role && f.at > fault.at)
        .map((f) => f.at);
      const until = Math.min(Infinity, ...later);
      verdict =
        fault.role === 'orchestration'
          ? killedOrchestrationWorker(fault, histories, until)
          : killedActivityWorker(fault, activities, until);
      if (!verdict && fault.inFlight?.length === 0)
        return { label: fault.label, hit: false, evidence: 'nothing ran on the worker when it was killed' };
    } else if (fault.kind === 'server-restarted') verdict = restartedServer(fault, histories);
    else verdict = lostContainers(fault, activities);
    const why =
      fault.kind === 'worker-killed' && fault.role === 'orchestration' ? 'orchestration-killed' : fault.kind;
    return verdict ?? { label: fault.label, hit: false, evidence: WHY_MISSED[why] };
  });
}

/** Reads the histories of the runs (and all their children) and judges the faults. */
export async function faultVerdicts(
  client: Client,
  workflowIds: Array<string | { workflowId: string; runId?: string }>,
  faults: Fault[],
): Promise<FaultVerdict[]> {
  return judgeFaults(faults, await fetchRunHistories(client, workflowIds));
}

/** One line per verdict, as the drill prints it. */
export function verdictLine(verdict: FaultVerdict): string {
  return `${verdict.hit ? 'hit' : 'MISSED'}: ${verdict.label}: ${verdict.evidence}`;
}
