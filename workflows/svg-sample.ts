import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SvgActivities } from '../activities/llm/svg-activities';
import { bugInstruction } from '../core/agent/instructions';
import type { ModelSettings, RolloutLimits } from '../core/agent/rollout-input';
import type { SandboxLimits } from '../core/environment-input';
import type { ImageRecipe } from '../core/environment-recipe';
import type { ArtifactRef } from '../core/artifacts';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { TaskQueues } from '../core/queues';
import { rollout, type RolloutResult } from './rollout';

export interface SvgSampleInput {
  runId: string;
  index: number;
  functions: ArtifactRef;
  templates: number[];
  seed: number;
  /** With `repository`, each rollout claims a live host itself (see RolloutInput). */
  sandbox: {
    hostQueue: string;
    image: string;
    baseCommit: string;
    limits: SandboxLimits;
    repository?: string;
    recipe?: ImageRecipe;
  };
  /** The repository's languages, named in the agent's prompt. */
  languages?: string[];
  teacher: ModelSettings;
  rolloutLimits: RolloutLimits;
  threshold: number;
  judgeTries: number;
  demonstrations: string[];
  demonstrationsFile?: string;
  heartbeatTimeoutSeconds: number;
}

export type RejectionReason =
  | `rollout1_${string}`
  | 'empty_patch'
  | 'judged_not_meaningful'
  | 'judge_unreadable'
  | 'no_pr_description'
  | `rollout2_${string}`
  | 'empty_rollout1_patch'
  | 'recall_below_threshold';

export interface SvgSampleSummary {
  index: number;
  accepted: boolean;
  reason?: RejectionReason;
  recall?: number;
  patch1?: string;
  tokens: number;
  costUsd: number;
  record: ArtifactRef;
}

/**
 * One SVG sample: rollout 1 on a vague instruction, the judge, a synthetic PR, rollout 2 from the
 * PR alone in a fresh container, and soft verification. Always ends with a record artifact.
 */
export async function svgSample(input: SvgSampleInput): Promise<SvgSampleSummary> {
  const svg = proxyActivities<SvgActivities>({
    taskQueue: TaskQueues.llm,
    startToCloseTimeout: '15m',
    scheduleToCloseTimeout: '6h',
    // Model calls heartbeat while they wait, so a dead worker's call is retried within seconds.
    heartbeatTimeout: `${Math.max(input.heartbeatTimeoutSeconds, 5)}s`,
    retry: {
      initialInterval: '1s',
      maximumInterval: '2m',
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
  const plan = await svg.planSampleFromIndex({
    functions: input.functions,
    templates: input.templates,
    seed: input.seed,
    index: input.index,
  });
  const task = bugInstruction(plan.template, plan.function.name, plan.function.file);
  const id = workflowInfo().workflowId;
  let tokens = 0;
  let costUsd = 0;
  const count = (usage: { promptTokens: number; completionTokens: number }): void => {
    tokens += usage.promptTokens + usage.completionTokens;
    costUsd +=
      (usage.promptTokens * input.teacher.inputUsdPerMTok +
        usage.completionTokens * input.teacher.outputUsdPerMTok) /
      1e6;
  };
  const runRollout = async (
    kind: 'change' | 'reproduce',
    text: string,
    suffix: string,
  ): Promise<RolloutResult> => {
    const result = await executeChild(rollout, {
      workflowId: `${id}-${suffix}`,
      staticSummary: `${suffix === 'r1' ? 'rollout 1' : 'rollout 2'} of sample ${input.index}: ${plan.function.name} in ${plan.function.file}`,
      args: [
        {
          runId: input.runId,
          rolloutId: `s${input.index}-${suffix}`,
          kind,
          task: text,
          sandbox: input.sandbox,
          ...(input.languages ? { languages: input.languages } : {}),
          model: { ...input.teacher, seed: (input.teacher.seed ?? input.seed) + input.index },
          limits: input.rolloutLimits,
          heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
        },
      ],
    });
    tokens += result.promptTokens + result.completionTokens;
    costUsd += result.costUsd;
    return result;
  };
  const record: Record<string, unknown> = { runId: input.runId, index: input.index, plan, task };
  const finish = async (
    reason?: RejectionReason,
    recall?: number,
    patch1?: string,
  ): Promise<SvgSampleSummary> => {
    const accepted = reason === undefined;
    const ref = await svg.writeRecord({ record: { ...record, accepted, reason, recall, tokens, costUsd } });
    return { index: input.index, accepted, reason, recall, patch1, tokens, costUsd, record: ref };
  };

  const r1 = await runRollout('change', task, 'r1');
  record.rollout1 = {
    exitStatus: r1.exitStatus,
    trajectory: r1.trajectory,
    patch: r1.patch,
    turns: r1.turns,
  };
  if (r1.exitStatus !== 'submitted' || !r1.patch) return finish(`rollout1_${r1.exitStatus}`);
  if (r1.patch.linesAdded + r1.patch.linesDeleted === 0) return finish('empty_patch');

  let answer: 'yes' | 'no' | undefined;
  for (let tries = 0; tries < input.judgeTries && !answer; tries += 1) {
    const judged = await svg.judgePatch({ patch: r1.patch, model: input.teacher });
    count(judged.usage);
    answer = judged.answer;
  }
  record.judge = answer ?? 'unreadable';
  if (answer === undefined) return finish('judge_unreadable', undefined, r1.patch.id);
  if (answer === 'no') return finish('judged_not_meaningful', undefined, r1.patch.id);

  const pr = await svg.writePrDescription({
    trajectory: r1.trajectory,
    demonstrations: input.demonstrations,
    model: input.teacher,
  });
  count(pr.usage);
  record.prDescription = pr.description;
  if (!pr.description) return finish('no_pr_description', undefined, r1.patch.id);

  const r2 = await runRollout('reproduce', pr.description, 'r2');
  record.rollout2 = {
    exitStatus: r2.exitStatus,
    trajectory: r2.trajectory,
    patch: r2.patch,
    turns: r2.turns,
  };
  if (r2.exitStatus !== 'submitted' || !r2.patch)
    return finish(`rollout2_${r2.exitStatus}`, undefined, r1.patch.id);

  const verification = await svg.verifyPatches({
    patch1: r1.patch,
    patch2: r2.patch,
    threshold: input.threshold,
  });
  record.verification = verification;
  return finish(
    verification.verified ? undefined : (verification.reason ?? 'recall_below_threshold'),
    verification.recall,
    r1.patch.id,
  );
}
