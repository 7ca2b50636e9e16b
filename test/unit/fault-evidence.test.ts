import { describe, expect, it } from 'vitest';
import { judgeFaults, type Fault } from '../../client/fault-evidence';
import type { HistoryEvent, RunHistory } from '../../client/run-histories';

/**
 * Histories written by hand, event by event, as the server writes them: times in seconds after
 * T0, which is also when the faults below are done (at T0 + 10 s).
 */
const T0 = 1_700_000_000_000;
const KILL = T0 + 10_000;
const time = (s: number) => ({
  seconds: Math.floor((T0 + s * 1000) / 1000),
  nanos: ((s * 1000) % 1000) * 1e6,
});
const json = (value: unknown) => ({ payloads: [{ data: Buffer.from(JSON.stringify(value)) }] });
const HEARTBEAT_TIMEOUT = { message: 'activity Heartbeat timeout', timeoutFailureInfo: { timeoutType: 4 } };

/** The llm worker killed while it ran attempt 1 of wf-a's agentTurn, activity 7. */
const llmKillDuringTurn7 = (): Fault => ({
  kind: 'worker-killed',
  label: 'kill -9 the llm worker',
  at: KILL,
  role: 'llm',
  inFlight: [
    { workflowId: 'wf-a', runId: 'wf-a-run', activityId: '7', type: 'agentTurn', attempt: 1, worker: 'w' },
  ],
});

class History {
  events: HistoryEvent[] = [];
  /** Event attributes as plain objects: ids as numbers, where the server's client gives Longs. */
  at(s: number, event: Record<string, object>): number {
    const eventId = this.events.length + 1;
    this.events.push({ ...event, eventId, eventTime: time(s) } as unknown as HistoryEvent);
    return eventId;
  }
  started(s: number): this {
    this.at(s, { workflowExecutionStartedEventAttributes: { workflowType: { name: 'rollout' } } });
    return this;
  }
  workflowTask(s: number, identity: string, end: 'completed' | 'timed out' = 'completed'): this {
    const scheduledEventId = this.at(s, {
      workflowTaskScheduledEventAttributes: { taskQueue: { name: 'sera-orchestration' } },
    });
    const startedEventId = this.at(s, { workflowTaskStartedEventAttributes: { scheduledEventId, identity } });
    if (end === 'completed')
      this.at(s, { workflowTaskCompletedEventAttributes: { scheduledEventId, startedEventId } });
    else this.at(s + 1, { workflowTaskTimedOutEventAttributes: { scheduledEventId, startedEventId } });
    return this;
  }
  activity(
    id: string,
    type: string,
    queue: string,
    times: { scheduled: number; started: number; closed: number },
    attempt = 1,
    options: { input?: unknown; lastFailure?: object; failed?: object } = {},
  ): this {
    const scheduledEventId = this.at(times.scheduled, {
      activityTaskScheduledEventAttributes: {
        activityId: id,
        activityType: { name: type },
        taskQueue: { name: queue },
        ...(options.input ? { input: json(options.input) } : {}),
      },
    });
    const startedEventId = this.at(times.started, {
      activityTaskStartedEventAttributes: {
        scheduledEventId,
        attempt,
        identity: 'w@host',
        ...(options.lastFailure ? { lastFailure: options.lastFailure } : {}),
      },
    });
    if (options.failed)
      this.at(times.closed, {
        activityTaskFailedEventAttributes: { scheduledEventId, startedEventId, failure: options.failed },
      });
    else
      this.at(times.closed, { activityTaskCompletedEventAttributes: { scheduledEventId, startedEventId } });
    return this;
  }
  closed(s: number): this {
    this.at(s, { workflowExecutionCompletedEventAttributes: {} });
    return this;
  }
  run(workflowId: string): RunHistory {
    return { workflowId, runId: `${workflowId}-run`, type: 'rollout', events: this.events };
  }
}

describe('fault evidence read from histories', () => {
  it('a killed llm worker hit the model call it ran when that call ran again after the kill', () => {
    const history = new History()
      .started(0)
      .activity('7', 'agentTurn', 'sera-llm', { scheduled: 9, started: 14, closed: 15 }, 2, {
        lastFailure: HEARTBEAT_TIMEOUT,
      })
      .run('wf-a');
    const fault = llmKillDuringTurn7();
    const [verdict] = judgeFaults([fault], [history]);
    expect(verdict).toMatchObject({ label: 'kill -9 the llm worker', hit: true });
    expect(verdict!.evidence).toBe(
      'wf-a: agentTurn (activity 7) ran attempt 1 on the killed worker; attempt 2 started 4.0 s after the kill, after heartbeat timeout',
    );
  });

  it('a kill whose activity finished on the killed worker (attempt unchanged) missed', () => {
    const history = new History()
      .started(0)
      .activity('7', 'agentTurn', 'sera-llm', { scheduled: 9, started: 9.5, closed: 9.9 }, 1)
      .run('wf-a');
    const fault = llmKillDuringTurn7();
    expect(judgeFaults([fault], [history])).toEqual([
      {
        label: 'kill -9 the llm worker',
        hit: false,
        evidence: 'no activity of the killed worker was run again after the kill',
      },
    ]);
  });

  it('without what ran on the worker, a retry after a timeout on its queue is the evidence; a retry after an error is not', () => {
    const retriedAfterError = new History()
      .started(0)
      .activity('3', 'runTool', 'sera-sandbox@h1', { scheduled: 9, started: 12, closed: 13 }, 2, {
        lastFailure: { message: 'boom', applicationFailureInfo: { type: 'Error' } },
      })
      .run('wf-b');
    const otherQueue = new History()
      .started(0)
      .activity('4', 'agentTurn', 'sera-llm', { scheduled: 9, started: 12, closed: 13 }, 2, {
        lastFailure: HEARTBEAT_TIMEOUT,
      })
      .run('wf-c');
    const fault: Fault = {
      kind: 'worker-killed',
      label: 'kill the sandbox worker',
      at: KILL,
      role: 'sandbox',
    };
    expect(judgeFaults([fault], [retriedAfterError, otherQueue])[0]!.hit).toBe(false);

    const retriedAfterTimeout = new History()
      .started(0)
      .activity('3', 'runTool', 'sera-sandbox@h1', { scheduled: 9, started: 14, closed: 15 }, 2, {
        lastFailure: HEARTBEAT_TIMEOUT,
      })
      .run('wf-d');
    expect(judgeFaults([fault], [retriedAfterTimeout])[0]).toMatchObject({
      hit: true,
      evidence:
        'wf-d: runTool (activity 3) scheduled before the kill; attempt 2 started 4.0 s after it, after heartbeat timeout',
    });
    // A retry that belongs to a later kill of the same role is not this kill's evidence.
    const later: Fault = { ...fault, label: 'the second kill', at: KILL + 2000 };
    expect(judgeFaults([fault, later], [retriedAfterTimeout]).map((v) => v.hit)).toEqual([false, true]);
  });

  it('a killed orchestration worker hit a run it served when another worker carried the run on', () => {
    const served = new History().started(0).workflowTask(0, 'dead@host').workflowTask(5, 'dead@host');
    const carried = new History().started(0).workflowTask(0, 'dead@host').workflowTask(12, 'new@host');
    const fault: Fault = {
      kind: 'worker-killed',
      label: 'kill -9 the orchestration worker',
      at: KILL,
      role: 'orchestration',
      worker: 'dead@host',
    };
    expect(judgeFaults([fault], [served.run('idle')])[0]!.hit).toBe(false);
    expect(judgeFaults([fault], [carried.run('wf-e')])[0]).toEqual({
      label: 'kill -9 the orchestration worker',
      hit: true,
      evidence:
        'wf-e: workflow tasks ran on the killed worker before it; the workflow task at event 5 started 2.0 s after the kill on new@host',
    });
    // A run the killed worker never served is no evidence.
    const elsewhere = new History().started(0).workflowTask(0, 'other@host').workflowTask(12, 'new@host');
    expect(judgeFaults([fault], [elsewhere.run('wf-f')])[0]!.hit).toBe(false);
  });

  it('a server restart hit a run that was open across it and went on after it', () => {
    const endedBefore = new History().started(0).workflowTask(0, 'w').closed(5);
    const wentOn = new History().started(0).workflowTask(0, 'w').workflowTask(13, 'w');
    const fault: Fault = { kind: 'server-restarted', label: 'restart the Temporal server', at: KILL };
    expect(judgeFaults([fault], [endedBefore.run('early')])[0]).toEqual({
      label: 'restart the Temporal server',
      hit: false,
      evidence: 'no run that was open at the restart had a workflow task after it',
    });
    expect(judgeFaults([fault], [endedBefore.run('early'), wentOn.run('wf-g')])[0]).toMatchObject({
      hit: true,
      evidence:
        'wf-g: started 10.0 s before the restart; the workflow task at event 5 started 3.0 s after it',
    });
  });

  it('an engine restart (containers lost) hit a container that was made again, under its name, after it', () => {
    const name = { name: 'sera-run-x-r1' };
    const remade = new History()
      .started(0)
      .activity('1', 'createSandbox', 'sera-sandbox@h1', { scheduled: 1, started: 1, closed: 2 }, 1, {
        input: name,
      })
      .activity('2', 'runTool', 'sera-sandbox@h1', { scheduled: 9, started: 9, closed: 11 }, 1, {
        failed: {
          message: 'container sera-run-x-r1 is gone',
          applicationFailureInfo: { type: 'ContainerGone' },
        },
      })
      .activity('3', 'destroySandbox', 'sera-sandbox@h1', { scheduled: 11, started: 11, closed: 12 })
      .activity('4', 'createSandbox', 'sera-sandbox@h1', { scheduled: 12, started: 12, closed: 13 }, 1, {
        input: name,
      })
      .run('wf-h');
    // Two containers of one workflow, each made once: nothing was made again.
    const twoContainers = new History()
      .started(0)
      .activity('1', 'createSandbox', 'sera-sandbox@h1', { scheduled: 1, started: 1, closed: 2 }, 1, {
        input: { name: 'grade-1' },
      })
      .activity('2', 'createSandbox', 'sera-sandbox@h1', { scheduled: 12, started: 12, closed: 13 }, 1, {
        input: { name: 'grade-2' },
      })
      .run('wf-i');
    const fault: Fault = { kind: 'containers-lost', label: 'restart the Docker engine', at: KILL };
    expect(judgeFaults([fault], [twoContainers])[0]!.hit).toBe(false);
    expect(judgeFaults([fault], [twoContainers, remade])[0]).toEqual({
      label: 'restart the Docker engine',
      hit: true,
      evidence:
        'wf-h: container sera-run-x-r1 made 8.0 s before and made again 2.0 s after, after runTool failed: ContainerGone: container sera-run-x-r1 is gone',
    });
  });
});
