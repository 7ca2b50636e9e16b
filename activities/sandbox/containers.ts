import type Docker from 'dockerode';
import { asSandboxFailure, dockerStatus } from './docker-errors';

export interface SandboxLimits {
  cpus: number;
  memoryMb: number;
  pids: number;
}

export interface CreateSandboxInput {
  /** Deterministic name (core/names.ts): a retried create finds the container it made before. */
  name: string;
  image: string;
  baseCommit: string;
  runId: string;
  workflowId: string;
  limits: SandboxLimits;
}

export interface SandboxHandle {
  name: string;
  id: string;
  baseCommit: string;
}

export const MANAGED_LABEL = 'sera.managed';

/**
 * Creates and starts the container, or returns the one that already has this name. No network,
 * no host mounts, CPU/memory/pids limits, and labels that name the run and the workflow (the
 * reaper uses them).
 */
export async function createSandbox(docker: Docker, input: CreateSandboxInput): Promise<SandboxHandle> {
  const existing = await inspectByName(docker, input.name);
  const id = existing ?? (await createNew(docker, input));
  const container = docker.getContainer(id);
  try {
    await container.start();
  } catch (error) {
    if (dockerStatus(error) !== 304) throw asSandboxFailure(error, `starting container ${input.name}`);
  }
  return { name: input.name, id, baseCommit: input.baseCommit };
}

async function createNew(docker: Docker, input: CreateSandboxInput): Promise<string> {
  try {
    const container = await docker.createContainer({
      name: input.name,
      Image: input.image,
      Cmd: ['sleep', 'infinity'],
      WorkingDir: '/repo',
      Env: [
        'GIT_AUTHOR_NAME=sera',
        'GIT_AUTHOR_EMAIL=sera@localhost',
        'GIT_COMMITTER_NAME=sera',
        'GIT_COMMITTER_EMAIL=sera@localhost',
        'PYTHONDONTWRITEBYTECODE=1',
      ],
      Labels: {
        [MANAGED_LABEL]: 'true',
        'sera.run': input.runId,
        'sera.workflow-id': input.workflowId,
        'sera.base-commit': input.baseCommit,
      },
      HostConfig: {
        NetworkMode: 'none',
        Init: true,
        Memory: input.limits.memoryMb * 1024 * 1024,
        MemorySwap: input.limits.memoryMb * 1024 * 1024,
        NanoCpus: Math.round(input.limits.cpus * 1e9),
        PidsLimit: input.limits.pids,
        SecurityOpt: ['no-new-privileges'],
      },
    });
    return container.id;
  } catch (error) {
    // Two attempts racing on the same name: the other one won, use its container.
    if (dockerStatus(error) === 409) {
      const raced = await inspectByName(docker, input.name);
      if (raced) return raced;
    }
    throw asSandboxFailure(error, `creating container ${input.name}`);
  }
}

async function inspectByName(docker: Docker, name: string): Promise<string | undefined> {
  try {
    const info = await docker.getContainer(name).inspect();
    return info.Id;
  } catch (error) {
    if (dockerStatus(error) === 404) return undefined;
    throw asSandboxFailure(error, `inspecting container ${name}`);
  }
}

/** Removes the container. Removing one that is already gone succeeds. */
export async function destroySandbox(docker: Docker, name: string): Promise<{ removed: boolean }> {
  try {
    await docker.getContainer(name).remove({ force: true, v: true });
    return { removed: true };
  } catch (error) {
    const status = dockerStatus(error);
    if (status === 404) return { removed: false };
    // "removal already in progress": another attempt is removing it.
    if (status === 409) return { removed: false };
    throw asSandboxFailure(error, `removing container ${name}`);
  }
}

export interface ManagedContainer {
  name: string;
  runId: string;
  workflowId: string;
  state: string;
}

export async function listManagedContainers(docker: Docker): Promise<ManagedContainer[]> {
  try {
    const list = await docker.listContainers({ all: true, filters: { label: [`${MANAGED_LABEL}=true`] } });
    return list.map((c) => ({
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      runId: c.Labels['sera.run'] ?? '',
      workflowId: c.Labels['sera.workflow-id'] ?? '',
      state: c.State,
    }));
  } catch (error) {
    throw asSandboxFailure(error, 'listing containers');
  }
}
