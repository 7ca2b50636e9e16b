import {
  ActivityCancellationType,
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
import type { ExecToArtifactResult, SandboxActivities } from '../activities/sandbox/activities';
import type { ArtifactRef } from '../core/artifacts';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { parsePrepareEnvironmentInput, type PrepareEnvironmentRequest } from '../core/environment-input';
import { recipeInput } from '../core/environment-recipe';
import { testLogParser } from '../core/eval/test-log';
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

  progress.stage = 'claiming-host';
  const host = await shared.claimSandboxHost();
  progress.sandboxHost = host.hostId;
  upsertMemo({ sandboxHost: host.hostId });
  const hostOptions = {
    taskQueue: host.taskQueue,
    startToCloseTimeout: `${input.testTimeoutSeconds + 120}s`,
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
    retry,
  };
  const onHost = proxyActivities<SandboxActivities>(hostOptions);

  progress.stage = 'building-image';
  const image = await imageBuilds(host.taskQueue, input.heartbeatTimeoutSeconds).prepareRepoImage({
    repository: input.repository.path,
    commit: input.repository.commit,
    ...recipeInput(input.recipe),
  });
  progress.image = image.image;

  const name = containerName(input.runId, 'env');
  progress.container = name;
  let run: ExecToArtifactResult;
  try {
    progress.stage = 'creating-sandbox';
    // A cancel waits for the create to end, so the cleanup below cannot race it.
    const creates = patched(CREATE_BEFORE_CLEANUP)
      ? proxyActivities<SandboxActivities>({
          ...hostOptions,
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        })
      : onHost;
    await creates.createSandbox({
      name,
      image: image.image,
      baseCommit: image.commit,
      runId: input.runId,
      workflowId,
      limits: input.limits,
    });
    progress.stage = 'running-tests';
    run = await onHost.execToArtifact({
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
  } finally {
    // Runs even when the workflow is cancelled, so no container outlives its run.
    progress.stage = 'cleaning-up';
    await CancellationScope.nonCancellable(() => onHost.destroySandbox({ name }));
  }
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
