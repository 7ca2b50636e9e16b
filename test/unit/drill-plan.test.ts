import { describe, expect, it } from 'vitest';
import { busyIntervals, planDisruptions, pointWithin } from '../../client/drill-plan';
import type { HistoryEvent, RunHistory } from '../../client/run-histories';
import { SeededRandom } from '../../core/teacher/random';

const T0 = 1_700_000_000_000;
const at = (s: number) => ({ seconds: (T0 + s * 1000) / 1000, nanos: 0 });

/** A run whose activities ran on the given queues over the given seconds after T0. */
function runWith(activities: Array<{ type: string; queue: string; from: number; to: number }>): RunHistory {
  const events: Array<Record<string, unknown>> = [
    { eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} },
  ];
  for (const [i, a] of activities.entries()) {
    const scheduled = 10 + i * 3;
    events.push(
      {
        eventId: scheduled,
        eventTime: at(a.from),
        activityTaskScheduledEventAttributes: {
          activityId: String(i),
          activityType: { name: a.type },
          taskQueue: { name: a.queue },
        },
      },
      {
        eventId: scheduled + 1,
        eventTime: at(a.from),
        activityTaskStartedEventAttributes: { scheduledEventId: scheduled, attempt: 1 },
      },
      {
        eventId: scheduled + 2,
        eventTime: at(a.to),
        activityTaskCompletedEventAttributes: { scheduledEventId: scheduled },
      },
    );
  }
  return { workflowId: 'calm', runId: 'r', type: 'specializeRepository', events: events as HistoryEvent[] };
}

describe('where the drill puts its disruptions', () => {
  it('measures a role’s busy time as the union of its activities, and finds a point along it', () => {
    const run = runWith([
      { type: 'agentTurn', queue: 'sera-llm', from: 10, to: 20 },
      { type: 'agentTurn', queue: 'sera-llm', from: 15, to: 25 },
      { type: 'agentTurn', queue: 'sera-llm', from: 40, to: 50 },
      { type: 'runTool', queue: 'sera-sandbox@h', from: 30, to: 35 },
    ]);
    const llm = busyIntervals([run], (a) => a.taskQueue === 'sera-llm');
    expect(llm).toEqual([
      [T0 + 10_000, T0 + 25_000],
      [T0 + 40_000, T0 + 50_000],
    ]);
    // 25 s of work in all: 80 % of it is 20 s in, 5 s into the second stretch.
    expect(pointWithin(llm, 0.8)).toBe(T0 + 45_000);
    expect(pointWithin(llm, 0)).toBe(T0 + 10_000);
  });

  it('puts each kill within its role’s work, and leaves out a role that had none', () => {
    const run = runWith([
      { type: 'agentTurn', queue: 'sera-llm', from: 10, to: 20 },
      { type: 'runTool', queue: 'sera-sandbox@h', from: 30, to: 35 },
      { type: 'trainStudent', queue: 'sera-gpu-train', from: 60, to: 90 },
    ]);
    const { planned, skipped } = planDisruptions(
      [run],
      T0,
      100,
      ['orchestration', 'sandbox', 'llm', 'gpu-train', 'gpu-serve'],
      new SeededRandom('drill', 1),
    );
    expect(skipped).toEqual(['kill -9 the gpu-serve worker']);
    const when = Object.fromEntries(planned.map((p) => [p.action, p.atSeconds]));
    expect(when['kill -9 the llm worker']).toBeGreaterThanOrEqual(10);
    expect(when['kill -9 the llm worker']).toBeLessThanOrEqual(20);
    expect(when['kill -9 the sandbox worker']).toBeGreaterThanOrEqual(30);
    expect(when['kill -9 the sandbox worker']).toBeLessThanOrEqual(35);
    expect(when['restart the Docker engine']).toBeGreaterThanOrEqual(30);
    expect(when['restart the Docker engine']).toBeLessThanOrEqual(35);
    expect(when['kill -9 the gpu-train worker']).toBeGreaterThanOrEqual(60);
    expect(when['kill -9 the gpu-train worker']).toBeLessThanOrEqual(90);
    expect(planned.map((p) => p.waitsFor)).toEqual(
      planned.map((p) =>
        p.action === 'restart the Docker engine'
          ? 'tool-call'
          : p.action.includes('orchestration') || p.kind === 'server-restarted'
            ? 'open-run'
            : 'role-activity',
      ),
    );
    // In order of time.
    expect(planned.map((p) => p.atSeconds)).toEqual(
      [...planned.map((p) => p.atSeconds)].sort((a, b) => a - b),
    );
  });
});
