import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createEvalFileActivities } from '../../activities/eval/activities';
import { createEvalReportActivities } from '../../activities/eval/report';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { SearchAttributes } from '../../core/search-attributes';
import type { EvaluateModelRequest } from '../../core/eval/eval-input';
import { parseInstances } from '../../core/eval/instances';
import { TaskQueues } from '../../core/queues';
import { artifactsDir } from '../../infra/paths';
import { exampleEvalSet } from '../../infra/example-repo';
import type {
  EvaluateModelContinuation,
  EvaluateModelResult,
  EvaluateProgress,
} from '../../workflows/evaluate-model';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

// The real evaluateModel with stand-in solving children (test/support/eval-continue-workflows.ts)
// and in-test activities for what would need Docker or a model (the host claim, the image build,
// the endpoint check): the evaluation's own work (runs, chunks, report) is real, in seconds.
const STUB_QUEUE = 'eval-continue-stubs';
const HOST_QUEUE = 'eval-continue-host';

/** The number of workflow runs in the chain that starts at the workflow's first run. */
async function runsOf(client: Client, workflowId: string): Promise<Array<{ events: number }>> {
  const runs: Array<{ events: number }> = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).raw
    .workflowExecutionInfo?.firstRunId as string | undefined;
  // describe() of the latest run names the first; each run's history names the next.
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    runs.push({ events: events.length });
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

describe('evaluateModel continues as new and stores its grades in chunks', () => {
  let workers: RunningWorkers;
  let own: Worker[] = [];
  let running: Promise<unknown>;
  const set = exampleEvalSet();
  const ids = parseInstances(readFileSync(set.instancesFile, 'utf8'))
    .slice(0, 3)
    .map((i) => i.instance_id);

  beforeAll(async () => {
    workers = await startWorkers([]);
    const artifacts = new LocalArtifactStore(artifactsDir());
    const base = { connection: workers.connection, dataConverter: workers.client.options.dataConverter };
    own = [
      await Worker.create({
        ...base,
        taskQueue: STUB_QUEUE,
        workflowsPath: fileURLToPath(new URL('../support/eval-continue-workflows.ts', import.meta.url)),
      }),
      await Worker.create({
        ...base,
        taskQueue: TaskQueues.sandbox,
        activities: {
          claimSandboxHost: () => Promise.resolve({ hostId: 'eval-continue', taskQueue: HOST_QUEUE }),
        },
      }),
      await Worker.create({
        ...base,
        taskQueue: HOST_QUEUE,
        activities: {
          ...createEvalFileActivities({ artifacts }),
          prepareRepoImage: (input: { commit: string }) =>
            Promise.resolve({ image: 'stand-in', commit: input.commit, repoName: 'more-itertools' }),
        },
      }),
      await Worker.create({
        ...base,
        taskQueue: TaskQueues.llm,
        activities: {
          ...createEvalReportActivities({ artifacts }),
          // The llm workers read the stored instances (patch eval-moves-hosts).
          instanceHeads: createEvalFileActivities({ artifacts }).instanceHeads,
          checkTeacher: () => Promise.resolve({ models: 1 }),
        },
      }),
    ];
    running = Promise.all(own.map((w) => w.run()));
  });
  afterAll(async () => {
    for (const worker of own) if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await workers?.stop();
  });

  const evaluate = (
    workflowId: string,
    request: EvaluateModelRequest,
    continuation?: EvaluateModelContinuation,
  ): Promise<EvaluateModelResult> =>
    workers.client.workflow.execute('evaluateModel', {
      taskQueue: STUB_QUEUE,
      workflowId,
      args: continuation ? [request, continuation] : [request],
    });

  it('2 solving runs per workflow run over 3 instances × 3 seeds: 5 runs, and the same report, log and predictions as one run', async () => {
    const runId = uniqueRunId('evcan');
    const request: EvaluateModelRequest = {
      runId,
      modelName: 'stand-in',
      model: { endpoint: { baseUrl: 'http://127.0.0.1:9/v1', model: 'stand-in' } },
      instances: { path: set.instancesFile },
      environments: { [set.repo]: set.environment },
      instanceIds: ids,
      seeds: [0, 1, 2],
      concurrency: 2,
    };
    const whole = await evaluate(`${runId}-whole`, request);
    const continued = await evaluate(`${runId}-continued`, request, { solvesPerRun: 2 });

    expect(whole.runs).toBe(1);
    expect(continued.runs).toBe(5);
    const chain = await runsOf(workers.client, `${runId}-continued`);
    expect(chain).toHaveLength(5);
    // Content-addressed outputs: equal ids are equal bytes.
    expect(continued.report).toEqual(whole.report);
    expect(continued.log).toEqual(whole.log);
    expect(continued.predictions).toEqual(whole.predictions);
    expect(continued.summary).toEqual(whole.summary);
    expect(continued.agentExits).toEqual(whole.agentExits);
    expect(Object.values(whole.agentExits ?? {}).reduce((a, b) => a + b, 0)).toBe(9);
    expect([continued.promptTokens, continued.completionTokens]).toEqual([
      whole.promptTokens,
      whole.completionTokens,
    ]);
    // The report holds every seed × instance once, in the instances' order.
    const log = (await new LocalArtifactStore(artifactsDir()).get(whole.log.id))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seed: number; instanceId: string });
    expect(log.map((l) => [l.seed, l.instanceId])).toEqual(
      [0, 1, 2].flatMap((s) => ids.map((id) => [s, id])),
    );

    // The progress query answers from the last run with the counts carried across all five.
    const progress = await workers.client.workflow
      .getHandle(`${runId}-continued`)
      .query<EvaluateProgress>('progress');
    expect(progress).toMatchObject({ stage: 'done', solved: 9, total: 9 });
    expect(progress.resolved).toBeCloseTo(whole.summary.mean * 9, 9);
    // The search attributes set by the first run stay with the later ones.
    const described = await workers.client.workflow.getHandle(`${runId}-continued`).describe();
    expect(described.typedSearchAttributes.get(SearchAttributes.runId)).toBe(runId);
  });
});
