import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { runToolSummary } from '../../core/activity-summary';
import { parseToolCall } from '../../core/agent/tool-call';
import { TaskQueues } from '../../core/queues';
import { startTeacherServer, type TeacherServer } from '../../infra/teacher-server';
import type { RolloutResult } from '../../workflows/rollout';
import { baseImageTag } from '../../infra/base-image';
import { applicationCause } from '../support/failures';
import { waitForStartedActivity } from '../support/history';
import { exampleRolloutRequest, readArtifact, readTrajectory } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const HOST = 'rollout-tests';

describe('a rollout against the offline teacher in a real container', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  beforeAll(async () => {
    teacher = await startTeacherServer();
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: HOST });
  });
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  async function start(runId: string, rolloutId: string): Promise<WorkflowHandle> {
    const request = await exampleRolloutRequest(runId, rolloutId, teacher.url, HOST);
    return workers.client.workflow.start('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${runId}-${rolloutId}`,
      args: [request],
    });
  }

  async function run(runId: string, rolloutId: string): Promise<RolloutResult> {
    return (await (await start(runId, rolloutId)).result()) as RolloutResult;
  }

  it('submits a real patch and records the whole trajectory', async () => {
    const runId = uniqueRunId('rollout');
    const handle = await start(runId, 's1');
    const result = (await handle.result()) as RolloutResult;
    expect(result.exitStatus).toBe('submitted');
    expect(result.patch?.filesChanged).toBe(1);
    const patch = await readArtifact(result.patch!);
    expect(patch).toContain('+++ b/more_itertools/more.py');
    expect(patch).not.toContain('.pyc');

    const trajectory = await readTrajectory(result.trajectory);
    expect(trajectory.exit?.status).toBe('submitted');
    expect(trajectory.turns).toHaveLength(result.turns);
    expect(trajectory.messages[0]?.role).toBe('system');
    const tools = trajectory.messages.filter((m) => m.role === 'tool');
    expect(tools.every((m) => m.content.startsWith('OBSERVATION:'))).toBe(true);
    // Every tool call got its observation; the two submits are the last calls.
    const calls = trajectory.messages.flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []) : []));
    expect(tools).toHaveLength(calls.length);
    expect(calls.slice(-2).map((c) => c.function.name)).toEqual(['submit', 'submit']);
    expect(calls.map((c) => c.function.name)).toContain('str_replace_editor');
    expect(result.promptTokens).toBeGreaterThan(0);
    expect(await containersOfRun(runId)).toEqual([]);

    // The first model call is asked with the container's create, in the same workflow task.
    const history = (await handle.fetchHistory()).events ?? [];
    const firstOf = (type: string) =>
      history.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)!
        .activityTaskScheduledEventAttributes!;
    expect(String(firstOf('agentTurn').workflowTaskCompletedEventId)).toBe(
      String(firstOf('createSandbox').workflowTaskCompletedEventId),
    );

    // The UI's timeline reads the story from each activity's summary (user metadata).
    const summaries: Record<string, string[]> = {};
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (!scheduled) continue;
      const summary = event.userMetadata?.summary;
      (summaries[scheduled.activityType?.name ?? '?'] ??= []).push(
        summary ? defaultPayloadConverter.fromPayload<string>(summary) : '(none)',
      );
    }
    expect(summaries.agentTurn).toEqual(Array.from({ length: result.turns }, (_, i) => `turn ${i + 1}`));
    // Every call the model made, in order, with its turn; the second submit only confirms the first.
    const expected = trajectory.messages
      .filter((m) => m.role === 'assistant')
      .flatMap((m, turn) =>
        (m.tool_calls ?? []).map((c) => {
          const parsed = parseToolCall(c.function.name, c.function.arguments);
          return parsed.ok ? runToolSummary(turn + 1, parsed.action) : '(malformed)';
        }),
      );
    expect(summaries.runTool).toEqual(expected.slice(0, -1));
    expect(summaries.runTool).toContainEqual(
      expect.stringMatching(/^turn \d+ · str_replace_editor \w+ more_itertools\/more\.py/),
    );
    expect(summaries.finishTrajectory).toEqual(['finish · submitted']);
  });

  it('gives the same trajectory for the same seed', async () => {
    const a = await run(uniqueRunId('same'), 's2');
    const b = await run(uniqueRunId('same'), 's2');
    const ta = await readTrajectory(a.trajectory);
    const tb = await readTrajectory(b.trajectory);
    const strip = (messages: typeof ta.messages): unknown =>
      messages.map((m) => JSON.stringify(m).replace(/call_\d+_/g, 'call_'));
    expect(strip(tb.messages)).toEqual(strip(ta.messages));
    expect(await readArtifact(b.patch!)).toBe(await readArtifact(a.patch!));
  });

  it('drops the first model call, asked beside the create, when the container cannot be made', async () => {
    // A teacher slower than the create's failure, so the call is still in flight when it fails.
    const slow = await startTeacherServer({ faults: { slowRate: 1, slowMs: 5000 } });
    try {
      const runId = uniqueRunId('rnorepo');
      const request = await exampleRolloutRequest(runId, 's4', slow.url, HOST);
      // The base image has no /repo: the create fails at once, not retryably.
      request.sandbox = { ...request.sandbox, image: baseImageTag() };
      const handle = await workers.client.workflow.start('rollout', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `${runId}-s4`,
        args: [request],
      });
      const error = await handle.result().catch((e: unknown) => e);
      expect(applicationCause(error)).toMatchObject({ type: 'InvalidInput' });
      expect(applicationCause(error).message).toMatch(/has no \/repo/);
      const events = (await handle.fetchHistory()).events ?? [];
      const turn = events.find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'agentTurn',
      );
      expect(turn, 'the first model call was asked').toBeDefined();
      const cancelled = events.find(
        (e) =>
          String(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId) === String(turn!.eventId),
      );
      expect(cancelled, 'and cancelled when the create failed').toBeDefined();
      expect(
        events.some(
          (e) =>
            e.activityTaskCompletedEventAttributes &&
            String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(turn!.eventId),
        ),
      ).toBe(false);
      expect(await containersOfRun(runId)).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('cancelled while its container is being created, leaves no container once it has ended', async () => {
    const runId = uniqueRunId('rcancel');
    const handle = await start(runId, 's3');
    // Cancel the moment a sandbox worker has picked up the create, before it can finish.
    await waitForStartedActivity(handle, 'createSandbox');
    await handle.cancel();
    await handle.result().catch(() => undefined);
    // The removal was scheduled only after the create had ended: it cannot run before the create.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = (type: string) =>
      events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
    const create = String(events[scheduled('createSandbox')]?.eventId);
    const createEnded = events.findIndex((e) =>
      [
        e.activityTaskCompletedEventAttributes,
        e.activityTaskFailedEventAttributes,
        e.activityTaskCanceledEventAttributes,
        e.activityTaskTimedOutEventAttributes,
      ].some((ended) => ended && String(ended.scheduledEventId) === create),
    );
    expect(events.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
    expect(createEnded).toBeGreaterThan(0);
    expect(scheduled('destroySandbox')).toBeGreaterThan(createEnded);
    // A create that was still running when the workflow went on must not add a container later.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await containersOfRun(runId)).toEqual([]);
  });
});
