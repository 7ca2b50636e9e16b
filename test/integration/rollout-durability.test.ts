import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import {
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { RolloutRequest } from '../../core/agent/rollout-input';
import type { Trajectory } from '../../core/agent/trajectory';
import { containerName } from '../../core/names';
import { TaskQueues } from '../../core/queues';
import { startTeacherServer, type TeacherServer } from '../../infra/teacher-server';
import type { RolloutProgress, RolloutResult } from '../../workflows/rollout';
import type { Fault } from '../../client/fault-evidence';
import { expectFaultsHit, killWhenBusy } from '../support/fault-evidence';
import { activityAttempts } from '../support/history';
import { exampleRolloutRequest, readArtifact, readTrajectory } from '../support/rollout';
import {
  containersOfRun,
  startWorkers,
  uniqueRunId,
  useTestServer,
  type RunningWorkers,
} from '../support/temporal';
import { startWorkerProcess, workerProcessEnv, type WorkerProcess } from '../support/worker-process';

const docker = new Docker();

/** The conversation without the ids the server makes up per request. */
function conversation(t: Trajectory): string[] {
  return t.messages.map((m) => JSON.stringify(m).replace(/call_\d+_/g, 'call_'));
}

function turnNumbers(t: Trajectory): number[] {
  return t.turns.map((turn) => turn.turn);
}

async function waitForProgress(
  handle: WorkflowHandle,
  until: (p: RolloutProgress) => boolean,
): Promise<RolloutProgress> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const progress = await handle.query<RolloutProgress>('progress').catch(() => undefined);
    if (progress && until(progress)) return progress;
    if (Date.now() > deadline)
      throw new Error(`rollout never reached the expected point: ${JSON.stringify(progress)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('rollouts under faults', () => {
  let reference: { trajectory: Trajectory; patch: string };
  let clean: TeacherServer;
  let orchestration: RunningWorkers;
  const HOST = 'durability-tests';

  beforeAll(async () => {
    clean = await startTeacherServer();
    orchestration = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: HOST });
    const request = await exampleRolloutRequest(uniqueRunId('ref'), 'ref', clean.url, HOST);
    const result = (await orchestration.client.workflow.execute('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${request.runId}-ref`,
      args: [request],
    })) as RolloutResult;
    expect(result.exitStatus).toBe('submitted');
    reference = {
      trajectory: await readTrajectory(result.trajectory),
      patch: await readArtifact(result.patch!),
    };
  });
  afterAll(async () => {
    await orchestration?.stop();
    await clean?.close();
  });

  async function start(request: RolloutRequest): Promise<WorkflowHandleWithFirstExecutionRunId> {
    return orchestration.client.workflow.start('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${request.runId}-${request.rolloutId}`,
      args: [request],
    });
  }

  it('finishes through 429s, 500s and garbled tool calls, with no turn run twice', async () => {
    const faulty = await startTeacherServer({
      faults: { rate429: 0.25, rate500: 0.2, garbageRate: 0.25, retryAfterSeconds: 1 },
      faultSeed: 10,
    });
    try {
      const runId = uniqueRunId('faults');
      const handle = await start(await exampleRolloutRequest(runId, 'f1', faulty.url, HOST));
      const result = (await handle.result()) as RolloutResult;
      expect(result.exitStatus).toBe('submitted');
      expect(faulty.counts.rate_limited).toBeGreaterThan(0);
      expect(faulty.counts.server_error).toBeGreaterThan(0);
      expect(faulty.counts.garbage).toBeGreaterThan(0);
      const trajectory = await readTrajectory(result.trajectory);
      const turns = turnNumbers(trajectory);
      expect(turns).toEqual(turns.map((_, i) => i + 1));
      // A garbled call was asked again (SWE-agent's requery) and never reached the trajectory.
      const problems = trajectory.messages.filter(
        (m) => m.role === 'tool' && m.content.includes('are not valid JSON'),
      );
      expect(problems).toEqual([]);
      // Each kept turn counts the garbled replies it asked past; a garbled reply whose attempt then
      // met a 429 or 500 went with that attempt (Temporal retried the whole turn).
      const requeried = trajectory.turns.reduce((sum, t) => sum + (t.retried?.malformed ?? 0), 0);
      expect(requeried).toBeGreaterThan(0);
      expect(requeried).toBeLessThanOrEqual(faulty.counts.garbage);
      // So the conversation is the undisturbed one, message for message.
      expect(conversation(trajectory)).toEqual(conversation(reference.trajectory));
      // Rate limits and server errors were retried by Temporal, never shown to the model.
      const attempts = await activityAttempts(handle);
      expect(Math.max(...(attempts.agentTurn ?? []))).toBeGreaterThan(1);
      expect(await readArtifact(result.patch!)).toBe(reference.patch);
    } finally {
      await faulty.close();
    }
  });

  it('with requeries off, ends at the first garbled call with exit_format naming the cause', async () => {
    const faulty = await startTeacherServer({ faults: { garbageRate: 0.25 }, faultSeed: 10 });
    try {
      const runId = uniqueRunId('garbled');
      const request = await exampleRolloutRequest(runId, 'g1', faulty.url, HOST, {
        limits: { formatRequeries: 0 },
      });
      const result = (await (await start(request)).result()) as RolloutResult;
      expect(faulty.counts.garbage).toBe(1);
      expect(result.exitStatus).toBe('exit_format');
      expect(result.detail).toBe('tool call that does not parse (malformed) after 0 retries');
      const trajectory = await readTrajectory(result.trajectory);
      // The garbled reply never joined the conversation.
      expect(trajectory.messages.filter((m) => m.role === 'assistant')).toHaveLength(
        trajectory.turns.length - 1,
      );
    } finally {
      await faulty.close();
    }
  });

  it('fails at once, with the server’s message, when the model does not exist', async () => {
    const runId = uniqueRunId('nomodel');
    const request = await exampleRolloutRequest(runId, 'm1', clean.url, HOST);
    const handle = await start({ ...request, model: { ...request.model, model: 'no-such-model' } });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause.type).toBe('ModelNotFound');
    expect(cause.message).toMatch(/no-such-model.*does not exist/);
    // One attempt, not retried.
    expect((await activityAttempts(handle)).agentTurn).toEqual([1]);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('replaces a container that dies mid-rollout with one at the last diff, and goes on', async () => {
    const slow = await startTeacherServer({ faults: { slowRate: 1, slowMs: 1500 } });
    try {
      const runId = uniqueRunId('dies');
      const handle = await start(await exampleRolloutRequest(runId, 'd1', slow.url, HOST));
      // Kill it once the edit is made and the model is thinking about the next step.
      // Turn 5's model call is under way: the next tool call (the diff review) meets a dead container.
      await waitForProgress(handle, (p) => p.status === 'turn 5: model');
      const killed: Fault = {
        kind: 'containers-lost',
        label: "kill the rollout's container",
        at: Date.now(),
      };
      await docker.getContainer(containerName(runId, 'd1')).kill();
      const result = (await handle.result()) as RolloutResult;
      expect(result.exitStatus).toBe('submitted');
      expect(result.recoveries).toBe(1);
      // The history shows the container made again after the kill.
      await expectFaultsHit(orchestration.client, [handle.workflowId], [killed]);
      expect(await readArtifact(result.patch!)).toBe(reference.patch);
      expect(conversation(await readTrajectory(result.trajectory))).toEqual(
        conversation(reference.trajectory),
      );
      expect(await containersOfRun(runId)).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('continues as new when the history grows, and the trajectory is unchanged', async () => {
    const runId = uniqueRunId('can');
    const request = await exampleRolloutRequest(runId, 'c1', clean.url, HOST, {
      historyEventsBeforeContinue: 50,
    });
    const handle = await start(request);
    const result = (await handle.result()) as RolloutResult;
    expect(result.exitStatus).toBe('submitted');
    const first = await orchestration.client.workflow
      .getHandle(handle.workflowId, handle.firstExecutionRunId)
      .describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect(conversation(await readTrajectory(result.trajectory))).toEqual(conversation(reference.trajectory));
  });
});

describe('rollout workers killed mid-rollout', () => {
  const processes: WorkerProcess[] = [];
  let orchestration: RunningWorkers;
  let teacher: TeacherServer;
  beforeAll(async () => {
    teacher = await startTeacherServer({ faults: { slowRate: 1, slowMs: 1500 } });
    orchestration = await startWorkers(['orchestration']);
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await orchestration?.stop();
    await teacher?.close();
  });

  it('resume at the same turn on new workers, not from the start', async () => {
    useTestServer();
    const hostId = uniqueRunId('kill-host');
    const env = workerProcessEnv(hostId);
    const spawn = async (role: string): Promise<WorkerProcess> => {
      const worker = await startWorkerProcess([role], env);
      processes.push(worker);
      return worker;
    };
    let llm = await spawn('llm');
    let sandbox = await spawn('sandbox');

    const runId = uniqueRunId('killed');
    const request = await exampleRolloutRequest(runId, 'k1', teacher.url, hostId);
    const handle = await orchestration.client.workflow.start('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${runId}-k1`,
      args: [request],
    });

    // The llm worker dies while the model answers turn 2; the sandbox worker while it runs the
    // tool call of turn 4 (or a later one).
    const client = orchestration.client;
    await waitForProgress(handle, (p) => p.status === 'turn 2: model');
    const faults = [
      await killWhenBusy(client, handle.workflowId, llm, 'llm', {
        type: 'agentTurn',
        replace: () => spawn('llm'),
      }),
    ];
    llm = await spawn('llm');
    await waitForProgress(handle, (p) => p.status === 'turn 4: model');
    faults.push(
      await killWhenBusy(client, handle.workflowId, sandbox, 'sandbox', {
        type: 'runTool',
        replace: () => spawn('sandbox'),
      }),
    );
    sandbox = await spawn('sandbox');

    const result = (await handle.result()) as RolloutResult;
    expect(result.exitStatus).toBe('submitted');
    const trajectory = await readTrajectory(result.trajectory);
    const turns = turnNumbers(trajectory);
    expect(turns).toEqual(turns.map((_, i) => i + 1));
    // The model call that was cut off was retried, not the rollout.
    const attempts = await activityAttempts(handle);
    expect(Math.max(...(attempts.agentTurn ?? []))).toBeGreaterThanOrEqual(2);
    expect(attempts.createSandbox).toEqual([1]);
    const edits = trajectory.messages.flatMap((m) =>
      m.role === 'assistant'
        ? (m.tool_calls ?? []).filter((c) => c.function.arguments.includes('"str_replace"'))
        : [],
    );
    expect(edits).toHaveLength(1);
    expect(await containersOfRun(runId)).toEqual([]);
    // Each kill cut an activity in flight, which ran again on the new worker.
    await expectFaultsHit(client, [handle.workflowId], faults);
  });
});
