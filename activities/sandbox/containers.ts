import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { activityContext } from '../common/activity-context';
import { sandboxPolicy, type SandboxLimitsRequest, type SandboxPolicy } from '../../core/sandbox-policy';
import { userSpec } from '../../core/sandbox-user';
import { asSandboxFailure, dockerStatus } from './docker-errors';
import { writeSandboxFile } from './files';
import { execInSandbox } from './exec';
import { copyFromImage, sourceContainer, type CopiedSize } from './repo-copy';
import { forgetPolicy, POLICY_LABEL } from './sandbox-policy-of';
import { callerExecution, EXECUTION_LABEL, executionFile } from './execution-owner';

export type SandboxLimits = SandboxLimitsRequest;

export interface CreateSandboxInput {
  /** Deterministic name (core/names.ts): a retried create finds the container it made before. */
  name: string;
  image: string;
  baseCommit: string;
  runId: string;
  workflowId: string;
  limits: SandboxLimits;
  /**
   * The workflow run the container is for (activities/sandbox/execution-owner.ts); default: the
   * calling activity's run. Only a container made for this same run is adopted.
   */
  execution?: string;
}

export interface SandboxHandle {
  name: string;
  id: string;
  baseCommit: string;
}

export const MANAGED_LABEL = 'sera.managed';
/** The harness's own writable place: its diff index and objects, tool results, the ready mark. */
export const HARNESS_DIR = '/run/sera';
const READY_FILE = `${HARNESS_DIR}/ready`;
/**
 * The one capability the sandbox keeps: the harness reads the agent's files as root to take the
 * diff, whatever their modes. Commands of a non-root user never hold it (docs/sandbox-security.md).
 */
export const SANDBOX_CAPABILITIES: readonly string[] = ['DAC_READ_SEARCH'];

/**
 * Creates and starts the container and copies the image's /repo into it, or returns the one that
 * already has this name when that one was made for the same workflow run (a retried attempt),
 * is running and was filled. A container of another run (left by a run before a reset, or by an
 * earlier run of the same id) is removed first: its /repo and tool results are not this run's.
 * No network, no capability but the harness's one, a read-only root filesystem with /repo, /tmp
 * and the harness's folder as bounded tmpfs, and labels that name the run, the workflow and its
 * run (the reaper and the tool calls use them) and carry the policy (the exec and the probe read it).
 */
export async function createSandbox(docker: Docker, input: CreateSandboxInput): Promise<SandboxHandle> {
  const policy = policyFor(input.limits);
  const execution = input.execution ?? callerExecution()?.runId;
  forgetPolicy(input.name);
  const existing = await inspectByName(docker, input.name);
  if (existing && existing.execution !== execution) {
    warn(
      `removing stale container ${input.name}: made for workflow run ${existing.execution ?? '(unrecorded)'}, ` +
        `not for this run ${execution ?? '(none)'}`,
    );
    await destroySandbox(docker, input.name);
  } else if (existing) {
    if (await isReady(docker, input.name, existing))
      return { name: input.name, id: existing.id, baseCommit: input.baseCommit };
    // A container that never got its repository (an attempt died while filling it) or that
    // stopped (tmpfs empties then) is of no use: make it again.
    await destroySandbox(docker, input.name);
  }
  const id = await createNew(docker, { ...input, execution }, policy);
  const container = docker.getContainer(id);
  try {
    await container.start();
  } catch (error) {
    if (dockerStatus(error) !== 304) throw asSandboxFailure(error, `starting container ${input.name}`);
  }
  await fill(docker, { ...input, execution }, policy);
  return { name: input.name, id, baseCommit: input.baseCommit };
}

function warn(message: string): void {
  const log = activityContext()?.log;
  if (log) log.warn(message);
  else console.warn(message);
}

/**
 * The build caches setup warmed in root's home, copied to the sandbox's cache folder when they fit
 * in half of /tmp: an empty Go build cache compiles the standard library again on every first test
 * run (28 s instead of 1 s for google/uuid on one CPU).
 */
const WARM_CACHES = [{ from: '/root/.cache/go-build', under: '.cache/go-build' }];

/** The /repo of the image and the warm caches, owned by the sandbox's user, then the ready mark. */
async function fill(docker: Docker, input: CreateSandboxInput, policy: SandboxPolicy): Promise<void> {
  let copied: CopiedSize | undefined;
  const source = await sourceContainer(docker, {
    image: input.image,
    name: input.name,
    runId: input.runId,
    workflowId: input.workflowId,
  });
  try {
    copied = await copyFromImage(docker, {
      source,
      from: '/repo',
      into: input.name,
      to: '/repo',
      owner: policy.user,
    });
    if (copied && !copied.outOfSpace) await warmCaches(docker, input, policy, source);
  } catch (error) {
    await destroySandbox(docker, input.name);
    throw error;
  } finally {
    await source.remove({ force: true }).catch(() => undefined);
  }
  if (!copied) {
    await destroySandbox(docker, input.name);
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `the image ${input.image} has no /repo: the sandbox runs in the repository there`,
      nonRetryable: true,
    });
  }
  if (copied.outOfSpace) {
    await destroySandbox(docker, input.name);
    const mb = Math.ceil(copied.bytes / 2 ** 20);
    // Whichever ran out: files, or bytes (tmpfs rounds every file up to a page, hence the margin).
    const advice =
      copied.entries >= policy.inodes
        ? `raise inodes to at least ${copied.entries * 2}`
        : `raise diskMb to at least ${mb * 2} (and memoryMb with it)`;
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message:
        `the image's /repo (${input.image}) is ${mb} MB in ${copied.entries} files and folders, more than the sandbox holds ` +
        `(limits.diskMb ${policy.diskMb}, limits.inodes ${policy.inodes}): ${advice}`,
      nonRetryable: true,
    });
  }
  // The run that uses the container, before the ready mark: a tool call checks it (execution-owner.ts).
  if (input.execution)
    await writeSandboxFile(docker, input.name, executionFile(HARNESS_DIR), input.execution, 'private');
  await writeSandboxFile(docker, input.name, READY_FILE, '', 'private');
}

async function warmCaches(
  docker: Docker,
  input: CreateSandboxInput,
  policy: SandboxPolicy,
  source: Docker.Container,
): Promise<void> {
  for (const cache of WARM_CACHES) {
    const copied = await copyFromImage(docker, {
      source,
      from: cache.from,
      into: input.name,
      to: '/tmp',
      under: cache.under,
      owner: policy.user,
    });
    // Too big for the room it may take: the tools make their own, slower but in bounds.
    if (copied && (copied.outOfSpace || copied.bytes > (policy.scratchMb * 2 ** 20) / 2))
      await execInSandbox(docker, {
        container: input.name,
        command: `rm -rf /tmp/${cache.under}`,
        timeoutSeconds: 60,
        outputCapBytes: 4096,
      });
  }
}

async function isReady(docker: Docker, name: string, seen: Inspected): Promise<boolean> {
  if (!seen.running) return false;
  try {
    await docker.getContainer(name).getArchive({ path: READY_FILE });
    return true;
  } catch {
    return false;
  }
}

/** The limits as a policy; a user that is no user (the schema refuses it earlier) is bad input. */
function policyFor(limits: SandboxLimits): SandboxPolicy {
  try {
    return sandboxPolicy(limits);
  } catch (error) {
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: (error as Error).message,
      nonRetryable: true,
    });
  }
}

/** A tmpfs volume: bounded in bytes and in files on any host; Docker's archive calls reach it. */
function tmpfsMount(target: string, options: string): Docker.MountSettings {
  return {
    Type: 'volume',
    Target: target,
    Source: '',
    VolumeOptions: {
      NoCopy: true,
      Labels: {},
      DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs', o: options } },
    },
  };
}

async function createNew(docker: Docker, input: CreateSandboxInput, policy: SandboxPolicy): Promise<string> {
  const { uid, gid } = policy.user;
  const owned = `uid=${uid},gid=${gid}`;
  try {
    const container = await docker.createContainer({
      name: input.name,
      Image: input.image,
      // The main process stays root, so the agent's `kill -9 -1` cannot stop its own sandbox.
      User: '0:0',
      Cmd: ['sleep', 'infinity'],
      WorkingDir: '/repo',
      Env: [
        'GIT_AUTHOR_NAME=sera',
        'GIT_AUTHOR_EMAIL=sera@localhost',
        'GIT_COMMITTER_NAME=sera',
        'GIT_COMMITTER_EMAIL=sera@localhost',
        'PYTHONDONTWRITEBYTECODE=1',
        // The root filesystem is read-only: caches and a non-root user's home live in /tmp.
        // Root's home too: it is read-only, and tools write there (pip --user, git config).
        'HOME=/tmp',
        'XDG_CACHE_HOME=/tmp/.cache',
        'npm_config_cache=/tmp/.npm',
      ],
      Labels: {
        [MANAGED_LABEL]: 'true',
        'sera.run': input.runId,
        'sera.workflow-id': input.workflowId,
        'sera.base-commit': input.baseCommit,
        ...(input.execution ? { [EXECUTION_LABEL]: input.execution } : {}),
        [POLICY_LABEL]: JSON.stringify({
          user: userSpec(policy.user),
          fileMb: policy.fileMb,
          memoryMb: policy.memoryMb,
          pids: policy.pids,
          diskMb: policy.diskMb,
          scratchMb: policy.scratchMb,
          inodes: policy.inodes,
        }),
      },
      HostConfig: {
        NetworkMode: 'none',
        Init: true,
        Memory: policy.memoryMb * 1024 * 1024,
        MemorySwap: policy.memoryMb * 1024 * 1024,
        NanoCpus: Math.round(policy.cpus * 1e9),
        PidsLimit: policy.pids,
        SecurityOpt: ['no-new-privileges'],
        CapDrop: ['ALL'],
        CapAdd: [...SANDBOX_CAPABILITIES],
        ReadonlyRootfs: true,
        Mounts: [
          tmpfsMount('/repo', `size=${policy.diskMb}m,nr_inodes=${policy.inodes},mode=0755,${owned}`),
          tmpfsMount('/tmp', `size=${policy.scratchMb}m,nr_inodes=${policy.inodes},mode=1777`),
          // Root's: the agent may read a file it is given the path of (the restore patch), no more.
          tmpfsMount(HARNESS_DIR, `size=${policy.diskMb}m,nr_inodes=${policy.inodes},mode=0711`),
        ],
      },
    });
    return container.id;
  } catch (error) {
    // Two attempts racing on the same name: the other one won, use its container. A create of
    // another run's is not ours: fail retryably, and the next attempt removes it.
    if (dockerStatus(error) === 409) {
      const raced = await inspectByName(docker, input.name);
      if (raced && raced.execution === input.execution) return raced.id;
    }
    throw asSandboxFailure(error, `creating container ${input.name}`);
  }
}

interface Inspected {
  id: string;
  running: boolean;
  /** The workflow run it was made for; undefined for containers made outside Temporal or before the label. */
  execution?: string;
}

async function inspectByName(docker: Docker, name: string): Promise<Inspected | undefined> {
  try {
    const info = await docker.getContainer(name).inspect();
    return { id: info.Id, running: info.State.Running, execution: info.Config.Labels?.[EXECUTION_LABEL] };
  } catch (error) {
    if (dockerStatus(error) === 404) return undefined;
    throw asSandboxFailure(error, `inspecting container ${name}`);
  }
}

/** Removes the container and its volumes. Removing one that is already gone succeeds. */
export async function destroySandbox(docker: Docker, name: string): Promise<{ removed: boolean }> {
  forgetPolicy(name);
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
