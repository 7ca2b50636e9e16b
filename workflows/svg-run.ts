import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  ParentClosePolicy,
  condition,
  getExternalWorkflowHandle,
  sleep,
  continueAsNew,
  defineQuery,
  patched,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SandboxActivities, SandboxHost } from '../activities/sandbox/activities';
import type { SvgActivities } from '../activities/llm/svg-activities';
import type { FunctionIndex, IndexFunctionsInput } from '../activities/index/index-functions';
import type { ResumeActivities } from '../activities/run/resume';
import type { ArtifactRef } from '../core/artifacts';
import type { ReplyProblem } from '../core/agent/trajectory';
import { DEFAULT_DEMONSTRATIONS } from '../core/demonstrations';
import { duplicateKey } from '../core/duplicate-key';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../core/errors';
import { failureCause } from '../core/failure-cause';
import { TaskQueues } from '../core/queues';
import {
  configuredLanguages,
  imageRecipeInput,
  parseRunConfig,
  type RunConfig,
  type RunConfigRequest,
} from '../core/run-config';
import { SearchAttributes } from '../core/search-attributes';
import { callWithSummary } from './with-summary';
import type { LedgerEntry } from '../core/sft/sample-record';
import type { BuildDatasetResult } from '../activities/dataset/build-dataset';
import type { TrainStudentResult } from '../activities/train/train-student';
import type { RunEvaluationResult } from './run-evaluation';
import { chainStagesOfEarlierRuns } from './svg-run-chain';
import { svgSample, type SvgSampleSummary } from './svg-sample';
import { sampleFinishedSignal } from './sample-report';
import { onLiveHost, optionsThatNoticeLoss } from './host-moves';
import { HOST_START_TIMEOUT_SECONDS } from '../core/host-lost';
import type { SampleStateActivities } from '../activities/run/sample-states';

/** Where the run is; carried across continue-as-new. */
export interface SvgRunState {
  sandbox?: { hostQueue: string; hostId: string; image: string; baseCommit: string };
  functions?: ArtifactRef;
  /** The languages the index read (configured or detected); the agent's prompt names them. */
  languages?: string[];
  functionCount?: number;
  /** Next sample index to start. */
  cursor: number;
  finished: number;
  /** Runs before the compact-run-state patch: each accepted rollout-1 patch, its sample and record. */
  accepted: Record<string, { index: number; record: string }>;
  /**
   * Since that patch: the first 16 hex digits of each accepted rollout-1 patch id and the sample
   * holding it, about 24 bytes each; the records are in the ledger. Carried across
   * continue-as-new, so it is what grows with the run.
   */
  acceptedPatches?: Record<string, number>;
  /**
   * Since ledger-decides-duplicates (and only in runs that started under it): accepted samples
   * counted as they finish, before the duplicate rule, which the ledger's readers apply (each
   * accepted entry carries its patch's key); the run's end subtracts the duplicates. The run
   * carries no duplicate index, so nothing it carries grows with the accepted samples.
   */
  acceptedSeen?: number;
  rejected: Record<string, number>;
  /** Recall of verified-or-not samples in ten bins: [0,0.1), …, [0.9,1]. */
  recallHistogram: number[];
  tokens: number;
  costUsd: number;
  concurrency: number;
  paused: boolean;
  /** Why the run paused by itself (the teacher refused its key); cleared by `resume`. */
  pauseReason?: string;
  /** Samples that failed on the teacher's key: started again, same index and id, after `resume`. */
  requeued?: number[];
  /** Replies asked again under the reply policy, by what was wrong with them, over finished samples. */
  retried?: Partial<Record<ReplyProblem, number>>;
  startedAt: number;
  stopReason?: 'budget';
  /**
   * Artifact ids of the finished segments' ledgers: every sample's record and fate. Since
   * ledger-decides-duplicates, more than LEDGER_IDS_CARRIED ids are folded into one index
   * artifact (`{"ledgerChunks": […]}`), which the readers expand (activities/common/ledger.ts).
   */
  ledger: string[];
  /** Samples taken from the run named by `resumeFrom` instead of being made again. */
  reused?: number;
  /**
   * Since samples-across-continue: samples still running when the segment continued as new, as
   * [index, the child's first run id]; they report to the next segment by signal.
   */
  inFlight?: Array<[number, string]>;
  /** Ledger entries of samples that reported after the segment's ledger chunk was written. */
  unwritten?: LedgerEntry[];
  /** Since generation-only (set by the first run and carried): the run makes samples only. */
  generationOnly?: boolean;
}

export interface SvgRunProgress {
  stage: string;
  /** The sandbox host that built the repository's image and index (rollouts claim their own). */
  sandboxHost?: string;
  samples: number;
  started: number;
  running: number;
  finished: number;
  reused: number;
  accepted: number;
  rejectedByReason: Record<string, number>;
  recallHistogram: number[];
  tokens: number;
  costUsd: number;
  concurrency: number;
  paused: boolean;
  pauseReason?: string;
  /** Samples waiting to start again after the run resumes. */
  requeued?: number;
  replyRetries?: Partial<Record<ReplyProblem, number>>;
  samplesPerMinute: number;
  etaSeconds?: number;
}

export interface SvgRunResult {
  runId: string;
  status: 'completed' | 'budget_exhausted';
  samples: number;
  finished: number;
  /** Of the finished samples, those taken from the run named by `resumeFrom`. */
  reused: number;
  /** Accepted samples (after the duplicate rule). */
  acceptedCount?: number;
  /**
   * Runs before the compact-run-state patch listed every accepted sample here; later runs leave
   * it out (it grew with the run): the ledger has every sample's record and fate.
   */
  accepted?: Array<{ index: number; record: string }>;
  rejectedByReason: Record<string, number>;
  tokens: number;
  costUsd: number;
  /** Replies the teacher was asked again, by what was wrong with them (since the auth-pause patch). */
  replyRetries?: Partial<Record<ReplyProblem, number>>;
  /** Where the manifest was written, when the config names an output directory. */
  manifest?: string;
  /** Artifact ids of the run's ledger chunks, which the dataset stage reads. */
  ledger: string[];
  dataset?: Pick<
    BuildDatasetResult,
    'lines' | 'tokens' | 'meanTruncationRatio' | 'problems' | 'directory'
  > & {
    artifact: string;
    report: string;
    workflowId: string;
  };
  /** The student trained on the dataset, when the config has `train`. */
  training?: Pick<
    TrainStudentResult,
    'steps' | 'samples' | 'firstLoss' | 'lastLoss' | 'wallSeconds' | 'costUsd' | 'model' | 'directory'
  > & { report: string; workflowId: string };
  /** The student (and base model) evaluated, when the config has `evaluate`. */
  evaluation?: RunEvaluationResult;
}

/** Workflow patches (docs/operations.md, "Upgrading workers while runs are live"). */
export const ROLLOUTS_CLAIM_HOSTS = 'rollouts-claim-hosts';
export const COMPACT_RUN_STATE = 'compact-run-state';
/**
 * A sample whose teacher refuses the key (ModelAuthFailed) pauses the run with the reason instead
 * of counting as failed; it starts again, same index, once the run is resumed.
 */
export const AUTH_PAUSE = 'auth-pause';
/**
 * Samples outlive the segment that started them: a segment continues as new as soon as it has
 * started its share, without waiting for its samples to end, and carries them to the next one,
 * where they report by signal (workflows/sample-report.ts). Concurrency stays at its setting
 * across segments instead of falling while the slowest sample of each segment finishes.
 */
export const SAMPLES_ACROSS_CONTINUE = 'samples-across-continue';
/**
 * The image build and function index move to another sandbox host when theirs is lost (a dead
 * engine, or a task that waited HOST_START_TIMEOUT_SECONDS on its queue), as rollouts do.
 */
export const GENERATION_MOVES_HOSTS = 'generation-moves-hosts';
/**
 * The run carries no duplicate index: an accepted sample's ledger entry carries its rollout-1
 * patch's key, the ledger's readers apply the duplicate rule, and the run's end counts the
 * duplicates (countLedgerDuplicates). Its ledger ids fold into an index artifact past
 * LEDGER_IDS_CARRIED, so what the run carries no longer grows with the run.
 */
export const LEDGER_DECIDES_DUPLICATES = 'ledger-decides-duplicates';
/** Ledger chunk ids a run carries before folding them into one index artifact (about 1.5 KB). */
export const LEDGER_IDS_CARRIED = 20;
/**
 * A segment takes over its carried samples before it sets the report handler. Before it, a report
 * that reached the segment before its first workflow task was dropped (no sample was running
 * yet), and the sample was counted only by the next `endedSamples` check, 5 minutes later.
 */
export const CARRIED_BEFORE_REPORTS = 'carried-before-reports';
/**
 * svgRun makes samples and nothing else: `specializeRepository` alone chains the dataset, training
 * and evaluation. Before it, a run started on its own with `dataset.build` (the default) also ran
 * those stages itself (workflows/svg-run-chain.ts, kept for runs started before the patch).
 */
export const GENERATION_ONLY = 'generation-only';
/** How often a segment asks the server about carried samples that have not reported. */
const CARRIED_CHECK_EVERY = '5m';

export const svgRunProgressQuery = defineQuery<SvgRunProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setConcurrencyUpdate = defineUpdate<number, [number]>('setConcurrency');

const retry = {
  initialInterval: '2s',
  maximumAttempts: 5,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};
const shared = proxyActivities<Pick<SandboxActivities, 'claimSandboxHost'>>({
  taskQueue: TaskQueues.sandbox,
  startToCloseTimeout: '30s',
  retry,
});
const llm = proxyActivities<
  Pick<SvgActivities, 'checkTeacher' | 'writeRunManifest' | 'writeLedgerChunk' | 'writeLedgerIndex'>
>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '1m',
  retry,
});
// Reads the whole ledger: a million samples' entries take a while.
const ledgerReads = proxyActivities<Pick<SvgActivities, 'countLedgerDuplicates'>>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '30m',
  retry,
});
const sampleStates = proxyActivities<SampleStateActivities>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry,
});
const resume = proxyActivities<Pick<ResumeActivities, 'finishedSamples'>>({
  taskQueue: TaskQueues.llm,
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry,
});

function freshState(config: RunConfig): SvgRunState {
  return {
    cursor: 0,
    finished: 0,
    accepted: {},
    rejected: {},
    recallHistogram: Array.from({ length: 10 }, () => 0),
    tokens: 0,
    costUsd: 0,
    concurrency: config.concurrency,
    paused: false,
    startedAt: Date.now(),
    ledger: [],
  };
}

/** The run config with its defaults, or a non-retryable InvalidInput naming every wrong field. */
export function runConfigOrFail(request: RunConfigRequest): RunConfig {
  const parsed = parseRunConfig(request);
  if (!parsed.ok)
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: parsed.message,
      nonRetryable: true,
    });
  return parsed.value;
}

/**
 * A whole SVG specialization run: the repository image, the function index, then samples as
 * child workflows in a sliding window of bounded concurrency, until the sample count or the
 * budget is reached. Identical rollout-1 patches count once (the lowest sample index keeps it).
 */
export async function svgRun(request: RunConfigRequest, carried?: SvgRunState): Promise<SvgRunResult> {
  const config = runConfigOrFail(request);
  const state = carried ?? freshState(config);
  let stage = carried ? 'sampling' : 'preparing';
  const running = new Set<number>();
  /** The first run id of each running sample's child, so a report of an earlier child is told apart. */
  const childRuns = new Map<number, string>();
  let startedThisRun = 0;
  // Since this patch the run carries a compact duplicate index instead of every accepted record.
  const compact = patched(COMPACT_RUN_STATE);
  // Since this patch the ledger decides duplicates; a run keeps the way it started with.
  const byLedger = state.acceptedSeen !== undefined || (!carried && patched(LEDGER_DECIDES_DUPLICATES));
  if (byLedger) state.acceptedSeen ??= 0;
  if (compact && !byLedger && !state.acceptedPatches) {
    state.acceptedPatches = {};
    for (const [patch, holder] of Object.entries(state.accepted))
      state.acceptedPatches[duplicateKey(patch)] = holder.index;
    state.accepted = {};
  }
  const authPause = patched(AUTH_PAUSE);
  // Decided by the first run and carried, so a run ends the way it began across an upgrade.
  if (!carried && patched(GENERATION_ONLY)) state.generationOnly = true;
  if (state.generationOnly && (config.train || config.evaluate))
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `svgRun makes samples only, and this config also asks for ${config.train ? (config.evaluate ? 'training and evaluation' : 'training') : 'evaluation'}: start specializeRepository with the same config (the CLI's \`run\` command does), which runs the dataset, training and evaluation as stages after the generation, or leave out \`train\` and \`evaluate\``,
      nonRetryable: true,
    });
  const requeued = (): number[] => (state.requeued ??= []);
  const acceptedCount = (): number =>
    state.acceptedSeen ?? Object.keys(state.acceptedPatches ?? state.accepted).length;
  const holderOf = (patch: string): number | undefined =>
    state.acceptedPatches ? state.acceptedPatches[duplicateKey(patch)] : state.accepted[patch]?.index;
  const hold = (patch: string, index: number, record: string): void => {
    if (state.acceptedPatches) state.acceptedPatches[duplicateKey(patch)] = index;
    else state.accepted[patch] = { index, record };
  };

  setHandler(svgRunProgressQuery, (): SvgRunProgress => {
    const minutes = Math.max((Date.now() - state.startedAt) / 60000, 1e-6);
    const rate = state.finished / minutes;
    return {
      stage,
      ...(state.sandbox ? { sandboxHost: state.sandbox.hostId } : {}),
      samples: config.samples,
      started: state.cursor,
      running: running.size,
      finished: state.finished,
      reused: state.reused ?? 0,
      accepted: acceptedCount(),
      rejectedByReason: state.rejected,
      recallHistogram: state.recallHistogram,
      tokens: state.tokens,
      costUsd: state.costUsd,
      concurrency: state.concurrency,
      paused: state.paused,
      ...(state.pauseReason ? { pauseReason: state.pauseReason } : {}),
      requeued: state.requeued?.length ?? 0,
      replyRetries: state.retried ?? {},
      samplesPerMinute: rate,
      etaSeconds: rate > 0 ? ((config.samples - state.finished) / rate) * 60 : undefined,
    };
  });
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => {
    state.paused = false;
    delete state.pauseReason;
  });
  setHandler(
    setConcurrencyUpdate,
    (value) => {
      const previous = state.concurrency;
      state.concurrency = value;
      return previous;
    },
    {
      validator: (value) => {
        if (!Number.isInteger(value) || value < 1 || value > 256)
          throw new Error(`concurrency must be a whole number from 1 to 256, not ${value}`);
      },
    },
  );

  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: config.runId },
    { key: SearchAttributes.repository, value: config.repository.path },
    { key: SearchAttributes.stage, value: stage },
  ]);
  upsertMemo({
    config: `${config.samples} samples of ${config.repository.path}@${config.repository.commit} (${configuredLanguages(config).join(', ') || 'languages detected'}), teacher ${config.teacher.model}, threshold ${config.threshold}, concurrency ${config.concurrency}, seed ${config.seed}`,
  });

  if (!state.sandbox) {
    stage = 'checking-teacher';
    await llm.checkTeacher({ model: config.teacher, demonstrationsFile: config.demonstrationsFile });
    /** Builds the repository's image on `host` and indexes its functions there. */
    const buildAndIndex = async (host: SandboxHost) => {
      const hostOptions = {
        taskQueue: host.taskQueue,
        startToCloseTimeout: '30m',
        heartbeatTimeout: `${config.heartbeatTimeoutSeconds}s`,
        retry,
      };
      const onHost = proxyActivities<
        SandboxActivities & { indexFunctions(input: IndexFunctionsInput): Promise<FunctionIndex> }
      >(movesHosts ? optionsThatNoticeLoss(hostOptions, HOST_START_TIMEOUT_SECONDS) : hostOptions);
      stage = 'building-image';
      const commit = config.repository.commit.slice(0, 12);
      const image = await callWithSummary(onHost.prepareRepoImage, `image of the repository at ${commit}`, {
        repository: config.repository.path,
        commit: config.repository.commit,
        ...imageRecipeInput(config),
      });
      stage = 'indexing';
      const index = await callWithSummary(onHost.indexFunctions, `function index at ${commit}`, {
        repository: config.repository.path,
        commit: image.commit,
        ...(configuredLanguages(config).length > 0 ? { languages: configuredLanguages(config) } : {}),
        ...(config.index ?? {}),
        cap: config.functionCap,
        seed: config.seed,
      });
      return { host, image, index };
    };
    // Since this patch a lost host moves the build and index to another; before, they waited for it.
    const movesHosts = patched(GENERATION_MOVES_HOSTS);
    const { host, image, index } = movesHosts
      ? await onLiveHost(buildAndIndex)
      : await buildAndIndex(await shared.claimSandboxHost());
    if (index.count === 0) {
      throw ApplicationFailure.create({
        type: ErrorTypes.InvalidInput,
        message: `no ${(index.languages ?? configuredLanguages(config)).join(' or ')} functions outside test paths in ${config.repository.path} at ${image.commit.slice(0, 12)}`,
        nonRetryable: true,
      });
    }
    if (index.languages) state.languages = index.languages;
    state.sandbox = {
      hostQueue: host.taskQueue,
      hostId: host.hostId,
      image: image.image,
      baseCommit: image.commit,
    };
    state.functions = index.functions;
    state.functionCount = index.count;
  }
  stage = 'sampling';
  upsertSearchAttributes([{ key: SearchAttributes.stage, value: stage }]);

  const sandbox = state.sandbox;
  const functions = state.functions!;
  // This segment's finished samples; written to the ledger before continue-as-new and at the end.
  const segment: LedgerEntry[] = [...(state.unwritten ?? [])];
  delete state.unwritten;
  const acrossContinue = patched(SAMPLES_ACROSS_CONTINUE);
  const onFinished = (summary: SvgSampleSummary): void => {
    running.delete(summary.index);
    childRuns.delete(summary.index);
    state.finished += 1;
    state.tokens += summary.tokens;
    state.costUsd += summary.costUsd;
    if (authPause && summary.retried) {
      const sum = (state.retried ??= {});
      for (const [problem, n] of Object.entries(summary.retried) as Array<[ReplyProblem, number]>)
        sum[problem] = (sum[problem] ?? 0) + n;
    }
    if (summary.recall !== undefined)
      state.recallHistogram[Math.min(9, Math.floor(summary.recall * 10))]! += 1;
    let reason: string | undefined = summary.reason;
    let patchKey: string | undefined;
    if (byLedger && summary.accepted && summary.patch1) {
      // The ledger's readers apply the duplicate rule on this key; counted as accepted until the end.
      patchKey = duplicateKey(summary.patch1);
      state.acceptedSeen = (state.acceptedSeen ?? 0) + 1;
    } else if (summary.accepted && summary.patch1) {
      // The same rollout-1 patch twice: the lower index keeps it, whichever finished first.
      const holder = holderOf(summary.patch1);
      if (holder !== undefined && holder < summary.index) reason = 'duplicate_patch';
      else {
        if (holder !== undefined) {
          state.rejected.duplicate_patch = (state.rejected.duplicate_patch ?? 0) + 1;
          // The displaced holder ran at the same time: in this segment, or (since samples outlive
          // segments) in a chunk already written, which a correcting entry overrides.
          const displaced = segment.find((e) => e.index === holder);
          if (displaced) Object.assign(displaced, { accepted: false, reason: 'duplicate_patch' });
          else if (acrossContinue)
            segment.push({ index: holder, accepted: false, reason: 'duplicate_patch' });
        }
        hold(summary.patch1, summary.index, summary.record.id);
      }
    }
    if (reason) state.rejected[reason] = (state.rejected[reason] ?? 0) + 1;
    segment.push({
      index: summary.index,
      record: summary.record.id,
      accepted: reason === undefined,
      reason,
      ...(patchKey ? { patch: patchKey } : {}),
    });
    upsertSearchAttributes([
      { key: SearchAttributes.acceptedSamples, value: acceptedCount() },
      { key: SearchAttributes.costUsd, value: state.costUsd },
    ]);
  };

  // A sample that fails outright is counted; a model that rejects every request stops the run.
  let fatal: string | undefined;
  const onFailed = (index: number, error: unknown): void => {
    running.delete(index);
    childRuns.delete(index);
    const cause = failureCause(error);
    if (authPause && cause.type === ErrorTypes.ModelAuthFailed) {
      // A key can be fixed: the run waits for `resume`, then starts this sample again.
      state.paused = true;
      state.pauseReason = `teacher authentication failed: ${cause.message}`;
      if (!requeued().includes(index)) requeued().push(index);
      return;
    }
    state.finished += 1;
    state.rejected.sample_failed = (state.rejected.sample_failed ?? 0) + 1;
    segment.push({ index, accepted: false, reason: 'sample_failed' });
    if (cause.type === ErrorTypes.ModelNotFound || cause.type === ErrorTypes.ModelRequestRejected) {
      fatal ??= `sample ${index}: ${cause.message}`;
    }
  };

  const overBudget = (): boolean => {
    const perSample =
      state.finished > 0
        ? { tokens: state.tokens / state.finished, cost: state.costUsd / state.finished }
        : { tokens: 0, cost: 0 };
    const committed = running.size + 1;
    const { maxTokens, maxCostUsd } = config.budget;
    return (
      (maxTokens !== undefined && state.tokens + perSample.tokens * committed > maxTokens) ||
      (maxCostUsd !== undefined && state.costUsd + perSample.cost * committed > maxCostUsd)
    );
  };

  // A sample's end is counted once, from whichever comes first: its report or its child's result.
  const fromChild = (index: number, runId: string, count: () => void): void => {
    if (running.has(index) && childRuns.get(index) === runId) count();
  };
  const takeCarried = (): void => {
    for (const [index, runId] of state.inFlight ?? []) {
      running.add(index);
      childRuns.set(index, runId);
    }
    delete state.inFlight;
  };
  // Reports that came before this segment's first workflow task are handed over as the handler is
  // set: since this patch the carried samples are known by then, so those reports count.
  const carriedFirst = patched(CARRIED_BEFORE_REPORTS);
  if (carriedFirst) takeCarried();
  setHandler(sampleFinishedSignal, (report) =>
    fromChild(report.index, report.runId, () =>
      'summary' in report
        ? onFinished(report.summary)
        : onFailed(report.index, ApplicationFailure.create({ ...report.failure, nonRetryable: true })),
    ),
  );
  if (!carriedFirst) takeCarried();
  const carriedSamples = new Set(childRuns.keys());
  // Ends with the run's cancel like every timer of it; the cancel path counts what is left.
  if (carriedSamples.size > 0) void watchCarried().catch(() => undefined);

  /**
   * Samples carried from an earlier segment report by signal; one that ended without reporting
   * (terminated, timed out, or made before reports) is found here by asking the server.
   */
  async function watchCarried(): Promise<void> {
    while ([...carriedSamples].some((index) => running.has(index))) {
      await sleep(CARRIED_CHECK_EVERY);
      const waiting = [...carriedSamples].filter((index) => running.has(index));
      const ended = await sampleStates.endedSamples({
        samples: waiting.map((index) => ({
          index,
          workflowId: `${workflowInfo().workflowId}-s${index}`,
          runId: childRuns.get(index)!,
        })),
      });
      for (const report of ended) {
        fromChild(report.index, report.runId, () =>
          'summary' in report
            ? onFinished(report.summary)
            : onFailed(report.index, ApplicationFailure.create({ ...report.failure, nonRetryable: true })),
        );
      }
    }
  }

  /** Asks the running samples (or those of `indexes` still running) to cancel, by workflow id. */
  async function cancelRunning(indexes: number[] = [...running]): Promise<void> {
    for (const index of indexes.filter((i) => running.has(i))) {
      await getExternalWorkflowHandle(`${workflowInfo().workflowId}-s${index}`, childRuns.get(index))
        .cancel()
        .catch(() => undefined);
    }
  }

  const demonstrations = config.demonstrations ?? DEFAULT_DEMONSTRATIONS;
  try {
    await sample();
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // Cancelled: the samples are cancelled with the run; wait until they have cleaned up.
    stage = 'cancelling';
    await CancellationScope.nonCancellable(async () => {
      // Samples of earlier segments are not this segment's children: cancel them by id.
      await cancelRunning([...carriedSamples]);
      await condition(() => running.size === 0);
    });
    throw error;
  }

  async function sample(): Promise<void> {
    // Samples the earlier run finished in this segment's range are taken as they are.
    const earlier = new Map<number, SvgSampleSummary>();
    if (config.resumeFrom) {
      const to = Math.min(config.samples, state.cursor + config.samplesPerContinue);
      const found = await callWithSummary(
        resume.finishedSamples,
        `resume: samples ${state.cursor} to ${to - 1} of ${config.resumeFrom}`,
        { workflowId: config.resumeFrom, from: state.cursor, to },
      );
      for (const summary of found) earlier.set(summary.index, summary);
    }
    for (;;) {
      await startSamples(earlier);
      // The segment's share is started: the next segment takes over the running samples.
      const moreToStart = state.cursor < config.samples || requeued().length > 0;
      if (acrossContinue && moreToStart && segmentFull() && !fatal && !state.stopReason) break;
      await condition(() => running.size === 0);
      // A sample that failed on the key while the others drained: wait for resume and run it.
      if (!authPause || requeued().length === 0 || fatal || state.stopReason) break;
      if (segmentFull()) break;
    }
  }

  /**
   * This segment has started its share: `samplesPerContinue` samples, or (since samples outlive
   * segments) fewer when the server suggests continuing as new because the history grew large.
   */
  function segmentFull(): boolean {
    if (startedThisRun >= config.samplesPerContinue) return true;
    return acrossContinue && workflowInfo().continueAsNewSuggested;
  }

  async function startSamples(earlier: Map<number, SvgSampleSummary>): Promise<void> {
    while ((state.cursor < config.samples || requeued().length > 0) && !state.stopReason && !fatal) {
      await condition(() => (!state.paused && running.size < state.concurrency) || fatal !== undefined);
      if (fatal) break;
      if (overBudget()) {
        state.stopReason = 'budget';
        break;
      }
      if (segmentFull()) break;
      // Samples held back by an auth failure go first, under the same index (and child id).
      const again = requeued().shift();
      const index = again ?? state.cursor;
      if (again === undefined) state.cursor += 1;
      startedThisRun += 1;
      const reused = again === undefined ? earlier.get(index) : undefined;
      if (reused) {
        state.reused = (state.reused ?? 0) + 1;
        onFinished(reused);
        continue;
      }
      running.add(index);
      const child = await startChild(svgSample, {
        workflowId: `${workflowInfo().workflowId}-s${index}`,
        staticSummary: `sample ${index} of run ${config.runId}`,
        // Cancelled with the run, so every rollout removes its own container. Since samples
        // outlive segments, a continue-as-new must leave them running: a cancel of the run
        // reaches them through the scope (this segment's) or by id (earlier segments').
        parentClosePolicy: acrossContinue ? ParentClosePolicy.ABANDON : ParentClosePolicy.REQUEST_CANCEL,
        args: [
          {
            runId: config.runId,
            index,
            functions,
            templates: config.templates,
            seed: config.seed,
            sandbox: {
              hostQueue: sandbox.hostQueue,
              image: sandbox.image,
              baseCommit: sandbox.baseCommit,
              limits: config.sandboxLimits,
              // Since this patch, rollouts spread over every live sandbox host and move off a dead one.
              ...(patched(ROLLOUTS_CLAIM_HOSTS) ? { repository: config.repository.path } : {}),
              ...imageRecipeInput(config),
            },
            ...(state.languages ? { languages: state.languages } : {}),
            teacher: config.teacher,
            rolloutLimits: config.rolloutLimits,
            threshold: config.threshold,
            judgeTries: config.judgeTries,
            demonstrations,
            ...(config.demonstrationsFile ? { demonstrationsFile: config.demonstrationsFile } : {}),
            scaffold: config.scaffold,
            heartbeatTimeoutSeconds: config.heartbeatTimeoutSeconds,
          },
        ],
      });
      childRuns.set(index, child.firstExecutionRunId);
      const runId = child.firstExecutionRunId;
      void child.result().then(
        (summary) => fromChild(index, runId, () => onFinished(summary)),
        (error: unknown) => fromChild(index, runId, () => onFailed(index, error)),
      );
    }
  }
  if (fatal) {
    // Samples outlive their segment now, so a run that stops stops its samples itself.
    if (acrossContinue) await cancelRunning();
    throw ApplicationFailure.create({
      type: ErrorTypes.ModelRequestRejected,
      message: `the run stopped: ${fatal}`,
      nonRetryable: true,
    });
  }

  const ledgerSummary = `ledger of ${segment.length} finished samples`;
  const written = segment.length;
  if (written > 0)
    state.ledger.push(
      await callWithSummary(llm.writeLedgerChunk, ledgerSummary, { entries: segment.slice(0, written) }),
    );
  if (byLedger && state.ledger.length > LEDGER_IDS_CARRIED)
    state.ledger = [await llm.writeLedgerIndex({ ledger: state.ledger })];
  if ((state.cursor < config.samples || requeued().length > 0 || running.size > 0) && !state.stopReason) {
    if (running.size > 0) {
      state.inFlight = [...running].map((index) => [index, childRuns.get(index)!]);
      // Reports that came in while the chunk was written go into the next segment's.
      state.unwritten = segment.slice(written);
    }
    await continueAsNew<typeof svgRun>(request, state);
  }
  if (byLedger) {
    // The duplicate rule, applied to the whole ledger: the final counts are the ledger's.
    const duplicates = await ledgerReads.countLedgerDuplicates({ ledger: state.ledger });
    if (duplicates > 0) {
      state.acceptedSeen = acceptedCount() - duplicates;
      state.rejected.duplicate_patch = (state.rejected.duplicate_patch ?? 0) + duplicates;
      upsertSearchAttributes([{ key: SearchAttributes.acceptedSamples, value: acceptedCount() }]);
    }
  }
  const result: SvgRunResult = {
    runId: config.runId,
    status: state.stopReason === 'budget' ? 'budget_exhausted' : 'completed',
    samples: config.samples,
    finished: state.finished,
    reused: state.reused ?? 0,
    acceptedCount: acceptedCount(),
    ...(compact ? {} : { accepted: Object.values(state.accepted).sort((a, b) => a.index - b.index) }),
    rejectedByReason: state.rejected,
    tokens: state.tokens,
    costUsd: state.costUsd,
    ...(authPause ? { replyRetries: state.retried ?? {} } : {}),
    ledger: state.ledger,
  };
  // Runs started before generation-only also built the dataset, trained and evaluated here.
  if (!state.generationOnly) await chainStagesOfEarlierRuns(config, result, (s) => void (stage = s));
  else if (config.dataset.build)
    upsertMemo({
      dataset:
        "not built by svgRun, which makes samples only: the CLI's `dataset <run-id>` command (or a buildDataset workflow on the result's ledger) builds it",
    });
  stage = state.stopReason === 'budget' ? 'budget-exhausted' : 'done';
  upsertSearchAttributes([{ key: SearchAttributes.stage, value: stage }]);
  if (config.output) {
    result.manifest = await llm.writeRunManifest({
      output: config.output,
      runId: config.runId,
      manifest: { ...result },
    });
  }
  return result;
}
