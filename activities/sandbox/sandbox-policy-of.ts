import type Docker from 'dockerode';

/** The label a sandbox carries its policy in (activities/sandbox/containers.ts writes it). */
export const POLICY_LABEL = 'sera.policy';

/** What an exec, a file write and the probe need to know about a sandbox. */
export interface ContainerPolicy {
  /** `uid:gid` for the engine's exec; undefined for containers made before policies (root). */
  user?: string;
  uid: number;
  gid: number;
  fileMb?: number;
  memoryMb?: number;
  pids?: number;
  diskMb?: number;
  scratchMb?: number;
  inodes?: number;
}

const ROOT: ContainerPolicy = { uid: 0, gid: 0 };
/** Read once per container name for a while: a container's labels never change. */
const TTL_MS = 60_000;
const cache = new Map<string, { policy: ContainerPolicy; at: number }>();

export async function policyOf(docker: Docker, container: string): Promise<ContainerPolicy> {
  const hit = cache.get(container);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.policy;
  const info = await docker.getContainer(container).inspect();
  const policy = parsePolicy(info.Config.Labels?.[POLICY_LABEL]);
  if (cache.size > 10_000) cache.clear();
  cache.set(container, { policy, at: Date.now() });
  return policy;
}

/** A made-again container may carry another policy under the same name. */
export function forgetPolicy(container: string): void {
  cache.delete(container);
}

export function parsePolicy(label: string | undefined): ContainerPolicy {
  if (!label) return ROOT;
  const raw = JSON.parse(label) as Omit<ContainerPolicy, 'uid' | 'gid'> & { user: string };
  const [uid, gid] = raw.user.split(':').map(Number);
  return { ...raw, uid: uid ?? 0, gid: gid ?? uid ?? 0 };
}

/**
 * Where the harness keeps its own files in a container: its tmpfs, which the agent's filling of
 * /repo or /tmp cannot take away; /tmp in containers made before policies.
 */
export async function harnessDir(docker: Docker, container: string): Promise<string> {
  const policy = await policyOf(docker, container);
  return policy.user === undefined ? '/tmp' : '/run/sera';
}
