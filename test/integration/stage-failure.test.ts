import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { errorLines, WorkflowRunFailed } from '../../client/workflow-failure';
import { followRun, startRun } from '../../client/svg-run-commands';
import { parseRunConfig, type RunConfig, type RunConfigRequest } from '../../core/run-config';
import type { EnvironmentProgress } from '../../workflows/prepare-environment';
import { exampleRepository } from '../../infra/example-repo';
import {
  containersOfRun,
  startWorkers,
  uniqueRunId,
  useTestServer,
  type RunningWorkers,
} from '../support/temporal';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A run that stops in its environment stage: no teacher is ever asked. */
function config(runId: string, overrides: Partial<RunConfigRequest>): RunConfig {
  const example = exampleRepository();
  const parsed = parseRunConfig({
    runId,
    repository: { path: example.path, commit: example.commit },
    environment: { testCommand: example.testCommand },
    teacher: { baseUrl: 'http://127.0.0.1:9/v1', model: 'unused' },
    samples: 1,
    ...overrides,
  });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

/** What the CLI does for `run <config>`: start, follow, and on failure print errorLines. */
async function runAsCli(workers: RunningWorkers, run: RunConfig): Promise<unknown> {
  const workflowId = await startRun(workers.client, run);
  return followRun(workers.client, useTestServer(), workflowId).then(
    () => new Error('the run did not fail'),
    (error: unknown) => error,
  );
}

describe('a failed stage reaches the user as its reason', () => {
  let workers: RunningWorkers;
  beforeAll(async () => {
    workers = await startWorkers(['orchestration', 'llm', 'sandbox'], {
      sandboxHostId: 'stage-failure-tests',
    });
  }, 120_000);
  afterAll(async () => {
    await workers?.stop();
  });

  it('names the stage and RepositoryNotFound, and the workflow to look up', async () => {
    const runId = uniqueRunId('nostage');
    const error = await runAsCli(
      workers,
      config(runId, { repository: { path: '/nonexistent/project', commit: 'main' } }),
    );
    expect(error).toBeInstanceOf(WorkflowRunFailed);
    const failed = error as WorkflowRunFailed;
    expect(failed.reason.type).toBe('RepositoryNotFound');
    expect(failed.message).toMatch(
      /^stage environment failed: RepositoryNotFound: repository path \/nonexistent\/project does not exist on sandbox host /,
    );
    const [first, second] = errorLines(error);
    expect(first).toBe(`error: ${failed.message}`);
    expect(second).toMatch(
      new RegExp(
        `^  workflow sera-run-${runId} via child workflow prepareEnvironment \\(sera-run-${runId}-env\\) → activity `,
      ),
    );
    // The parent's own failure carries the same type, so a search for it finds the run.
    const own = (failed.cause as WorkflowFailedError).cause as ApplicationFailure;
    expect(own.type).toBe('RepositoryNotFound');
    expect(own.nonRetryable).toBe(true);
  });

  it('a run cancelled during a stage still ends cancelled, not as a stage failure', async () => {
    const runId = uniqueRunId('cancelstage');
    const workflowId = await startRun(
      workers.client,
      config(runId, { environment: { testCommand: 'sleep 120' } }),
    );
    const handle = workers.client.workflow.getHandle(workflowId);
    const deadline = Date.now() + 120_000;
    for (;;) {
      // Cancelled while the child runs the tests, so the cancellation comes back through a child's failure.
      const child = await workers.client.workflow
        .getHandle(`${workflowId}-env`)
        .query<EnvironmentProgress>('progress')
        .catch(() => undefined);
      if (child?.stage === 'running-tests') break;
      if (Date.now() > deadline) throw new Error('the run did not reach its environment stage');
      await sleep(300);
    }
    await handle.cancel();
    const error = await followRun(workers.client, useTestServer(), workflowId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowRunFailed);
    expect((error as WorkflowRunFailed).reason.type).toBe('CancelledFailure');
    expect((error as WorkflowRunFailed).message).not.toContain('stage environment failed');
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await containersOfRun(runId)).toEqual([]);
  });
});
