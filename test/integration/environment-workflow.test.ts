import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { SandboxActivities } from '../../activities/sandbox/activities';
import { containerName } from '../../core/names';
import { TaskQueues } from '../../core/queues';
import { SearchAttributes } from '../../core/search-attributes';
import { exampleRepository } from '../../infra/example-repo';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import {
  environmentWorkflowId,
  runEnvironment,
  validateEnvironmentRequest,
} from '../../client/run-environment';
import type { PrepareEnvironmentRequest } from '../../core/environment-input';
import { activityAttempts } from '../support/history';
import {
  containersOfRun,
  startWorkers,
  uniqueRunId,
  useTestServer,
  type RunningWorkers,
} from '../support/temporal';

const example = exampleRepository();
const docker = new Docker();
const quiet = (): void => undefined;

function request(
  runId: string,
  overrides: Partial<PrepareEnvironmentRequest> = {},
): PrepareEnvironmentRequest {
  return {
    runId,
    repository: { path: example.path, commit: example.commit },
    testCommand: example.testCommand,
    ...overrides,
  };
}

describe('prepareEnvironment, end to end on the real dev server and Docker', () => {
  let workers: RunningWorkers;
  beforeAll(async () => {
    workers = await startWorkers(['orchestration', 'sandbox']);
  });
  afterAll(async () => {
    await workers?.stop();
  });

  it('runs the example repository’s own test suite in a sandbox and removes the sandbox', async () => {
    const settings = useTestServer();
    const runId = uniqueRunId('e2e');
    const outcome = await runEnvironment(workers.client, settings, request(runId), quiet);

    expect(outcome.failure).toBeUndefined();
    const result = outcome.result!;
    expect(result.passed).toBe(true);
    expect(result.exitCode).toBe(0);
    // more-itertools 10.5.0 has several hundred tests; all but the skipped ones pass.
    expect(result.summary?.passed).toBeGreaterThan(600);
    expect(result.summary?.failed).toBe(0);
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(outcome.uiUrl).toContain(`/workflows/${environmentWorkflowId(runId)}/`);

    // The whole output is in the artifact store; the history holds only its reference and tail.
    const stored = (await new LocalArtifactStore(artifactsDir()).get(result.output.id)).toString('utf8');
    expect(stored).toContain(result.summary!.line);
    expect(result.output.size).toBe(Buffer.byteLength(stored));

    const handle = workers.client.workflow.getHandle(outcome.workflowId);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(SearchAttributes.runId)).toBe(runId);
    expect(await handle.query('progress')).toMatchObject({
      stage: 'done',
      container: containerName(runId, 'env'),
    });
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('rejects a malformed request before starting anything, naming the field', () => {
    expect(() => validateEnvironmentRequest({ ...request('bad id!'), testCommand: '' })).toThrow(
      /runId: .*; testCommand: /,
    );
  });

  it('fails a workflow started with malformed input (bypassing the client) as InvalidInput', async () => {
    const handle = await workers.client.workflow.start('prepareEnvironment', {
      taskQueue: TaskQueues.orchestration,
      workflowId: uniqueRunId('invalid'),
      args: [{ runId: 'x', repository: { path: example.path } }],
    });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toMatch(/repository\.commit/);
    expect(cause.message).toMatch(/testCommand/);
  });

  it('says clearly when the repository path does not exist, and leaves no container', async () => {
    const runId = uniqueRunId('nopath');
    const outcome = await runEnvironment(
      workers.client,
      useTestServer(),
      request(runId, { repository: { path: '/nonexistent/project', commit: 'main' } }),
      quiet,
    );
    expect(outcome.failure?.type).toBe('RepositoryNotFound');
    expect(outcome.failure?.message).toMatch(/\/nonexistent\/project does not exist/);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('says clearly when the commit does not exist, and leaves no container', async () => {
    const runId = uniqueRunId('nocommit');
    const outcome = await runEnvironment(
      workers.client,
      useTestServer(),
      request(runId, { repository: { path: example.path, commit: 'v0.0.0-missing' } }),
      quiet,
    );
    expect(outcome.failure?.type).toBe('CommitNotFound');
    expect(outcome.failure?.message).toMatch(/"v0\.0\.0-missing" does not exist/);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('fails with TestCommandFailed, the exit code and the output’s end when the tests fail', async () => {
    const runId = uniqueRunId('failing');
    const outcome = await runEnvironment(
      workers.client,
      useTestServer(),
      request(runId, {
        testCommand: 'python3 -m pytest -q -p no:cacheprovider tests -k no_test_has_this_name',
      }),
      quiet,
    );
    expect(outcome.failure?.type).toBe('TestCommandFailed');
    // pytest exits with 5 when no test was collected.
    expect(outcome.failure?.message).toMatch(/exited with 5/);
    expect(outcome.failure?.message).toMatch(/deselected/);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('fails with CommandTimedOut when the tests outlive their limit, and removes the sandbox', async () => {
    const runId = uniqueRunId('slow');
    const outcome = await runEnvironment(
      workers.client,
      useTestServer(),
      request(runId, { testCommand: 'echo started; sleep 600', testTimeoutSeconds: 2 }),
      quiet,
    );
    expect(outcome.failure?.type).toBe('CommandTimedOut');
    expect(outcome.failure?.message).toMatch(/timed out after 2 s/);
    expect(await containersOfRun(runId)).toEqual([]);
  });
});

describe('create and destroy under retried activities', () => {
  it('a retried create finds its container, a retried destroy finds it gone, and the run completes', async () => {
    const createdIds: string[] = [];
    const destroyResults: boolean[] = [];
    // Each activity does its real work and then "loses" the answer on its first attempt, as a
    // worker that crashes right after the Docker call would.
    const flaky = (real: SandboxActivities): SandboxActivities => ({
      ...real,
      async createSandbox(input) {
        const handle = await real.createSandbox(input);
        createdIds.push(handle.id);
        if (Context.current().info.attempt === 1) throw new Error('injected: answer lost after create');
        return handle;
      },
      async destroySandbox(input) {
        const result = await real.destroySandbox(input);
        destroyResults.push(result.removed);
        if (Context.current().info.attempt === 1) throw new Error('injected: answer lost after destroy');
        return result;
      },
    });
    const workers = await startWorkers(['orchestration', 'sandbox'], { wrapSandboxActivities: flaky });
    try {
      const runId = uniqueRunId('retry');
      const outcome = await runEnvironment(
        workers.client,
        useTestServer(),
        request(runId, { testCommand: 'true' }),
        quiet,
      );
      expect(outcome.failure).toBeUndefined();
      expect(outcome.result?.passed).toBe(true);
      // Both create attempts returned the same container: the second found the first's.
      expect(createdIds).toHaveLength(2);
      expect(createdIds[1]).toBe(createdIds[0]);
      // The first destroy removed it; the retry found nothing to remove and still succeeded.
      expect(destroyResults).toEqual([true, false]);
      const attempts = await activityAttempts(workers.client.workflow.getHandle(outcome.workflowId));
      expect(attempts.createSandbox).toEqual([2]);
      expect(attempts.destroySandbox).toEqual([2]);
      expect(await containersOfRun(runId)).toEqual([]);
      await expect(docker.getContainer(containerName(runId, 'env')).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });
    } finally {
      await workers.stop();
    }
  });
});
