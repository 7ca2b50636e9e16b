import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { prepareRepoImage } from '../activities/sandbox/repo-image';
import { bugInstruction } from '../core/agent/instructions';
import { RolloutInputSchema, type RolloutRequest } from '../core/agent/rollout-input';
import { sandboxHostQueue, TaskQueues } from '../core/queues';
import { baseImageTag } from '../infra/base-image';
import { exampleRepository } from '../infra/example-repo';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { startTeacherServer, TEACHER_MODEL } from '../infra/teacher-server';
import type { RolloutResult } from '../workflows/rollout';
import { plainRollout } from './plain-rollout';
import { measureFloor } from './round-trip-floor';

export interface OverheadRow {
  way: 'temporal' | 'plain';
  rollouts: number;
  turns: number;
  wallMs: number;
  modelMs: number;
  toolMs: number;
  /** (wall − model − tools) / wall */
  overheadShare: number;
  /** The workflow's overhead by where it went (from its histories), summed over the rollouts. */
  breakdown?: OverheadBreakdown;
}

export interface OverheadBreakdown {
  /** Activity tasks waiting for a worker: scheduled to started. */
  dispatchMs: number;
  /** Between an activity's end and the next one's schedule, and before the first / after the last: workflow tasks. */
  workflowTasksMs: number;
  /** Inside activities but outside the model call and the tool call (trajectory, caches, artifacts). */
  insideActivitiesMs: number;
  /** Of that: making and removing the container (createSandbox, destroySandbox). */
  sandboxLifecycleMs: number;
  /** The client's start request and result poll: the client's wall less the history's first-to-last event. */
  clientMs: number;
  /**
   * Temporal's own cost for the same activities (bench/round-trip-floor.ts): a workflow running
   * them in the same steps, each only sleeping as long. Wall less sleep, summed over the rollouts.
   */
  floorMs?: number;
}

type HistoryEvents = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>;

/**
 * Where one rollout workflow's time went, from its history's event times. Activities can run at
 * the same time (the first model call beside the container's create): each counts only for the
 * time no activity scheduled before it already covers, so the parts add up to the wall time.
 */
function timeSplit(events: HistoryEvents): {
  wallMs: number;
  dispatchMs: number;
  activityMs: number;
  spanMs: number;
  sandboxLifecycleMs: number;
  steps: number[][];
} {
  const ms = (e: HistoryEvents[number] | undefined): number =>
    e?.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : 0;
  const scheduled = new Map<string, { from: number; type: string; task: string }>();
  const started = new Map<string, number>();
  const spans: Array<{ type: string; task: string; from: number; begun: number; end: number }> = [];
  for (const e of events) {
    const schedule = e.activityTaskScheduledEventAttributes;
    if (schedule)
      scheduled.set(String(e.eventId), {
        from: ms(e),
        type: schedule.activityType?.name ?? '',
        task: String(schedule.workflowTaskCompletedEventId),
      });
    const start = e.activityTaskStartedEventAttributes;
    if (start) started.set(String(start.scheduledEventId), ms(e));
    const end =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (end) {
      const id = String(end.scheduledEventId);
      const from = scheduled.get(id)?.from ?? ms(e);
      const { type = '', task = id } = scheduled.get(id) ?? {};
      spans.push({ type, task, from, begun: started.get(id) ?? from, end: ms(e) });
    }
  }
  // In the order they were scheduled (a stable sort keeps the history's order on equal times).
  spans.sort((x, y) => x.from - y.from);
  let covered = -Infinity;
  let sandboxLifecycleMs = 0;
  let dispatchMs = 0;
  let activityMs = 0;
  let spanMs = 0;
  // Activities one workflow task scheduled together form a step, as the floor replays them.
  const steps: number[][] = [];
  let lastTask: string | undefined;
  const after = (from: number, to: number): number => Math.max(0, to - Math.max(from, covered));
  for (const span of spans) {
    dispatchMs += after(span.from, span.begun);
    const running = after(span.begun, span.end);
    activityMs += running;
    if (['createSandbox', 'destroySandbox'].includes(span.type)) sandboxLifecycleMs += running;
    spanMs += after(span.from, span.end);
    if (span.task === lastTask) steps[steps.length - 1]?.push(Math.round(span.end - span.begun));
    else steps.push([Math.round(span.end - span.begun)]);
    lastTask = span.task;
    covered = Math.max(covered, span.end);
  }
  return {
    wallMs: ms(events[events.length - 1]) - ms(events[0]),
    dispatchMs,
    activityMs,
    spanMs,
    sandboxLifecycleMs,
    steps,
  };
}

/**
 * Orchestration overhead of a rollout: wall time minus time in model calls and in tool calls,
 * as a share of wall time, for the rollout workflow and for the plain in-process loop over the
 * same teacher and container image, interleaved rollout by rollout.
 */
export async function benchRolloutOverhead(
  connection: NativeConnection,
  client: Client,
  hostId: string,
  options: { rollouts: number; modelLatencyMs: number },
  progress: (line: string) => void,
): Promise<OverheadRow[]> {
  const teacher = await startTeacherServer({
    faults: { slowRate: options.modelLatencyMs > 0 ? 1 : 0, slowMs: options.modelLatencyMs },
  });
  const docker = new Docker();
  const example = exampleRepository();
  const image = await prepareRepoImage(docker, baseImageTag(), {
    repository: example.path,
    commit: example.commit,
  });
  const sums = {
    temporal: { turns: 0, wallMs: 0, modelMs: 0, toolMs: 0 },
    plain: { turns: 0, wallMs: 0, modelMs: 0, toolMs: 0 },
  };
  const split = {
    dispatchMs: 0,
    workflowTasksMs: 0,
    insideActivitiesMs: 0,
    sandboxLifecycleMs: 0,
    clientMs: 0,
    floorMs: 0,
  };
  const shapes: number[][][] = [];
  try {
    for (let i = 0; i < options.rollouts; i += 1) {
      const request: RolloutRequest = {
        runId: `bench-${process.pid}`,
        rolloutId: `o${i}`,
        kind: 'change',
        task: bugInstruction(13, 'windowed', 'more_itertools/more.py'),
        sandbox: { hostQueue: sandboxHostQueue(hostId), image: image.image, baseCommit: image.commit },
        model: { baseUrl: teacher.url, model: TEACHER_MODEL, seed: i },
      };
      const started = performance.now();
      const viaTemporal = (await client.workflow.execute('rollout', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-bench-rollout-${process.pid}-${i}`,
        args: [request],
      })) as RolloutResult;
      const wall = performance.now() - started;
      const events =
        (await client.workflow.getHandle(`sera-bench-rollout-${process.pid}-${i}`).fetchHistory()).events ??
        [];
      const times = timeSplit(events);
      split.dispatchMs += times.dispatchMs;
      split.workflowTasksMs += times.wallMs - times.spanMs;
      split.insideActivitiesMs += times.activityMs - viaTemporal.modelMs - viaTemporal.toolMs;
      split.sandboxLifecycleMs += times.sandboxLifecycleMs;
      split.clientMs += wall - times.wallMs;
      shapes.push(times.steps);
      sums.temporal.turns += viaTemporal.turns;
      sums.temporal.wallMs += wall;
      sums.temporal.modelMs += viaTemporal.modelMs;
      sums.temporal.toolMs += viaTemporal.toolMs;

      const plain = await plainRollout(
        docker,
        new LocalArtifactStore(artifactsDir()),
        RolloutInputSchema.parse(request),
      );
      sums.plain.turns += plain.turns;
      sums.plain.wallMs += plain.wallMs;
      sums.plain.modelMs += plain.modelMs;
      sums.plain.toolMs += plain.toolMs;
      progress(
        `rollout ${i + 1}/${options.rollouts}: ${viaTemporal.exitStatus} in ${viaTemporal.turns} turns`,
      );
    }
  } finally {
    await teacher.close();
  }
  progress(`floor: the same activities ${shapes.length} times, each only sleeping`);
  const floor = await measureFloor(connection, client, shapes);
  split.floorMs = floor.wallMs - floor.sleptMs;
  return (['temporal', 'plain'] as const).map((way) => {
    const s = sums[way];
    return {
      way,
      rollouts: options.rollouts,
      ...s,
      overheadShare: (s.wallMs - s.modelMs - s.toolMs) / s.wallMs,
      ...(way === 'temporal' ? { breakdown: split } : {}),
    };
  });
}
