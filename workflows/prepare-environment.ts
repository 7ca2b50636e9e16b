import {
  ActivityCancellationType,
  type ActivityOptions,
  type RetryPolicy,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ExecToArtifactResult, SandboxActivities, SandboxHost } from '../activities/sandbox/activities';
import type { RepoImage } from '../activities/sandbox/repo-image';
import type { ArtifactRef } from '../core/artifacts';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { parsePrepareEnvironmentInput, type PrepareEnvironmentRequest } from '../core/environment-input';
import { recipeInput } from '../core/environment-recipe';
import { testLogParser } from '../core/eval/test-log';
import { hostLost } from '../core/host-lost';
import { onLiveHost, optionsThatNoticeLoss } from './host-moves';
import { containerName } from '../core/names';
import { parsePytestSummary, type PytestSummary } from '../core/pytest-summary';
import { TaskQueues } from '../core/queues';
import { SearchAttributes } from '../core/search-attributes';
import { imageBuilds } from './image-builds';
import { CREATE_BEFORE_CLEANUP } from './rollout';

export type EnvironmentStage =
  | 'validating'
  | 'claiming-host'
  | 'building-image'
  | 'creating-sandbox'
  | 'running-tests'
  | 'cleaning-up'
  | 'done';

export interface EnvironmentProgress {
  stage: EnvironmentStage;
  sandboxHost?: string;
  image?: string;
  container?: string;
}

export interface PrepareEnvironmentResult {
  runId: string;
  repository: string;
  commit: string;
  image: string;
  sandboxHost: string;
  exitCode: number;
  passed: boolean;
  durationMs: number;
  truncated: boolean;
  summary?: PytestSummary;
  output: ArtifactRef;
  outputTail: string;
  /** The image builder's output, when this run built the image. */
  buildLog?: ArtifactRef;
}

export const environmentProgressQuery = defineQuery<EnvironmentProgress>('progress');

const retry = {
  maximumAttempts: 5,
  initialInterval: '2s',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

// Only claimSandboxHost goes to the shared queue: any sandbox worker may answer, and from then on
// every call goes to the queue of the host that answered, where the containers are.
const shared = proxyActivities<Pick<SandboxActivities, 'claimSandboxHost'>>({
  taskQueue: TaskQueues.sandbox,
  startToCloseTimeout: '30s',
  retry,
});

/**
 * Workflow patch (docs/operations.md): the image build and the test run move to another host when
 * theirs is lost (its engine does not answer, or a task waited hostStartTimeoutSeconds on its
 * queue), claiming again and building the image there (workflows/host-moves.ts); claims wait out
 * hosts at their container cap. Before it, the check stayed on the host it claimed.
 */
export const ENVIRONMENT_MOVES_HOSTS = 'environment-moves-hosts';

/** What one host gave: the image it built and the test run in it. */
interface OnHost {
  host: SandboxHost;
  image: RepoImage;
  run: ExecToArtifactResult;
}

/**
 * Prepares a sandbox for a repository at a commit, runs its test command there and removes the
 * sandbox again. The output goes to the artifact store; the history keeps its tail.
 */
export async function prepareEnvironment(
  request: PrepareEnvironmentRequest,
): Promise<PrepareEnvironmentResult> {
  const progress: EnvironmentProgress = { stage: 'validating' };
  setHandler(environmentProgressQuery, () => progress);

  const parsed = parsePrepareEnvironmentInput(request);
  if (!parsed.ok)
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: parsed.message,
      nonRetryable: true,
    });
  const input = parsed.value;
  const { workflowId } = workflowInfo();
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.repository, value: input.repository.path },
    { key: SearchAttributes.stage, value: 'environment' },
  ]);

  const moves = patched(ENVIRONMENT_MOVES_HOSTS);
  const name = containerName(input.runId, 'env');

  /** Builds the image on `host`, runs the tests in a fresh container there and removes it. */
  const onHost = async (host: SandboxHost, moved: number): Promise<OnHost> => {
    progress.sandboxHost = host.hostId;
    upsertMemo({ sandboxHost: host.hostId });
    // With the patch, a task no worker takes in time, or a dead engine, means a lost host: the
    // check moves instead of waiting.
    const noticeLoss = (options: ActivityOptions & { retry: RetryPolicy }): ActivityOptions =>
      moves ? optionsThatNoticeLoss(options, input.hostStartTimeoutSeconds) : options;
    const hostOptions = noticeLoss({
      taskQueue: host.taskQueue,
      startToCloseTimeout: `${input.testTimeoutSeconds + 120}s`,
      heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
      retry,
    });
    const activities = proxyActivities<SandboxActivities>(hostOptions);

    progress.stage = 'building-image';
    const builds = imageBuilds(
      host.taskQueue,
      input.heartbeatTimeoutSeconds,
      moves ? input.hostStartTimeoutSeconds : undefined,
    );
    const image = await builds.prepareRepoImage({
      repository: input.repository.path,
      commit: input.repository.commit,
      ...recipeInput(input.recipe),
    });
    progress.image = image.image;

    progress.container = name;
    try {
      progress.stage = 'creating-sandbox';
      // A cancel waits for the create to end, so the cleanup below cannot race it.
      const creates = patched(CREATE_BEFORE_CLEANUP)
        ? proxyActivities<SandboxActivities>({
            ...hostOptions,
            cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          })
        : activities;
      // A host the check left may have come back: a container of this run there is half used.
      if (moved > 0) await activities.destroySandbox({ name });
      await creates.createSandbox({
        name,
        image: image.image,
        baseCommit: image.commit,
        runId: input.runId,
        workflowId,
        limits: input.limits,
      });
      progress.stage = 'running-tests';
      const run = await activities.execToArtifact({
        container: name,
        // Other runners print each test only with their report flags (go test -v, vitest's verbose
        // reporter); pytest's closing line counts without them.
        command:
          input.testRunner === 'pytest'
            ? input.testCommand
            : `${input.testCommand} ${testLogParser(input.testRunner).reportFlags}`,
        timeoutSeconds: input.testTimeoutSeconds,
        outputCapBytes: input.outputCapBytes,
        ...(input.testRunner !== 'pytest' ? { testRunner: input.testRunner } : {}),
      });
      return { host, image, run };
    } finally {
      // Runs even when the workflow is cancelled, so no container outlives its run. On a lost
      // host the container stays until that host's reaper removes it.
      progress.stage = 'cleaning-up';
      await CancellationScope.nonCancellable(() => activities.destroySandbox({ name })).catch(
        (error: unknown) => {
          if (!moves || !hostLost(error)) throw error;
        },
      );
    }
  };

  const claiming = (): void => {
    progress.stage = 'claiming-host';
  };
  let done: OnHost;
  if (moves) done = await onLiveHost(onHost, claiming);
  else {
    claiming();
    done = await onHost(await shared.claimSandboxHost(), 0);
  }
  const { host, image, run } = done;
  progress.stage = 'done';

  const summary = run.tests ?? parsePytestSummary(run.outputTail);
  const result: PrepareEnvironmentResult = {
    runId: input.runId,
    repository: input.repository.path,
    commit: image.commit,
    image: image.image,
    sandboxHost: host.hostId,
    exitCode: run.exitCode,
    passed: run.exitCode === 0,
    durationMs: run.durationMs,
    truncated: run.truncated,
    summary,
    output: run.outputRef,
    outputTail: run.outputTail,
    ...(image.buildLog ? { buildLog: image.buildLog } : {}),
  };
  if (!result.passed && input.requireTestsPass) {
    const lastLines = run.outputTail.trimEnd().split('\n').slice(-8).join('\n');
    throw ApplicationFailure.create({
      type: ErrorTypes.TestCommandFailed,
      message:
        `the test command exited with ${run.exitCode} at ${image.commit.slice(0, 12)}` +
        `${summary ? ` (${summary.line})` : ''}; full output: artifact ${run.outputRef.id}\n${lastLines}`,
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}
