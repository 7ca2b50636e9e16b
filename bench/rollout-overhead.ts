import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { prepareRepoImage } from '../activities/sandbox/repo-image';
import { bugInstruction } from '../core/agent/instructions';
import { RolloutInputSchema, type RolloutRequest } from '../core/agent/rollout-input';
import { sandboxHostQueue, TaskQueues } from '../core/queues';
import { baseImageTag } from '../infra/base-image';
import { exampleRepository } from '../infra/example-repo';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { startTeacherServer, TEACHER_MODEL } from '../infra/teacher-server';
import type { RolloutResult } from '../workflows/rollout';
import { plainRollout } from './plain-rollout';

export interface OverheadRow {
  way: 'temporal' | 'plain';
  rollouts: number;
  turns: number;
  wallMs: number;
  modelMs: number;
  toolMs: number;
  /** (wall − model − tools) / wall */
  overheadShare: number;
}

/**
 * Orchestration overhead of a rollout: wall time minus time in model calls and in tool calls,
 * as a share of wall time, for the rollout workflow and for the plain in-process loop over the
 * same teacher and container image, interleaved rollout by rollout.
 */
export async function benchRolloutOverhead(
  client: Client,
  hostId: string,
  options: { rollouts: number; modelLatencyMs: number },
  progress: (line: string) => void,
): Promise<OverheadRow[]> {
  const teacher = await startTeacherServer({
    faults: { slowRate: options.modelLatencyMs > 0 ? 1 : 0, slowMs: options.modelLatencyMs },
  });
  const docker = new Docker();
  const example = exampleRepository();
  const image = await prepareRepoImage(docker, baseImageTag(), {
    repository: example.path,
    commit: example.commit,
  });
  const sums = {
    temporal: { turns: 0, wallMs: 0, modelMs: 0, toolMs: 0 },
    plain: { turns: 0, wallMs: 0, modelMs: 0, toolMs: 0 },
  };
  try {
    for (let i = 0; i < options.rollouts; i += 1) {
      const request: RolloutRequest = {
        runId: `bench-${process.pid}`,
        rolloutId: `o${i}`,
        kind: 'change',
        task: bugInstruction(13, 'windowed', 'more_itertools/more.py'),
        sandbox: { hostQueue: sandboxHostQueue(hostId), image: image.image, baseCommit: image.commit },
        model: { baseUrl: teacher.url, model: TEACHER_MODEL, seed: i },
      };
      const started = performance.now();
      const viaTemporal = (await client.workflow.execute('rollout', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-bench-rollout-${process.pid}-${i}`,
        args: [request],
      })) as RolloutResult;
      const wall = performance.now() - started;
      sums.temporal.turns += viaTemporal.turns;
      sums.temporal.wallMs += wall;
      sums.temporal.modelMs += viaTemporal.modelMs;
      sums.temporal.toolMs += viaTemporal.toolMs;

      const plain = await plainRollout(
        docker,
        new LocalArtifactStore(artifactsDir()),
        RolloutInputSchema.parse(request),
      );
      sums.plain.turns += plain.turns;
      sums.plain.wallMs += plain.wallMs;
      sums.plain.modelMs += plain.modelMs;
      sums.plain.toolMs += plain.toolMs;
      progress(
        `rollout ${i + 1}/${options.rollouts}: ${viaTemporal.exitStatus} in ${viaTemporal.turns} turns`,
      );
    }
  } finally {
    await teacher.close();
  }
  return (['temporal', 'plain'] as const).map((way) => {
    const s = sums[way];
    return {
      way,
      rollouts: options.rollouts,
      ...s,
      overheadShare: (s.wallMs - s.modelMs - s.toolMs) / s.wallMs,
    };
  });
}
