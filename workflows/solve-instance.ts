import {
  ActivityFailure,
  ChildWorkflowFailure,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { GradeResult, InstanceHead } from '../activities/eval/activities';
import type { ModelSettings, RolloutLimits } from '../core/agent/rollout-input';
import { evalTaskSummary } from '../core/activity-summary';
import type { ArtifactRef } from '../core/artifacts';
import type { SandboxLimits } from '../core/environment-input';
import { languageList } from '../core/language-setting';
import type { RepoEnvironment } from '../core/eval/eval-input';
import { containerName } from '../core/names';
import { gradeWithoutTests, type GradeRecord } from '../core/eval/grading';
import { rollout, type RolloutResult } from './rollout';
import { hostActivities } from './eval-common';
import { callWithSummary } from './with-summary';

export interface SolveInstanceInput {
  runId: string;
  seed: number;
  head: InstanceHead;
  instances: ArtifactRef;
  hostQueue: string;
  image: string;
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

/**
 * One evaluation task for one seed: the agent loop (the rollout workflow, as a child) with the
 * evaluated model on the instance's problem statement in a fresh container at base_commit, then
 * the patch it left graded in another fresh container. A rollout that fails (the model endpoint
 * refuses) is recorded as an error for this instance, never a failed evaluation.
 */
export async function solveInstance(input: SolveInstanceInput): Promise<SolveInstanceResult> {
  const host = hostActivities(
    input.hostQueue,
    input.environment.testTimeoutSeconds,
    input.heartbeatTimeoutSeconds,
  );
  const summary = (step: string) => evalTaskSummary(input.seed, input.head.instanceId, step);
  const task = await callWithSummary(host.instanceProblem, summary('problem statement'), {
    instances: input.instances,
    instanceId: input.head.instanceId,
  });
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
          sandbox: {
            hostQueue: input.hostQueue,
            image: input.image,
            baseCommit: input.head.baseCommit,
            limits: input.limits,
          },
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
    callWithSummary(host.gradePrediction, summary('grade'), {
      runId: input.runId,
      workflowId: workflowInfo().workflowId,
      container: containerName(input.runId, `${key}-grade`),
      instances: input.instances,
      instanceId: input.head.instanceId,
      patch: { artifact: patch.id },
      image: input.image,
      environment: input.environment,
      limits: input.limits,
    }),
  );
  return { ...outcome, grade };
}
