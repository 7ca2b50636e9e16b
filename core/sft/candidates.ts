import { BUG_CATEGORIES } from '../agent/instructions';
import type { FunctionTool } from '../agent/tools';
import type { ChatMessage } from '../agent/trajectory';
import { countChangedLines } from '../patch-stats';
import { changedLines as changedLinesOf } from '../soft-verify';
import type { DatasetConfig } from './dataset-config';
import { FormatError, toInferenceMessages, type InferenceMessage } from './hermes-format';
import type { SampleRecord } from './sample-record';
import type { SftLine } from './sft-line';
import { truncateConversation } from './truncation';

export type TrajectorySource = 'T1' | 'T2';

/** One trajectory of one sample, loaded, before the filters. */
export interface Candidate {
  record: SampleRecord;
  source: TrajectorySource;
  trajectoryId: string;
  exitStatus: string;
  messages: ChatMessage[];
  patch: string;
}

export type Decision =
  | {
      kind: 'kept';
      line: SftLine;
      /** The conversation the line was made from, for the format proof. */
      inference: InferenceMessage[];
    }
  | { kind: 'rejected'; reason: string; detail?: string; fullTokens?: number };

/** The bug category a sample's instruction named ("generic" for template 0). */
export function bugCategory(template: number): string {
  return template === 0 ? 'generic' : (BUG_CATEGORIES[template - 1] ?? `template ${template}`);
}

/**
 * SERA's postprocessing filters and truncation for one trajectory, in order: only submitted
 * rollouts; T1 needs the judge's yes (when the record has a judgement); T2 needs recall ≥ threshold; the trajectory's own patch changes at most
 * `maxChangedLines` lines (added + deleted, blank ones included) and at least one non-blank line; every tool call is well formed;
 * optionally tool responses average at most `maxAvgToolResponseTokens`; the conversation is cut
 * to the context, and one whose first assistant turn alone does not fit is dropped.
 */
export function decideCandidate(
  candidate: Candidate,
  config: DatasetConfig & { threshold: number },
  tools: FunctionTool[],
  countTokens: (text: string) => number,
): Decision {
  const { record, source } = candidate;
  if (candidate.exitStatus !== 'submitted')
    return { kind: 'rejected', reason: `not_submitted_${candidate.exitStatus}` };
  // As the authors' postprocessing: T1 only where the judge said yes. Records written before the
  // judge was recorded have no `judge` and keep the old rule.
  const judged = record.judge;
  if (source === 'T1' && judged !== undefined && judged !== 'yes')
    return { kind: 'rejected', reason: 'judge_did_not_accept', detail: `judge: ${String(judged)}` };
  const recall = record.verification?.recall;
  if (source === 'T2' && (recall === undefined || recall < config.threshold))
    return { kind: 'rejected', reason: 'recall_below_threshold', detail: `recall ${recall ?? 'none'}` };
  const changedLines = countChangedLines(candidate.patch);
  // Empty as soft verification sees it: no changed line with content (blank-only edits are empty).
  if (changedLinesOf(candidate.patch).length === 0) return { kind: 'rejected', reason: 'empty_patch' };
  if (changedLines > config.maxChangedLines)
    return { kind: 'rejected', reason: 'too_many_changed_lines', detail: `${changedLines} lines` };
  let inference: InferenceMessage[];
  try {
    inference = toInferenceMessages(candidate.messages, config.answerText);
  } catch (error) {
    if (error instanceof FormatError)
      return { kind: 'rejected', reason: error.reason, detail: error.message };
    throw error;
  }
  if (config.maxAvgToolResponseTokens !== undefined) {
    const responses = inference.filter((m) => m.role === 'tool').map((m) => countTokens(m.content));
    const mean = responses.length ? responses.reduce((a, b) => a + b, 0) / responses.length : 0;
    if (mean > config.maxAvgToolResponseTokens)
      return {
        kind: 'rejected',
        reason: 'tool_responses_too_long',
        detail: `mean ${mean.toFixed(0)} tokens`,
      };
  }
  const cut = truncateConversation(inference, tools, config.maxTokens, countTokens);
  if (cut.kind === 'rejected') return { kind: 'rejected', reason: cut.reason, fullTokens: cut.fullTokens };
  return {
    kind: 'kept',
    inference: inference.slice(0, cut.sourceMessages),
    line: {
      id: `${record.runId}-s${record.index}-${source}`,
      messages: cut.messages,
      meta: {
        runId: record.runId,
        index: record.index,
        source,
        sourceMessages: cut.sourceMessages,
        tokens: cut.tokens,
        truncationRatio: cut.ratio,
        ...(source === 'T2' && recall !== undefined ? { recall } : {}),
        changedLines,
        bugCategory: bugCategory(record.plan.template),
      },
    },
  };
}

/** Kept lines by truncation ratio, highest first (ties: lower sample index, then T2 before T1). */
export function rankByTruncationRatio<T extends { meta: SftLine['meta'] }>(lines: T[]): T[] {
  return [...lines].sort(
    (a, b) =>
      b.meta.truncationRatio - a.meta.truncationRatio ||
      a.meta.index - b.meta.index ||
      (a.meta.source === b.meta.source ? 0 : a.meta.source === 'T2' ? -1 : 1),
  );
}
