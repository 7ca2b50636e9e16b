import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { acceptedCountOf } from '../core/accepted-count';
import { TaskQueues } from '../core/queues';
import { parseRunConfig, type RunConfigRequest } from '../core/run-config';
import { exampleRepository } from '../infra/example-repo';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { startTeacherServer, TEACHER_MODEL } from '../infra/teacher-server';
import type { SpecializeResult } from '../workflows/specialize-repository';
import { plainLifecycle } from './plain-lifecycle';
import { historyOf } from './svg-throughput';

export interface LifecycleRow {
  way: 'temporal' | 'plain';
  round: number;
  /** Wall seconds from start to result, and of each stage. */
  wallSeconds: number;
  stages: Record<string, number>;
  finished: number;
  accepted: number;
  datasetLines: number;
  trainingSteps: number;
}

export interface LifecycleFigures {
  rows: LifecycleRow[];
  /** Over every workflow of each Temporal run: the run, its stages, samples and rollouts. */
  history: { workflows: number; eventsPerSample: number; bytesPerSample: number };
  overheadShare: number;
}

/**
 * The lifecycle's Temporal overhead: `specializeRepository` (generation, dataset, training, and
 * its stage manifests and report) against the same stages called in-process with no Temporal
 * (bench/plain-lifecycle.ts), interleaved round by round, with the same config and teacher.
 */
export async function benchLifecycle(
  client: Client,
  options: {
    samples: number;
    concurrency: number;
    trainSteps: number;
    modelLatencyMs: number;
    rounds: number;
    tag: string;
  },
  progress: (line: string) => void,
): Promise<LifecycleFigures> {
  const teacher = await startTeacherServer({
    faults: { slowRate: options.modelLatencyMs > 0 ? 1 : 0, slowMs: options.modelLatencyMs },
  });
  const example = exampleRepository();
  const docker = new Docker();
  const artifacts = new LocalArtifactStore(artifactsDir());
  const rows: LifecycleRow[] = [];
  const histories: Array<{ workflows: number; events: number; bytes: number; samples: number }> = [];
  const request = (runId: string): RunConfigRequest => ({
    runId,
    repository: { path: example.path, commit: example.commit },
    teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
    samples: options.samples,
    concurrency: options.concurrency,
    seed: 7,
    train: { preset: 'tiny', recipe: { maxSteps: options.trainSteps, seed: 3 } },
  });
  try {
    for (let round = 0; round < options.rounds; round += 1) {
      const runId = `bench-life-${options.tag}-${round}`;
      const workflowId = `sera-run-${runId}`;
      let started = performance.now();
      const result = (await client.workflow.execute('specializeRepository', {
        taskQueue: TaskQueues.orchestration,
        workflowId,
        args: [request(runId)],
      })) as SpecializeResult;
      const temporalWall = (performance.now() - started) / 1000;
      rows.push({
        way: 'temporal',
        round,
        wallSeconds: temporalWall,
        stages: Object.fromEntries(result.stages.map((s) => [s.stage, s.seconds])),
        finished: result.generation.finished,
        accepted: acceptedCountOf(result.generation),
        datasetLines: result.dataset?.lines ?? 0,
        trainingSteps: result.training?.steps ?? 0,
      });
      const history = await historyOf(client, workflowId);
      histories.push({ ...history, samples: result.generation.finished });
      progress(
        `lifecycle round ${round}: through Temporal in ${temporalWall.toFixed(0)} s, ${acceptedCountOf(result.generation)} accepted, ${result.dataset?.lines ?? 0} dataset lines`,
      );

      const parsed = parseRunConfig(request(`bench-plain-${options.tag}-${round}`));
      if (!parsed.ok) throw new Error(parsed.message);
      started = performance.now();
      const plain = await plainLifecycle(docker, artifacts, parsed.value);
      const plainWall = (performance.now() - started) / 1000;
      rows.push({
        way: 'plain',
        round,
        wallSeconds: plainWall,
        stages: plain.seconds,
        finished: plain.finished,
        accepted: plain.accepted,
        datasetLines: plain.datasetLines,
        trainingSteps: plain.trainingSteps,
      });
      progress(
        `lifecycle round ${round}: in-process in ${plainWall.toFixed(0)} s, ${plain.accepted} accepted, ${plain.datasetLines} dataset lines`,
      );
    }
  } finally {
    await teacher.close();
  }
  const total = (way: LifecycleRow['way']): number =>
    rows.filter((r) => r.way === way).reduce((sum, r) => sum + r.wallSeconds, 0);
  const samples = histories.reduce((sum, h) => sum + h.samples, 0);
  return {
    rows,
    history: {
      workflows: histories.reduce((sum, h) => sum + h.workflows, 0) / Math.max(histories.length, 1),
      eventsPerSample: histories.reduce((sum, h) => sum + h.events, 0) / samples,
      bytesPerSample: histories.reduce((sum, h) => sum + h.bytes, 0) / samples,
    },
    overheadShare: total('temporal') / total('plain') - 1,
  };
}
