import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import type { LedgerEntry } from '../../core/sft/sample-record';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunResult } from '../../workflows/svg-run';
import { storedArtifacts } from '../support/rollout';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

/** Every sample's record and fate in a run's ledger, by index. */
async function fates(result: SvgRunResult): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for (const chunk of result.ledger)
    entries.push(...(JSON.parse((await storedArtifacts().get(chunk)).toString('utf8')) as LedgerEntry[]));
  return entries.sort((a, b) => a.index - b.index);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Deletes a closed workflow's history as `temporal workflow delete` does, and waits until it is gone. */
async function deleteHistory(client: Client, workflowId: string): Promise<void> {
  await client.workflowService.deleteWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId },
  });
  // The server deletes in the background: about ten seconds on the dev server, longer when busy.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const gone = await client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        () => false,
        (error: unknown) => error instanceof WorkflowNotFoundError,
      );
    if (gone) return;
    if (Date.now() > deadline) throw new Error(`the server still has ${workflowId}`);
    await sleep(500);
  }
}

describe('a generation resumed after the earlier run is gone from Temporal', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  beforeAll(async () => {
    teacher = await startTeacherServer();
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], {
      sandboxHostId: 'resume-store-tests',
    });
  });
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  it('reuses every finished sample from the artifact store and asks the teacher nothing', async () => {
    const runId = uniqueRunId('resume-store');
    const example = exampleRepository();
    const config: RunConfigRequest = {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
      samples: 2,
      concurrency: 2,
      seed: 5,
    };
    const run = (workflowId: string, input: RunConfigRequest): Promise<SvgRunResult> =>
      workers.client.workflow.execute('svgRun', {
        taskQueue: TaskQueues.orchestration,
        workflowId,
        args: [input],
      });
    const earlierId = `sera-run-${runId}`;
    const earlier = await run(earlierId, config);
    expect(earlier.finished).toBe(2);

    // As after the namespace's retention: the run and its samples are unknown to the server.
    await Promise.all(
      [earlierId, `${earlierId}-s0`, `${earlierId}-s1`].map((id) => deleteHistory(workers.client, id)),
    );
    const requests = teacher.counts.ok;

    const resumedId = `sera-run-${runId}-resumed`;
    const resumed = await run(resumedId, { ...config, resumeFrom: earlierId });
    expect(resumed.finished).toBe(2);
    expect(resumed.reused).toBe(2);
    expect(await fates(resumed)).toEqual(await fates(earlier));
    expect(resumed.tokens).toBe(earlier.tokens);
    // No sample ran again: no model request, no sample workflow of the resumed run.
    expect(teacher.counts.ok).toBe(requests);
    await expect(workers.client.workflow.getHandle(`${resumedId}-s0`).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
  });
});
