import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { PrepareEnvironmentRequest } from '../../core/environment-input';
import { ErrorTypes } from '../../core/errors';
import { TaskQueues } from '../../core/queues';
import { exampleRepository } from '../../infra/example-repo';
import type { PrepareEnvironmentResult } from '../../workflows/prepare-environment';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const example = exampleRepository();

describe('prepareEnvironment on two sandbox hosts', () => {
  const suffix = Math.random().toString(36).slice(2, 6);
  const hostA = `env-a-${suffix}`;
  const hostB = `env-b-${suffix}`;
  let core: RunningWorkers;
  let onA: RunningWorkers;
  let onB: RunningWorkers;
  // Set when host B's engine "stops", at its first image build.
  let engineBDown = false;

  beforeAll(async () => {
    core = await startWorkers(['orchestration']);
    // Host A takes no claim until B is down, so the check starts on B.
    onA = await startWorkers(['sandbox'], {
      sandboxHostId: hostA,
      wrapSandboxActivities: (activities) => ({
        ...activities,
        claimSandboxHost: async () => {
          if (!engineBDown)
            throw ApplicationFailure.retryable(
              `${hostA} waits for ${hostB} to fail`,
              ErrorTypes.SandboxHostFull,
            );
          return activities.claimSandboxHost();
        },
      }),
    });
    // Host B's engine stops answering while it builds the image; its claims are refused from then on.
    onB = await startWorkers(['sandbox'], {
      sandboxHostId: hostB,
      wrapSandboxActivities: (activities) => ({
        ...activities,
        claimSandboxHost: async () => {
          if (engineBDown)
            throw ApplicationFailure.retryable(
              `Docker engine of ${hostB} is down`,
              ErrorTypes.DockerUnreachable,
            );
          return activities.claimSandboxHost();
        },
        prepareRepoImage: async () => {
          engineBDown = true;
          throw ApplicationFailure.retryable(
            `Docker engine of ${hostB} is down`,
            ErrorTypes.DockerUnreachable,
          );
        },
      }),
    });
  });

  afterAll(async () => {
    await onB?.stop();
    await onA?.stop();
    await core?.stop();
  });

  it('moves the image build off a host whose engine stopped and runs the tests on the other host', async () => {
    const runId = uniqueRunId('env-moves');
    const request: PrepareEnvironmentRequest = {
      runId,
      repository: { path: example.path, commit: example.commit },
      // The move is under test, not the suite: a command that passes at once.
      testCommand: 'true',
    };
    const result = (await core.client.workflow.execute('prepareEnvironment', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-env-${runId}`,
      args: [request],
    })) as PrepareEnvironmentResult;

    expect(engineBDown).toBe(true);
    expect(result.sandboxHost).toBe(hostA);
    expect(result.passed).toBe(true);
    expect(await containersOfRun(runId)).toEqual([]);
  });
});

describe('prepareEnvironment when its host’s worker stops', () => {
  const suffix = Math.random().toString(36).slice(2, 6);
  const hostC = `env-c-${suffix}`;
  const hostD = `env-d-${suffix}`;
  let core: RunningWorkers;
  let onC: RunningWorkers;
  let onD: RunningWorkers;
  let workerDStopped = false;

  beforeAll(async () => {
    core = await startWorkers(['orchestration']);
    onC = await startWorkers(['sandbox'], {
      sandboxHostId: hostC,
      wrapSandboxActivities: (activities) => ({
        ...activities,
        claimSandboxHost: async () => {
          if (!workerDStopped)
            throw ApplicationFailure.retryable(
              `${hostC} waits for ${hostD} to stop`,
              ErrorTypes.SandboxHostFull,
            );
          return activities.claimSandboxHost();
        },
      }),
    });
    // Host D's worker stops during its image build, and that attempt is lost with it: the retry
    // waits on D's queue, which no worker polls any more.
    onD = await startWorkers(['sandbox'], {
      sandboxHostId: hostD,
      wrapSandboxActivities: (activities) => ({
        ...activities,
        prepareRepoImage: async () => {
          workerDStopped = true;
          for (const worker of onD.workers) worker.shutdown();
          throw ApplicationFailure.retryable(`the worker of ${hostD} stopped during the build`);
        },
      }),
    });
  });

  afterAll(async () => {
    await onD?.stop();
    await onC?.stop();
    await core?.stop();
  });

  it('moves the image build once its retry has waited hostStartTimeoutSeconds on the stopped host’s queue', async () => {
    const runId = uniqueRunId('env-worker-gone');
    const result = (await core.client.workflow.execute('prepareEnvironment', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-env-${runId}`,
      args: [
        {
          runId,
          repository: { path: example.path, commit: example.commit },
          testCommand: 'true',
          // The default minute, shortened: the move is under test, not the wait.
          hostStartTimeoutSeconds: 10,
        } satisfies PrepareEnvironmentRequest,
      ],
    })) as PrepareEnvironmentResult;

    expect(workerDStopped).toBe(true);
    expect(result.sandboxHost).toBe(hostC);
    expect(result.passed).toBe(true);
    expect(await containersOfRun(runId)).toEqual([]);
  });
});
