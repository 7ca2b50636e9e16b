import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { PrepareEnvironmentRequest } from '../../core/environment-input';
import type { RunConfigRequest } from '../../core/run-config';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunProgress } from '../../workflows/svg-run';
import { ErrorTypes } from '../../core/errors';
import { TaskQueues } from '../../core/queues';
import { exampleRepository } from '../../infra/example-repo';
import type { PrepareEnvironmentResult } from '../../workflows/prepare-environment';
import { recordForReplay } from '../support/record';
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
    await recordForReplay(core.client, `sera-env-${runId}`, 'prepareEnvironment-engine-down');
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
    await recordForReplay(core.client, `sera-env-${runId}`, 'prepareEnvironment-worker-stopped');
  });
});

describe('a generation whose image-build host’s engine stops', () => {
  const suffix = Math.random().toString(36).slice(2, 6);
  const hostE = `gen-e-${suffix}`;
  const hostF = `gen-f-${suffix}`;
  let core: RunningWorkers;
  let onE: RunningWorkers;
  let onF: RunningWorkers;
  let teacher: TeacherServer;
  let engineFDown = false;

  beforeAll(async () => {
    teacher = await startTeacherServer();
    core = await startWorkers(['orchestration', 'llm']);
    // As above: E takes no claim until F's engine is down, so the generation starts on F.
    onE = await startWorkers(['sandbox'], {
      sandboxHostId: hostE,
      wrapSandboxActivities: (activities) => ({
        ...activities,
        claimSandboxHost: async () => {
          if (!engineFDown)
            throw ApplicationFailure.retryable(
              `${hostE} waits for ${hostF} to fail`,
              ErrorTypes.SandboxHostFull,
            );
          return activities.claimSandboxHost();
        },
      }),
    });
    onF = await startWorkers(['sandbox'], {
      sandboxHostId: hostF,
      wrapSandboxActivities: (activities) => ({
        ...activities,
        claimSandboxHost: async () => {
          if (engineFDown)
            throw ApplicationFailure.retryable(
              `Docker engine of ${hostF} is down`,
              ErrorTypes.DockerUnreachable,
            );
          return activities.claimSandboxHost();
        },
        prepareRepoImage: async () => {
          engineFDown = true;
          throw ApplicationFailure.retryable(
            `Docker engine of ${hostF} is down`,
            ErrorTypes.DockerUnreachable,
          );
        },
      }),
    });
  });

  afterAll(async () => {
    await onF?.stop();
    await onE?.stop();
    await core?.stop();
    await teacher?.close();
  });

  it('builds the image and the index on another host and starts sampling', async () => {
    const runId = uniqueRunId('gen-moves');
    const handle = await core.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [
        {
          runId,
          repository: { path: example.path, commit: example.commit },
          teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
          samples: 1,
        } satisfies RunConfigRequest,
      ],
    });
    const deadline = Date.now() + 120_000;
    let progress: SvgRunProgress | undefined;
    while (progress?.stage !== 'sampling') {
      if (Date.now() > deadline)
        throw new Error(`the run never started sampling: ${JSON.stringify(progress)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      progress = (await handle.query('progress').catch(() => undefined)) as SvgRunProgress | undefined;
    }
    expect(engineFDown).toBe(true);
    expect(progress.sandboxHost).toBe(hostE);
    // The move is what is under test: the sample itself is not waited for.
    await handle.cancel();
    await handle.result().catch(() => undefined);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await containersOfRun(runId)).toEqual([]);
    await recordForReplay(core.client, `sera-run-${runId}`, 'svgRun-build-host-lost');
  });
});
