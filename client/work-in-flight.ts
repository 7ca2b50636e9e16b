import os from 'node:os';
import type { Client } from '@temporalio/client';

/** An activity a worker is running right now, as describe() shows it. */
export interface ActivityInFlight {
  workflowId: string;
  runId: string;
  activityId: string;
  type: string;
  attempt: number;
  /** The identity of the worker running this attempt. */
  worker: string;
}

export interface WorkInFlight {
  /** Whether the root workflow is still running. */
  open: boolean;
  activities: ActivityInFlight[];
}

// temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
const STARTED = 2;

/**
 * The identity a worker process gives itself (the SDK's default, `pid@host`); our workers run
 * on this machine, so a worker process's pid names it in the history and in describe().
 */
export function workerIdentity(pid: number): string {
  return `${pid}@${os.hostname()}`;
}

/**
 * The activities running now in a workflow and the children it is waiting on, recursively (open
 * workflows only: a closed one runs nothing). A workflow that cannot be described (the server is
 * restarting, a child has just closed) is passed over.
 */
export async function workInFlight(client: Client, workflowId: string): Promise<WorkInFlight> {
  const root = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => undefined);
  if (!root) return { open: true, activities: [] };
  if (root.status.name !== 'RUNNING') return { open: false, activities: [] };
  const activities: ActivityInFlight[] = [];
  let level = [root];
  while (level.length > 0) {
    const children: string[] = [];
    for (const described of level) {
      for (const pending of described.raw.pendingActivities ?? []) {
        if (Number(pending.state) !== STARTED) continue;
        activities.push({
          workflowId: described.workflowId,
          runId: described.runId,
          activityId: pending.activityId ?? '',
          type: pending.activityType?.name ?? '?',
          attempt: pending.attempt ?? 1,
          worker: pending.lastWorkerIdentity ?? '',
        });
      }
      for (const child of described.raw.pendingChildren ?? [])
        if (child.workflowId) children.push(child.workflowId);
    }
    const next = await Promise.all(
      children.map((id) =>
        client.workflow
          .getHandle(id)
          .describe()
          .catch(() => undefined),
      ),
    );
    level = next.filter((d): d is NonNullable<typeof d> => d !== undefined && d.status.name === 'RUNNING');
  }
  return { open: true, activities };
}

/**
 * Polls until activities that `matches` run in the workflow or its children (at least one, or
 * what `enough` asks for), and returns them. Fails, saying what it waited for, when the workflow
 * closes first or `timeoutMs` passes. Polls without a pause unless `pollMs` is given, to catch
 * short activities.
 */
export async function waitForWorkInFlight(
  client: Client,
  workflowId: string,
  matches: (activity: ActivityInFlight) => boolean,
  options: {
    what: string;
    enough?: (found: ActivityInFlight[]) => boolean;
    timeoutMs?: number;
    pollMs?: number;
  },
): Promise<ActivityInFlight[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const enough = options.enough ?? ((found: ActivityInFlight[]) => found.length > 0);
  for (;;) {
    const now = await workInFlight(client, workflowId);
    const found = now.activities.filter(matches);
    if (enough(found)) return found;
    if (!now.open) throw new Error(`${workflowId} closed before ${options.what}`);
    if (Date.now() > deadline) throw new Error(`${workflowId}: ${options.what} did not happen in time`);
    if (options.pollMs) await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

/**
 * What a kill cut: the activities of the workflow (and its children) still waiting on the killed
 * worker. A dead worker finishes nothing, so an activity it held just after the kill was running
 * when the kill landed; one it finished a moment before is gone from the list. Read right after
 * the kill, well within the heartbeat timeout that would hand the activity to another worker.
 */
export async function cutByKill(
  client: Client,
  workflowId: string,
  worker: string,
): Promise<ActivityInFlight[]> {
  return (await workInFlight(client, workflowId)).activities.filter((a) => a.worker === worker);
}
