import os from 'node:os';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { heartbeat, whileHeartbeating } from '../common/activity-context';
import { callerExecution, claimContainer, continuedFromOn } from './execution-owner';
import type { Client } from '@temporalio/client';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { testCounts } from '../../core/eval/test-counts';
import { patchStats, type PatchStats } from '../../core/patch-stats';
import type { PytestSummary } from '../../core/pytest-summary';
import { sandboxHostQueue } from '../../core/queues';
import { capacityRefusal, ClaimBook, hostLoad } from '../../core/host-capacity';
import {
  createSandbox,
  destroySandbox,
  listManagedContainers,
  type CreateSandboxInput,
  type SandboxHandle,
} from './containers';
import { execInSandbox, type ExecInput, type ExecResult } from './exec';
import { harnessDir } from './sandbox-policy-of';
import { diffCommand, splitDiffOutput } from '../../core/diff-command';
import { readSandboxFile, writeSandboxFile } from './files';
import { asSandboxFailure } from './docker-errors';
import { reapOrphans, workflowRunningOn } from './reaper';
import { prepareRepoImage, type RepoImage, type RepoImageInput, type RepoImageOptions } from './repo-image';
import { singleFlight } from '../../core/single-flight';

export interface SandboxDeps {
  docker: Docker;
  hostId: string;
  baseImage: string;
  artifacts: ArtifactStore;
  client: Client;
  /**
   * Containers this host may run (core/host-capacity.ts): a claim above it is refused retryably.
   * Unset: no cap (tests that call the activities directly).
   */
  maxContainers?: number;
}

export interface SandboxHost {
  hostId: string;
  taskQueue: string;
}

/** A host claimed for one repository: its image is built there (once) before the claim returns. */
export interface SandboxHostWithImage extends SandboxHost, RepoImage {}

/** What a claim's caller will do on the host, when it is not a rollout's one container. */
export interface ClaimNeed {
  /** false: the caller makes no container (it reads files), so the host's cap does not apply. */
  container?: boolean;
  /** false: the caller's container is not made with createSandbox, so no place is reserved for it. */
  reserve?: boolean;
}

export interface ExecToArtifactResult extends Omit<ExecResult, 'output'> {
  /** The whole (capped) output, stored as an artifact. */
  outputRef: ArtifactRef;
  /** Its last lines, for the history and the UI. */
  outputTail: string;
  /** Counts read with the test runner's log parser, when one was named. */
  tests?: PytestSummary;
}

export interface DiffResult extends PatchStats {
  patch: ArtifactRef;
}

const TAIL_CHARS = 1500;

/** Failures of one host's set-up, not of the run: another host may serve the claim. */
const HOST_UNFIT = new Set<string>([
  ErrorTypes.RepositoryNotFound,
  ErrorTypes.RepositoryUnreachable,
  ErrorTypes.ImageNotFound,
  ErrorTypes.CommitNotFound,
  ErrorTypes.BaseImageMissing,
  ErrorTypes.ImageBuildFailed,
]);

/**
 * The sandbox role's activities, bound to one Docker host. claimSandboxHost runs on the shared
 * sandbox queue; every other activity runs on the host's own queue, where its containers are.
 */
export function createSandboxActivities(deps: SandboxDeps) {
  const { docker } = deps;
  const engineAnswers = async (): Promise<void> => {
    await docker.ping().catch((error: unknown) => {
      throw asSandboxFailure(error, `sandbox host ${deps.hostId}`);
    });
  };
  const claims = new ClaimBook();
  /**
   * Refuses (retryably) a claim that would take the host past its container cap. With `reserve`,
   * a claim that fits holds a place until its workflow's container runs: the check and the
   * reservation happen with no await between them, so claims answered at once cannot all pass.
   */
  const withinCap = async (reserve: boolean): Promise<void> => {
    const cap = deps.maxContainers;
    if (cap === undefined) return;
    const containers = await listManagedContainers(docker);
    const refusal = capacityRefusal(deps.hostId, hostLoad(containers, claims.list(), Date.now()), cap);
    if (refusal)
      throw ApplicationFailure.create({
        type: ErrorTypes.SandboxHostFull,
        message: refusal,
        nonRetryable: false,
      });
    const workflowId = callerExecution()?.workflowId;
    if (reserve && workflowId) claims.reserve(workflowId);
  };
  // Solves of one base commit claim at once: the host builds their image once (the joiners'
  // tickers keep their own heartbeats going; the first build's output lines go to its own).
  const building = singleFlight<RepoImage>();
  const buildOnce = (input: RepoImageInput, options: RepoImageOptions): Promise<RepoImage> =>
    building(JSON.stringify(input), () => prepareRepoImage(docker, deps.baseImage, input, options));
  /**
   * An image build's heartbeats carry its latest output line (the UI shows it on the pending
   * activity); a ticker keeps them going through long silent steps. The log goes to the store.
   */
  const imageBuild = () => {
    let latest = '';
    const beat = (): void => heartbeat({ building: latest });
    const ticker = setInterval(beat, 2000);
    return {
      options: {
        artifacts: deps.artifacts,
        progress: (line: string) => {
          latest = line.slice(0, 300);
          beat();
        },
      },
      stop: () => clearInterval(ticker),
    };
  };
  return {
    /**
     * Any live sandbox worker may answer on the shared queue; one whose engine is down, or that
     * runs its cap of containers, refuses (retryably), so the retry goes to another host. Its
     * callers make at most one container, after an image build: nothing is reserved. A caller
     * that makes none (`container: false`: it reads files) is not held to the cap.
     */
    async claimSandboxHost(need: ClaimNeed = {}): Promise<SandboxHost> {
      await engineAnswers();
      if (need.container !== false) await withinCap(false);
      return { hostId: deps.hostId, taskQueue: sandboxHostQueue(deps.hostId) };
    },

    /**
     * Claims a host as above and builds the repository's image there (once) before answering. A
     * host that cannot (the repository missing at that path here, no base image, a failed build)
     * refuses retryably, so the retry can go to a host that can: the run already built this
     * image once on the host it started on. A host at its container cap refuses too, before the
     * build; a claim that fits reserves its container's place (the caller creates it next with
     * createSandbox, which releases it). A caller whose container comes otherwise (a grading)
     * passes `reserve: false`: its claim is checked against the cap but holds no place.
     */
    async claimHostForRepository(
      repository: RepoImageInput,
      need: ClaimNeed = {},
    ): Promise<SandboxHostWithImage> {
      await engineAnswers();
      const reserve = need.reserve !== false;
      await withinCap(reserve);
      const workflowId = reserve ? callerExecution()?.workflowId : undefined;
      const build = imageBuild();
      try {
        const image = await buildOnce(repository, build.options);
        // A long build ages the reservation: it counts from now, when the container comes next.
        if (workflowId && deps.maxContainers !== undefined) claims.reserve(workflowId);
        return { hostId: deps.hostId, taskQueue: sandboxHostQueue(deps.hostId), ...image };
      } catch (error) {
        if (workflowId) claims.release(workflowId);
        if (error instanceof ApplicationFailure && error.type && HOST_UNFIT.has(error.type))
          throw ApplicationFailure.create({
            type: ErrorTypes.SandboxHostUnfit,
            message: `sandbox host ${deps.hostId} cannot serve ${repository.repository}: ${error.message}`,
            nonRetryable: false,
          });
        throw error;
      } finally {
        build.stop();
      }
    },

    async prepareRepoImage(input: RepoImageInput): Promise<RepoImage> {
      const build = imageBuild();
      try {
        return await buildOnce(input, build.options);
      } finally {
        build.stop();
      }
    },

    /** Heartbeats throughout: copying the repository and caches into the sandbox takes a while. */
    async createSandbox(input: CreateSandboxInput): Promise<SandboxHandle> {
      try {
        return await whileHeartbeating(() => createSandbox(docker, input));
      } finally {
        // The claim's place is taken by the container now (or given up): it no longer counts twice,
        // nor after the container is gone.
        if (input.workflowId) claims.release(input.workflowId);
      }
    },

    async execInSandbox(input: ExecInput): Promise<ExecResult> {
      return execInSandbox(docker, input, heartbeat);
    },

    /**
     * Like execInSandbox, but the output goes to the artifact store and only its tail to the
     * history. With a test runner other than pytest (whose closing line the tail holds), the
     * whole log is counted here with that runner's parser.
     */
    async execToArtifact(input: ExecInput & { testRunner?: string }): Promise<ExecToArtifactResult> {
      const { testRunner, ...exec } = input;
      const { output, ...rest } = await execInSandbox(docker, exec, heartbeat);
      const outputRef = await whileHeartbeating(() => deps.artifacts.put(output, 'text/plain'));
      const tests = testRunner && testRunner !== 'pytest' ? testCounts(testRunner, output) : undefined;
      return { ...rest, outputRef, outputTail: output.slice(-TAIL_CHARS), ...(tests ? { tests } : {}) };
    },

    async writeSandboxFile(input: { container: string; path: string; content: string }): Promise<void> {
      await writeSandboxFile(docker, input.container, input.path, input.content);
    },

    async readSandboxFile(input: { container: string; path: string }): Promise<string | undefined> {
      return readSandboxFile(docker, input.container, input.path);
    },

    /** The patch the sandbox holds against the base commit (core/diff-command.ts), stored as an artifact. */
    async sandboxDiff(input: { container: string; baseCommit: string }): Promise<DiffResult> {
      // A reset or rerun must not read the patch another run left in the container.
      const execution = callerExecution();
      if (execution) await claimContainer(docker, input.container, execution, continuedFromOn(deps.client));
      const result = await execInSandbox(
        docker,
        {
          container: input.container,
          command: diffCommand(await harnessDir(docker, input.container), input.baseCommit),
          timeoutSeconds: 120,
          outputCapBytes: 64 * 1024 * 1024,
          asHarness: true,
        },
        heartbeat,
      );
      if (result.exitCode !== 0) throw new Error(`git diff failed in ${input.container}: ${result.output}`);
      const { diff } = splitDiffOutput(result.output);
      const patch = await whileHeartbeating(() => deps.artifacts.put(diff, 'text/x-diff'));
      return { patch, ...patchStats(diff) };
    },

    async resetSandbox(input: { container: string; baseCommit: string }): Promise<void> {
      const result = await execInSandbox(docker, {
        container: input.container,
        // -fd, not -fdx: ignored files are what the recipe's setup made (node_modules, *.egg-info).
        command: `git reset -q --hard ${input.baseCommit} && git clean -qfd`,
        timeoutSeconds: 120,
        outputCapBytes: 64 * 1024,
      });
      if (result.exitCode !== 0) throw new Error(`reset failed in ${input.container}: ${result.output}`);
    },

    async destroySandbox(input: { name: string }): Promise<{ removed: boolean }> {
      return whileHeartbeating(() => destroySandbox(docker, input.name));
    },

    async reapOrphanContainers(): Promise<{ removed: string[]; kept: number }> {
      return reapOrphans(docker, workflowRunningOn(deps.client));
    },
  };
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;

export function defaultSandboxHostId(): string {
  return process.env.SERA_SANDBOX_HOST_ID ?? os.hostname();
}
