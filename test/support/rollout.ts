import Docker from 'dockerode';
import { prepareRepoImage } from '../../activities/sandbox/repo-image';
import { bugInstruction } from '../../core/agent/instructions';
import type { RolloutRequest } from '../../core/agent/rollout-input';
import { sandboxHostQueue } from '../../core/queues';
import type { Trajectory } from '../../core/agent/trajectory';
import type { ArtifactRef } from '../../core/artifacts';
import { baseImageTag } from '../../infra/base-image';
import { exampleRepository } from '../../infra/example-repo';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { TEACHER_MODEL } from '../../infra/teacher-server';

/** A rollout-1 request on the example repository against the teacher at `baseUrl`. */
export async function exampleRolloutRequest(
  runId: string,
  rolloutId: string,
  baseUrl: string,
  hostId: string,
  overrides: Partial<RolloutRequest> = {},
): Promise<RolloutRequest> {
  const example = exampleRepository();
  const image = await prepareRepoImage(new Docker(), baseImageTag(), {
    repository: example.path,
    commit: example.commit,
  });
  return {
    runId,
    rolloutId,
    kind: 'change',
    // Template 13: boundary conditions.
    task: bugInstruction(13, 'windowed', 'more_itertools/more.py'),
    sandbox: { hostQueue: sandboxHostQueue(hostId), image: image.image, baseCommit: image.commit },
    model: { baseUrl, model: TEACHER_MODEL, seed: 7 },
    heartbeatTimeoutSeconds: 3,
    ...overrides,
  };
}

/** The artifact store the workers use; read at call time, after the test setup chose its folder. */
export function storedArtifacts(): LocalArtifactStore {
  return new LocalArtifactStore(artifactsDir());
}

export async function readArtifact(ref: ArtifactRef): Promise<string> {
  return (await storedArtifacts().get(ref.id)).toString('utf8');
}

export async function readTrajectory(ref: ArtifactRef): Promise<Trajectory> {
  return JSON.parse(await readArtifact(ref)) as Trajectory;
}
