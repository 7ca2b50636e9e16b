import {
  CancellationScope,
  executeChild,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { SvgActivities } from '../activities/llm/svg-activities';
import type { ResumeActivities } from '../activities/run/resume';
import { bugInstruction } from '../core/agent/instructions';
import type { PromptStyle } from '../core/agent/prompts';
import type { ModelSettings, RolloutLimits } from '../core/agent/rollout-input';
import type { ReplyProblem } from '../core/agent/trajectory';
import { ScaffoldSchema, type ScaffoldSettings } from '../core/run-config';
import { SeededRandom } from '../core/teacher/random';
import type { SandboxLimits } from '../core/environment-input';
import type { ImageRecipe } from '../core/environment-recipe';
import type { ArtifactRef } from '../core/artifacts';
import { NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { TaskQueues } from '../core/queues';
import { sampleStepSummary } from '../core/activity-summary';
import { rollout, type RolloutResult } from './rollout';
import { callWithSummary } from './with-summary';
import { reportToRun } from './sample-report';
import { failureCause } from '../core/failure-cause';

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
  /** Absent in samples started before it existed: the defaults (the authors' scaffold). */
  scaffold?: Partial<ScaffoldSettings>;
  demonstrations: string[];
  demonstrationsFile?: string;
  heartbeatTimeoutSeconds: number;
}

export type RejectionReason =
  | `rollout1_${string}`
  | 'empty_patch'
  | 'judged_not_meaningful'
  | 'judged_invalid'
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
  /** Teacher replies asked again, by cause, over the sample's rollouts. */
  retried?: Partial<Record<ReplyProblem, number>>;
  record: ArtifactRef;
}

/**
 * Since this patch the judge reads rollout 1's task and steps (asking again on its own, shorter
 * each time), a "no" runs rollout 1 again with a fresh container and a newly drawn template (up to
 * `scaffold.rollout1Attempts`), and the PR writer starts from the steps the judge kept, with one
 * seeded demonstration and asking again while its answer has no output tags. Before it: one judge
 * activity per try on the patch, and every demonstration in one PR call.
 */
export const JUDGE_RERUNS = 'judge-reruns';

/**
 * Since this patch a finished sample also keeps its summary in the artifact store, named by its
 * run's workflow id and its index (activity `recordFinishedSample`), where a resume finds it after
 * Temporal has dropped the sample's history. Before it: a resume read it from the history only.
 */
export const FINISHED_SAMPLE_IN_STORE = 'finished-sample-in-store';

/** Added to the teacher's seed per rerun of rollout 1 (a prime far above any sample index). */
const RERUN_SEED_STRIDE = 1_000_003;

/** Rollout 1's template for attempt `attempt` (1: the planned one; later ones drawn with the sample's seed). */
export function rollout1Template(
  planned: number,
  templates: readonly number[],
  seed: number,
  index: number,
  attempt: number,
): number {
  if (attempt <= 1) return planned;
  return new SeededRandom('rollout1-template', seed, index, attempt).pick(templates) ?? planned;
}

/**
 * One SVG sample: rollout 1 on a vague instruction, the judge, a synthetic PR, rollout 2 from the
 * PR alone in a fresh container, and soft verification. Always ends with a record artifact.
 */
async function makeSample(input: SvgSampleInput): Promise<SvgSampleSummary> {
  const llmActivities = (startToCloseTimeout: string) =>
    proxyActivities<SvgActivities>({
      taskQueue: TaskQueues.llm,
      startToCloseTimeout,
      scheduleToCloseTimeout: '6h',
      // Model calls heartbeat while they wait, so a dead worker's call is retried within seconds.
      heartbeatTimeout: `${Math.max(input.heartbeatTimeoutSeconds, 5)}s`,
      retry: {
        initialInterval: '1s',
        maximumInterval: '2m',
        nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
      },
    });
  const svg = llmActivities('15m');
  const resume = proxyActivities<Pick<ResumeActivities, 'recordFinishedSample'>>({
    taskQueue: TaskQueues.llm,
    startToCloseTimeout: '1m',
    retry: {
      initialInterval: '1s',
      maximumInterval: '1m',
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
  const plan = await callWithSummary(svg.planSampleFromIndex, sampleStepSummary(input.index, 'plan'), {
    functions: input.functions,
    templates: input.templates,
    seed: input.seed,
    index: input.index,
  });
  const scaffold = ScaffoldSchema.parse(input.scaffold ?? {});
  // The judge and the PR writer ask again inside one activity: several model calls.
  const sideCalls = llmActivities('1h');
  const task = bugInstruction(plan.template, plan.function.name, plan.function.file);
  const id = workflowInfo().workflowId;
  const retried: Partial<Record<ReplyProblem, number>> = {};
  // The rollout's input takes the prompt style as `prompts` (the spec's short prompt or the authors').
  const promptStyle: { prompts: PromptStyle } = { prompts: scaffold.prompts };
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
    attempt = 1,
  ): Promise<RolloutResult> => {
    const result = await executeChild(rollout, {
      workflowId: `${id}-${suffix}`,
      staticSummary: `${kind === 'change' ? 'rollout 1' : 'rollout 2'} of sample ${input.index}: ${plan.function.name} in ${plan.function.file}`,
      args: [
        {
          runId: input.runId,
          rolloutId: `s${input.index}-${suffix}`,
          kind,
          task: text,
          ...promptStyle,
          sandbox: input.sandbox,
          ...(input.languages ? { languages: input.languages } : {}),
          // A rerun of rollout 1 samples anew: a server with a fixed seed would otherwise repeat itself.
          model: {
            ...input.teacher,
            seed: (input.teacher.seed ?? input.seed) + input.index + (attempt - 1) * RERUN_SEED_STRIDE,
          },
          limits: input.rolloutLimits,
          heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
        },
      ],
    });
    tokens += result.promptTokens + result.completionTokens;
    costUsd += result.costUsd;
    // Rollouts from before reply retries have no count.
    const counts = (result as { retried?: Partial<Record<ReplyProblem, number>> }).retried ?? {};
    for (const [problem, n] of Object.entries(counts) as Array<[ReplyProblem, number]>)
      retried[problem] = (retried[problem] ?? 0) + n;
    return result;
  };
  const record: Record<string, unknown> = { runId: input.runId, index: input.index, plan, task };
  const finish = async (
    reason?: RejectionReason,
    recall?: number,
    patch1?: string,
  ): Promise<SvgSampleSummary> => {
    const accepted = reason === undefined;
    const anyRetried = Object.keys(retried).length > 0;
    const ref = await callWithSummary(svg.writeRecord, sampleStepSummary(input.index, 'record'), {
      record: { ...record, accepted, reason, recall, tokens, costUsd, ...(anyRetried ? { retried } : {}) },
    });
    const summary: SvgSampleSummary = {
      index: input.index,
      accepted,
      reason,
      recall,
      patch1,
      tokens,
      costUsd,
      ...(anyRetried ? { retried } : {}),
      record: ref,
    };
    // A sample started by a run; one started alone belongs to no run a resume could name.
    const run = workflowInfo().parent?.workflowId;
    if (run !== undefined && patched(FINISHED_SAMPLE_IN_STORE)) {
      await callWithSummary(resume.recordFinishedSample, sampleStepSummary(input.index, 'finished'), {
        runWorkflowId: run,
        summary,
      });
    }
    return summary;
  };

  if (patched(JUDGE_RERUNS)) return judgedSample();

  /** Rollout 1 until the judge says yes, the PR writer, rollout 2 and verification. */
  async function judgedSample(): Promise<SvgSampleSummary> {
    const earlier: Array<Record<string, unknown>> = [];
    let r1: RolloutResult | undefined;
    let shortenings = 0;
    let attempt = 0;
    for (attempt = 1; attempt <= scaffold.rollout1Attempts; attempt += 1) {
      const template = rollout1Template(plan.template, input.templates, input.seed, input.index, attempt);
      const attemptTask = bugInstruction(template, plan.function.name, plan.function.file);
      const result = await runRollout('change', attemptTask, attempt === 1 ? 'r1' : `r1a${attempt}`, attempt);
      r1 = result;
      // The record describes the attempt that counts; the earlier ones are listed apart.
      record.plan = { ...plan, template };
      record.task = attemptTask;
      record.rollout1 = {
        exitStatus: result.exitStatus,
        trajectory: result.trajectory,
        patch: result.patch,
        turns: result.turns,
      };
      if (result.exitStatus !== 'submitted' || !result.patch) return finish(`rollout1_${result.exitStatus}`);
      if (result.patch.linesAdded + result.patch.linesDeleted === 0) return finish('empty_patch');
      const judgeStep = sampleStepSummary(input.index, attempt === 1 ? 'judge' : `judge, attempt ${attempt}`);
      const judged = await callWithSummary(sideCalls.judgeRollout, judgeStep, {
        trajectory: result.trajectory,
        patch: result.patch,
        style: scaffold.judge,
        tries: input.judgeTries,
        model: input.teacher,
      });
      count(judged.usage);
      record.judge = judged.answer ?? 'unreadable';
      record.judgement = {
        style: scaffold.judge,
        calls: judged.calls,
        unreadable: judged.unreadable,
        overflows: judged.overflows,
        steps: judged.steps,
        dropped: judged.dropped,
        lastAnswer: judged.lastAnswer,
      };
      if (judged.answer === undefined) return finish('judge_unreadable', undefined, result.patch.id);
      if (judged.answer === 'yes') {
        shortenings = judged.shortenings;
        break;
      }
      earlier.push({ attempt, template, task: attemptTask, rollout1: record.rollout1, judge: 'no' });
      record.earlierAttempts = earlier;
    }
    if (!r1?.patch || attempt > scaffold.rollout1Attempts)
      return finish(
        scaffold.judge === 'spec' ? 'judged_not_meaningful' : 'judged_invalid',
        undefined,
        r1?.patch?.id,
      );
    const patch1 = r1.patch;

    const pr = await callWithSummary(sideCalls.writePr, sampleStepSummary(input.index, 'PR description'), {
      trajectory: r1.trajectory,
      demonstrations: input.demonstrations,
      ...(input.demonstrationsFile ? { demonstrationsFile: input.demonstrationsFile } : {}),
      demonstrationCount: scaffold.prDemonstrations,
      seed: [input.seed, input.index, attempt],
      shortenings,
      tries: scaffold.prTries,
      model: input.teacher,
    });
    count(pr.usage);
    record.prDescription = pr.description;
    record.prWriter = {
      calls: pr.calls,
      overflows: pr.overflows,
      dropped: pr.dropped,
      demonstrations: pr.demonstrations,
    };
    if (!pr.description) return finish('no_pr_description', undefined, patch1.id);
    return secondHalf(pr.description, patch1);
  }

  /** Rollout 2 from the PR description in a fresh container, then soft verification. */
  async function secondHalf(description: string, patch1: NonNullable<RolloutResult['patch']>) {
    const r2 = await runRollout('reproduce', description, 'r2');
    record.rollout2 = {
      exitStatus: r2.exitStatus,
      trajectory: r2.trajectory,
      patch: r2.patch,
      turns: r2.turns,
    };
    if (r2.exitStatus !== 'submitted' || !r2.patch)
      return finish(`rollout2_${r2.exitStatus}`, undefined, patch1.id);
    const verifyStep = sampleStepSummary(input.index, 'soft verification');
    const verification = await callWithSummary(svg.verifyPatches, verifyStep, {
      patch1,
      patch2: r2.patch,
      threshold: input.threshold,
    });
    record.verification = verification;
    return finish(
      verification.verified ? undefined : (verification.reason ?? 'recall_below_threshold'),
      verification.recall,
      patch1.id,
    );
  }

  // Samples that started before the judge-reruns patch.
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

/**
 * Workflow patch (docs/operations.md): a sample reports its end to its run by signal, summary or
 * failure, so that a run which continued as new while the sample ran still counts it.
 */
export const REPORTS_TO_RUN = 'reports-to-run';

/** One SVG sample (makeSample), which reports its end to the run that started it. */
export async function svgSample(input: SvgSampleInput): Promise<SvgSampleSummary> {
  if (!patched(REPORTS_TO_RUN)) return makeSample(input);
  const runId = workflowInfo().firstExecutionRunId;
  try {
    const summary = await makeSample(input);
    await reportToRun({ index: input.index, runId, summary });
    return summary;
  } catch (error) {
    const cause = failureCause(error);
    // A cancelled sample still reports, so that the run's cancel can wait for it.
    await CancellationScope.nonCancellable(() =>
      reportToRun({ index: input.index, runId, failure: { type: cause.type, message: cause.message } }),
    );
    throw error;
  }
}
