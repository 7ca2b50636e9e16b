import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { ApplicationFailure } from '@temporalio/common';
import { createAgentToolActivities } from '../../activities/agent/activities';
import { createSandbox, destroySandbox, type CreateSandboxInput } from '../../activities/sandbox/containers';
import { claimContainer } from '../../activities/sandbox/execution-owner';
import { readSandboxFile, writeSandboxFile } from '../../activities/sandbox/files';
import { prepareRepoImage, type RepoImage } from '../../activities/sandbox/repo-image';
import { containerName } from '../../core/names';
import { TaskQueues } from '../../core/queues';
import { baseImageTag } from '../../infra/base-image';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, type TeacherServer } from '../../infra/teacher-server';
import type { RolloutProgress, RolloutResult } from '../../workflows/rollout';
import { exampleRolloutRequest, readArtifact, storedArtifacts } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const docker = new Docker();
const HOST = 'stale-container-tests';
let image: RepoImage;
let workers: RunningWorkers;
let teacher: TeacherServer;
const made: string[] = [];

beforeAll(async () => {
  // Workers first: they point this process at the test server and its artifact folder.
  workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: HOST });
  // Each model call takes half a second, so the test can reset the rollout while it runs.
  teacher = await startTeacherServer({ faults: { slowRate: 1, slowMs: 500 } });
  const example = exampleRepository();
  image = await prepareRepoImage(docker, baseImageTag(), {
    repository: example.path,
    commit: example.commit,
  });
});

afterAll(async () => {
  for (const name of made) await destroySandbox(docker, name);
  await workers?.stop();
  await teacher?.close();
});

const idOf = async (name: string): Promise<string | undefined> =>
  docker
    .getContainer(name)
    .inspect()
    .then((info) => info.Id)
    .catch(() => undefined);

describe('a container belongs to the workflow run that made it', () => {
  it('is adopted by a retry of that run, and replaced for any other run', async () => {
    const name = `sera-test-${uniqueRunId('owner')}`;
    made.push(name);
    const input = (execution: string): CreateSandboxInput => ({
      name,
      image: image.image,
      baseCommit: image.commit,
      runId: 'stale-container-tests',
      workflowId: 'test-no-workflow',
      limits: { cpus: 1, memoryMb: 512, pids: 256 },
      execution,
    });
    const first = await createSandbox(docker, input('run-a'));
    await writeSandboxFile(docker, name, 'left-by-a.txt', 'a\n');

    // A retried attempt of run A's create gets A's container back, files and all.
    const retried = await createSandbox(docker, input('run-a'));
    expect(retried.id).toBe(first.id);
    expect(await readSandboxFile(docker, name, 'left-by-a.txt')).toBe('a\n');

    // Run B (a reset, a rerun of the id) gets a fresh container, and A's is gone.
    const fresh = await createSandbox(docker, input('run-b'));
    expect(fresh.id).not.toBe(first.id);
    expect(await idOf(first.id)).toBeUndefined();
    expect(await readSandboxFile(docker, name, 'left-by-a.txt')).toBeUndefined();

    // A tool call of a run that neither made it nor continued from its last user is refused.
    const stale = await claimContainer(
      docker,
      name,
      { workflowId: 'w', runId: 'run-c' },
      async () => undefined,
    )
      .then(() => undefined)
      .catch((error: unknown) => error);
    expect(stale).toBeInstanceOf(ApplicationFailure);
    expect((stale as ApplicationFailure).type).toBe('ContainerGone');
    // One that continued as new from B takes it over; then B, whose turn has passed, may not.
    await claimContainer(docker, name, { workflowId: 'w', runId: 'run-c' }, async () => 'run-b');
    await expect(
      claimContainer(docker, name, { workflowId: 'w', runId: 'run-b' }, async () => undefined),
    ).rejects.toThrow(/last used by workflow run run-c/);
  });

  it('hands a recorded tool result only to the same action at the same place', async () => {
    const name = `sera-test-${uniqueRunId('cache')}`;
    made.push(name);
    await createSandbox(docker, {
      name,
      image: image.image,
      baseCommit: image.commit,
      runId: 'stale-container-tests',
      workflowId: 'test-no-workflow',
      limits: { cpus: 1, memoryMb: 512, pids: 256 },
    });
    const artifacts = storedArtifacts();
    const firstAttempt = createAgentToolActivities({ docker, artifacts, attempt: () => 1 });
    const retry = createAgentToolActivities({ docker, artifacts, attempt: () => 2 });
    const call = (tools: typeof retry, command: string) =>
      tools.runTool({
        container: name,
        baseCommit: image.commit,
        key: 't1-0',
        action: { tool: 'bash', command },
        commandTimeoutSeconds: 30,
        observationCapBytes: 4096,
      });
    const one = await call(firstAttempt, 'echo one >> counted.txt; cat counted.txt');
    // The same call again (a retried attempt): its recorded result, the command not run twice.
    expect(await call(retry, 'echo one >> counted.txt; cat counted.txt')).toEqual(one);
    // Another command under the same key runs, and is told what it did.
    const two = await call(firstAttempt, 'echo two');
    expect((await artifacts.get(two.observation.id)).toString()).toContain('two');
    expect(await readSandboxFile(docker, name, 'counted.txt')).toBe('one\n');
  });
});

async function waitForProgress(
  handle: WorkflowHandle,
  until: (p: RolloutProgress) => boolean,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const progress = await handle.query<RolloutProgress>('progress').catch(() => undefined);
    if (progress && until(progress)) return;
    if (Date.now() > deadline) throw new Error(`rollout never got there: ${JSON.stringify(progress)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type EventId = NonNullable<temporal.api.history.v1.IHistoryEvent['eventId']>;

/** The first workflow task completed after the sandbox was created: where the reset goes back to. */
async function afterSandboxCreated(handle: WorkflowHandle): Promise<EventId> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createSandbox',
  );
  const created = events.findIndex(
    (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
  );
  const task = events.slice(created).find((e) => e.workflowTaskCompletedEventAttributes);
  if (created < 0 || !task) throw new Error('no completed createSandbox in the history');
  return task.eventId!;
}

describe('temporal workflow reset of a rollout mid-run', () => {
  it('gives the new run a fresh container, without the old run’s files or tool results', async () => {
    const { client } = workers;
    const runId = uniqueRunId('reset');
    const request = await exampleRolloutRequest(runId, 'r1', teacher.url, HOST);
    const handle = await client.workflow.start('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${runId}-r1`,
      args: [request],
    });
    await waitForProgress(handle, (p) => p.status === 'turn 3: model');
    // What the old run did after the reset point stays in its container: a file the new run must not find.
    await writeSandboxFile(docker, containerName(runId, 'r1'), 'left-by-old-run.txt', 'stale\n');

    // The method's declared type does not unwrap under await: name the response.
    const reset: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse =
      await (client.workflowService.resetWorkflowExecution({
        namespace: client.options.namespace,
        workflowExecution: { workflowId: handle.workflowId, runId: handle.firstExecutionRunId },
        reason: 'test: back to just after the sandbox was created',
        workflowTaskFinishEventId: await afterSandboxCreated(handle),
        requestId: randomUUID(),
      }) as Promise<temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse>);
    const newRun = client.workflow.getHandle(handle.workflowId, reset.runId!);
    const result = (await newRun.result()) as RolloutResult;

    expect(result.exitStatus).toBe('submitted');
    const patch = await readArtifact(result.patch!);
    expect(patch).toContain('more_itertools/more.py');
    expect(patch).not.toContain('left-by-old-run');
    // Its first tool call met the old run's container and had it replaced by a fresh one.
    expect(result.recoveries).toBe(1);
    const failures = ((await newRun.fetchHistory()).events ?? []).flatMap((e) => {
      const message = e.activityTaskFailedEventAttributes?.failure?.message;
      return message ? [message] : [];
    });
    expect(failures).toEqual([expect.stringMatching(/a reset or a rerun left it behind/)]);
    expect(await containersOfRun(runId)).toEqual([]);
  });
});

describe('a rollout that continues as new', () => {
  it('keeps its container: the run it continued from used it last', async () => {
    const { client } = workers;
    const runId = uniqueRunId('continued');
    const request = await exampleRolloutRequest(runId, 'c1', teacher.url, HOST, {
      historyEventsBeforeContinue: 50,
    });
    const handle = await client.workflow.start('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${runId}-c1`,
      args: [request],
    });
    const result = (await handle.result()) as RolloutResult;
    expect(result.exitStatus).toBe('submitted');
    const first = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    // No run after the first found the container refused to it, so none was made again.
    expect(result.recoveries).toBe(0);
  });
});
