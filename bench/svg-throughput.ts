import type { Client } from '@temporalio/client';
import { TaskQueues } from '../core/queues';
import type { RunConfigRequest } from '../core/run-config';
import { exampleRepository } from '../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL } from '../infra/teacher-server';
import type { SvgRunResult } from '../workflows/svg-run';
import { acceptedCountOf } from '../core/accepted-count';

export interface ThroughputRow {
  concurrency: number;
  samples: number;
  accepted: number;
  wallSeconds: number;
  samplesPerSecond: number;
  acceptedPerSecond: number;
  workflows: number;
  historyEventsPerSample: number;
  historyBytesPerSample: number;
}

/** Sum of history events and bytes over the run's workflows (run, samples, rollouts; every continued run). */
export async function historyOf(
  client: Client,
  workflowIdPrefix: string,
): Promise<{ workflows: number; events: number; bytes: number }> {
  let workflows = 0;
  let events = 0;
  let bytes = 0;
  for await (const execution of client.workflow.list({
    query: `WorkflowId STARTS_WITH "${workflowIdPrefix}"`,
  })) {
    const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    workflows += 1;
    events += description.historyLength;
    bytes += description.historySize ?? 0;
  }
  return { workflows, events, bytes };
}

/** One SVG run of `samples` samples at a concurrency, on the example repository and the offline teacher. */
export async function benchSvgRun(
  client: Client,
  options: { samples: number; concurrency: number; seed: number; tag: string },
): Promise<ThroughputRow> {
  const teacher = await startTeacherServer({ fidelity: 0.8 });
  const example = exampleRepository();
  const runId = `bench-${options.tag}-c${options.concurrency}-${process.pid}`;
  const config: RunConfigRequest = {
    runId,
    repository: { path: example.path, commit: example.commit },
    teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
    samples: options.samples,
    concurrency: options.concurrency,
    seed: options.seed,
  };
  try {
    const started = performance.now();
    const result = (await client.workflow.execute('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config],
    })) as SvgRunResult;
    const wallSeconds = (performance.now() - started) / 1000;
    const history = await historyOf(client, `sera-run-${runId}`);
    return {
      concurrency: options.concurrency,
      samples: result.finished,
      accepted: acceptedCountOf(result),
      wallSeconds,
      samplesPerSecond: result.finished / wallSeconds,
      acceptedPerSecond: acceptedCountOf(result) / wallSeconds,
      workflows: history.workflows,
      historyEventsPerSample: history.events / result.finished,
      historyBytesPerSample: history.bytes / result.finished,
    };
  } finally {
    await teacher.close();
  }
}
