import type { Client } from '@temporalio/client';
import type { GradeTimings } from '../activities/eval/instance-tests';
import { TaskQueues } from '../core/queues';
import { exampleEvalSet } from '../infra/example-repo';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import type { GradePredictionsResult } from '../workflows/grade-predictions';

export interface GradingBenchRow {
  concurrency: number;
  instances: number;
  wallSeconds: number;
  instancesPerMinute: number;
  resolved: number;
  /** Mean per graded instance, milliseconds. */
  meanTimings: GradeTimings;
}

/**
 * Grading throughput: the gold patches of the example set graded by the gradePredictions workflow
 * (fresh container, patches, the test files), at each concurrency, with where the time went.
 */
export async function benchGrading(
  client: Client,
  options: { concurrencies: number[]; tag: string },
  progress: (line: string) => void,
): Promise<GradingBenchRow[]> {
  const set = exampleEvalSet();
  const store = new LocalArtifactStore(artifactsDir());
  const rows: GradingBenchRow[] = [];
  for (const concurrency of options.concurrencies) {
    const runId = `bench-grade-${options.tag}-c${concurrency}`;
    const started = Date.now();
    const result = (await client.workflow.execute('gradePredictions', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${runId}-${process.pid}`,
      args: [
        {
          runId,
          instances: { path: set.instancesFile },
          environments: { [set.repo]: set.environment },
          predictions: [{ name: 'gold', source: 'gold' }],
          concurrency,
        },
      ],
    })) as GradePredictionsResult;
    const wallSeconds = (Date.now() - started) / 1000;
    const log = (await store.get(result.log.id))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { resolved: boolean; timings?: GradeTimings });
    const sum: GradeTimings = { container: 0, patches: 0, install: 0, tests: 0 };
    for (const line of log)
      for (const key of Object.keys(sum) as Array<keyof GradeTimings>) sum[key] += line.timings?.[key] ?? 0;
    const n = log.length;
    const meanTimings = Object.fromEntries(
      Object.entries(sum).map(([k, v]) => [k, v / Math.max(n, 1)]),
    ) as unknown as GradeTimings;
    rows.push({
      concurrency,
      instances: n,
      wallSeconds,
      instancesPerMinute: (n / wallSeconds) * 60,
      resolved: log.filter((l) => l.resolved).length,
      meanTimings,
    });
    progress(`grading at concurrency ${concurrency}: ${n} instances in ${wallSeconds.toFixed(1)} s`);
  }
  return rows;
}
