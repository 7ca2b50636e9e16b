import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleRepository } from '../../infra/example-repo';
import { environmentWorkflowId, validateEnvironmentRequest } from '../../client/run-environment';
import { TaskQueues } from '../../core/queues';
import type { PrepareEnvironmentResult } from '../../workflows/prepare-environment';
import { expectFaultsHit, killWhenBusy } from '../support/fault-evidence';
import { activityAttempts } from '../support/history';
import {
  containersOfRun,
  startWorkers,
  uniqueRunId,
  useTestServer,
  type RunningWorkers,
} from '../support/temporal';
import { startWorkerProcess, workerProcessEnv, type WorkerProcess } from '../support/worker-process';

const example = exampleRepository();

describe('a sandbox worker killed in the middle of a workflow', () => {
  let orchestration: RunningWorkers;
  const processes: WorkerProcess[] = [];
  beforeAll(async () => {
    orchestration = await startWorkers(['orchestration']);
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await orchestration?.stop();
  });

  it('is replaced by a new worker and the workflow completes', async () => {
    useTestServer();
    const hostId = uniqueRunId('crash-host');
    const env = workerProcessEnv(hostId);
    const first = await startWorkerProcess(['sandbox'], env);
    processes.push(first);

    const runId = uniqueRunId('crash');
    const input = validateEnvironmentRequest({
      runId,
      repository: { path: example.path, commit: example.commit },
      // Slow enough that the kill lands while the tests run.
      testCommand: `sleep 6 && ${example.testCommand}`,
      heartbeatTimeoutSeconds: 3,
    });
    const handle = await orchestration.client.workflow.start('prepareEnvironment', {
      taskQueue: TaskQueues.orchestration,
      workflowId: environmentWorkflowId(runId),
      args: [input],
    });

    // Wait until the test command is running on the first worker, then kill it without warning.
    const kill = await killWhenBusy(orchestration.client, handle.workflowId, first, 'sandbox', {
      type: 'execToArtifact',
      pollMs: 200,
      replace: async () => {
        const next = await startWorkerProcess(['sandbox'], env);
        processes.push(next);
        return next;
      },
    });
    expect(await first.exited).toBe('SIGKILL');

    const second = await startWorkerProcess(['sandbox'], env);
    processes.push(second);
    const result = (await handle.result()) as PrepareEnvironmentResult;

    expect(result.passed).toBe(true);
    expect(result.summary?.passed).toBeGreaterThan(600);
    expect(result.sandboxHost).toBe(hostId);
    // The attempt that finished was not the first: the first died with its worker.
    const attempts = await activityAttempts(handle);
    expect(attempts.execToArtifact?.[0]).toBeGreaterThanOrEqual(2);
    // And the history shows it was the test command on the killed worker that ran again.
    await expectFaultsHit(orchestration.client, [handle.workflowId], [kill]);
    expect(await containersOfRun(runId)).toEqual([]);

    // SIGTERM is a graceful stop: the worker drains and exits 0.
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('[worker] stopped');
  });
});
