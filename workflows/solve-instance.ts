import {
  ActivityFailure,
  ChildWorkflowFailure,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { GradeInput, GradeResult, InstanceHead } from '../activities/eval/activities';
import type { ModelSettings, RolloutInput, RolloutLimits } from '../core/agent/rollout-input';
import { evalTaskSummary } from '../core/activity-summary';
import type { ArtifactRef } from '../core/artifacts';
import type { SandboxLimits } from '../core/environment-input';
import { languageList } from '../core/language-setting';
import type { RepoEnvironment } from '../core/eval/eval-input';
import { containerName } from '../core/names';
import { recipeInput } from '../core/environment-recipe';
import { HOST_START_TIMEOUT_SECONDS, hostLost } from '../core/host-lost';
import { gradeWithoutTests, type GradeRecord } from '../core/eval/grading';
import { rollout, type RolloutResult } from './rollout';
import { hostActivities, storedInstances } from './eval-common';
import { onRepositoryHost } from './host-moves';
import { callWithSummary } from './with-summary';

export interface SolveInstanceInput {
  runId: string;
  seed: number;
  head: InstanceHead;
  instances: ArtifactRef;
  /**
   * The evaluation's host and the image of the base commit there (evaluations from before patch
   * eval-moves-hosts). Without them the solve claims hosts itself and moves off a lost one.
   */
  hostQueue?: string;
  image?: string;
  /** A task that waits this long on a claimed host's queue counts as a lost host (moving solves). */
  hostStartTimeoutSeconds?: number;
  environment: RepoEnvironment;
  model: ModelSettings;
  solve: RolloutLimits;
  limits: SandboxLimits;
  heartbeatTimeoutSeconds: number;
}

export interface SolveInstanceResult {
  seed: number;
  instanceId: string;
  exitStatus: RolloutResult['exitStatus'] | 'failed';
  detail?: string;
  turns: number;
  promptTokens: number;
  completionTokens: number;
  trajectory?: ArtifactRef;
  grade: GradeRecord | GradeResult;
}

/** A name that is valid in container names and workflow ids. */
export function solveKey(seed: number, instanceId: string): string {
  return `s${seed}-${instanceId.replace(/[^a-zA-Z0-9_.-]+/g, '-')}`;
}

/** Grading that fails past its retries is this instance's error, with the reason. */
async function gradeOrRecord(
  instanceId: string,
  grade: () => Promise<GradeResult>,
): Promise<GradeRecord | GradeResult> {
  try {
    return await grade();
  } catch (error) {
    if (!(error instanceof ActivityFailure) || isCancellation(error)) throw error;
    return gradeWithoutTests(instanceId, 'error', `grading failed: ${error.cause?.message ?? error.message}`);
  }
}

/** Where a solve's steps run: one given host, or hosts it claims and leaves when they are lost. */
interface Placement {
  problem(): Promise<string>;
  sandbox: Partial<
    Pick<RolloutInput['sandbox'], 'hostQueue' | 'image' | 'repository' | 'recipe' | 'hostStartTimeoutSeconds'>
  >;
  /** Grades on the host the rollout ended on, if it still answers, else on one claimed for it. */
  grade(request: Omit<GradeInput, 'image'>, rolled: RolloutResult): Promise<GradeResult>;
}

function placement(input: SolveInstanceInput): Placement {
  const testTimeout = input.environment.testTimeoutSeconds;
  const summary = (step: string) => evalTaskSummary(input.seed, input.head.instanceId, step);
  const problemRequest = { instances: input.instances, instanceId: input.head.instanceId };
  if (input.hostQueue !== undefined && input.image !== undefined) {
    const host = hostActivities(input.hostQueue, testTimeout, input.heartbeatTimeoutSeconds);
    const image = input.image;
    return {
      problem: () => callWithSummary(host.instanceProblem, summary('problem statement'), problemRequest),
      sandbox: { hostQueue: input.hostQueue, image },
      grade: (request) => callWithSummary(host.gradePrediction, summary('grade'), { ...request, image }),
    };
  }
  const hostStart = input.hostStartTimeoutSeconds ?? HOST_START_TIMEOUT_SECONDS;
  const gradeOn = (host: { queue: string; image: string }, request: Omit<GradeInput, 'image'>) =>
    callWithSummary(
      hostActivities(host.queue, testTimeout, input.heartbeatTimeoutSeconds, hostStart).gradePrediction,
      summary('grade'),
      { ...request, image: host.image },
    );
  const recipe = recipeInput(input.environment);
  const repository = { repository: input.environment.path, commit: input.head.baseCommit, ...recipe };
  return {
    // The stored instances are read where the store is: no sandbox host is needed.
    problem: () =>
      callWithSummary(storedInstances.instanceProblem, summary('problem statement'), problemRequest),
    // The rollout claims a host holding the image, and moves off it when it is lost.
    sandbox: { repository: repository.repository, ...recipe, hostStartTimeoutSeconds: hostStart },
    grade: async (request, rolled) => {
      if (rolled.lastHost)
        try {
          return await gradeOn(rolled.lastHost, request);
        } catch (error) {
          if (!hostLost(error)) throw error;
        }
      return onRepositoryHost(repository, input.heartbeatTimeoutSeconds, (host) =>
        gradeOn({ queue: host.taskQueue, image: host.image }, request),
      );
    },
  };
}

/**
 * One evaluation task for one seed: the agent loop (the rollout workflow, as a child) with the
 * evaluated model on the instance's problem statement in a fresh container at base_commit, then
 * the patch it left graded in another fresh container. A rollout that fails (the model endpoint
 * refuses) is recorded as an error for this instance, never a failed evaluation. A solve without
 * a given host claims hosts and moves off a lost one at each step (the rollout keeps its work).
 */
export async function solveInstance(input: SolveInstanceInput): Promise<SolveInstanceResult> {
  const place = placement(input);
  const summary = (step: string) => evalTaskSummary(input.seed, input.head.instanceId, step);
  const task = await place.problem();
  const key = solveKey(input.seed, input.head.instanceId);
  const base = { seed: input.seed, instanceId: input.head.instanceId };
  let result: RolloutResult;
  try {
    result = await executeChild(rollout, {
      workflowId: `${workflowInfo().workflowId}-agent`,
      staticSummary: summary('agent'),
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      args: [
        {
          runId: input.runId,
          rolloutId: key,
          kind: 'solve',
          task,
          sandbox: { ...place.sandbox, baseCommit: input.head.baseCommit, limits: input.limits },
          ...(input.environment.language ? { languages: languageList(input.environment.language) } : {}),
          model: { ...input.model, seed: input.seed },
          limits: input.solve,
          heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
        },
      ],
    });
  } catch (error) {
    if (!(error instanceof ChildWorkflowFailure) || isCancellation(error)) throw error;
    const reason = `the agent failed: ${error.cause?.message ?? error.message}`;
    return {
      ...base,
      exitStatus: 'failed',
      detail: reason,
      turns: 0,
      promptTokens: 0,
      completionTokens: 0,
      grade: gradeWithoutTests(input.head.instanceId, 'error', reason),
    };
  }
  const patch = result.patch ?? result.lastDiff;
  const outcome = {
    ...base,
    exitStatus: result.exitStatus,
    detail: result.detail,
    turns: result.turns,
    promptTokens: result.promptTokens,
    completionTokens: result.completionTokens,
    trajectory: result.trajectory,
  };
  if (!patch)
    return {
      ...outcome,
      grade: gradeWithoutTests(
        input.head.instanceId,
        'empty_patch',
        `the agent changed nothing (${result.exitStatus})`,
      ),
    };
  const grade = await gradeOrRecord(input.head.instanceId, () =>
    place.grade(
      {
        runId: input.runId,
        workflowId: workflowInfo().workflowId,
        container: containerName(input.runId, `${key}-grade`),
        instances: input.instances,
        instanceId: input.head.instanceId,
        patch: { artifact: patch.id },
        environment: input.environment,
        limits: input.limits,
      },
      result,
    ),
  );
  return { ...outcome, grade };
}
