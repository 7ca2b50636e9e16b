import type { WorkerRole } from '../core/queues';
import type { SeededRandom } from '../core/teacher/random';
import { onRoleQueue, type Fault } from './fault-evidence';
import { activitiesOf, type ActivityRecord, type RunHistory } from './run-histories';

/** One disruption the drill will do to the disturbed run, and the work it waits for. */
export interface PlannedDisruption {
  action: string;
  kind: Fault['kind'];
  /** The worker role a kill is aimed at. */
  role?: WorkerRole;
  /**
   * Seconds after the disturbed run starts before which it is not done: a point drawn from the
   * seed within the time the undisturbed run had work for it.
   */
  atSeconds: number;
  /**
   * What must be running for it to be done: an activity on the role's worker (a kill), a tool
   * call in a sandbox (an engine restart); nothing but the open run for the orchestration worker
   * and the server.
   */
  waitsFor: 'role-activity' | 'tool-call' | 'open-run';
}

/** The tool calls of the agent loop: each runs in a container, so an engine restart cuts one. */
export const TOOL_CALL_ACTIVITY = 'runTool';

type Interval = [number, number];

/** The union of the intervals, sorted and without overlaps. */
function union(intervals: Interval[]): Interval[] {
  const merged: Interval[] = [];
  for (const [start, end] of [...intervals].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** When activities that `matches` ran in the run (ms since the epoch), as one union. */
export function busyIntervals(histories: RunHistory[], matches: (a: ActivityRecord) => boolean): Interval[] {
  return union(
    histories
      .flatMap(activitiesOf)
      .filter((a) => matches(a) && a.started && a.closed)
      .map((a): Interval => [a.started!.at, a.closed!.at]),
  );
}

/** The point `fraction` of the way through the intervals' total length. */
export function pointWithin(intervals: Interval[], fraction: number): number {
  const total = intervals.reduce((sum, [start, end]) => sum + (end - start), 0);
  let left = fraction * total;
  for (const [start, end] of intervals) {
    if (left <= end - start) return start + left;
    left -= end - start;
  }
  return intervals.at(-1)?.[1] ?? 0;
}

/**
 * The disruptions of a drill, each at a seeded point within the time the undisturbed run
 * (`calm`, started at `calmStart`, `calmSeconds` long) had work for it: a worker role's kill
 * within the time its activities ran, the engine restart within the time tool calls ran, the
 * orchestration kill and the server restart within the run. A role that had no work in the
 * undisturbed run (no evaluation: no serving) is left out and named in `skipped`.
 */
export function planDisruptions(
  calm: RunHistory[],
  calmStart: number,
  calmSeconds: number,
  roles: readonly WorkerRole[],
  random: SeededRandom,
): { planned: PlannedDisruption[]; skipped: string[] } {
  const whole: Interval[] = [[calmStart, calmStart + calmSeconds * 1000]];
  const candidates: Array<Omit<PlannedDisruption, 'atSeconds'> & { during: Interval[] }> = [
    ...roles.map((role) =>
      role === 'orchestration'
        ? {
            action: `kill -9 the ${role} worker`,
            kind: 'worker-killed' as const,
            role,
            waitsFor: 'open-run' as const,
            during: whole,
          }
        : {
            action: `kill -9 the ${role} worker`,
            kind: 'worker-killed' as const,
            role,
            waitsFor: 'role-activity' as const,
            during: busyIntervals(calm, (a) => onRoleQueue(role, a.taskQueue)),
          },
    ),
    {
      action: 'restart the Temporal dev server',
      kind: 'server-restarted',
      waitsFor: 'open-run',
      during: whole,
    },
    {
      action: 'restart the Docker engine',
      kind: 'containers-lost',
      waitsFor: 'tool-call',
      during: busyIntervals(calm, (a) => a.type === TOOL_CALL_ACTIVITY),
    },
  ];
  const planned: PlannedDisruption[] = [];
  const skipped: string[] = [];
  for (const { during, ...disruption } of candidates) {
    // Drawn for every candidate, so leaving one out does not move the others.
    const fraction = 0.05 + 0.75 * random.next();
    if (during.length === 0) {
      skipped.push(disruption.action);
      continue;
    }
    planned.push({
      ...disruption,
      atSeconds: Math.round((pointWithin(during, fraction) - calmStart) / 1000),
    });
  }
  planned.sort((a, b) => a.atSeconds - b.atSeconds);
  return { planned, skipped };
}
