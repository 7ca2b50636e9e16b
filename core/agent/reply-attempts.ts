import type { ModelSettings } from './rollout-input';
import { describeReplyProblem } from './reply';
import type { ReplyProblem } from './trajectory';

/**
 * How a reply that went wrong is asked again: the same request with a new seed, the token limit
 * doubled once after a cut reply. Pure, so that the workflow decides each requery (one model
 * request per activity attempt) and the llm activities' in-process loop decides the same way.
 */

/** How replies that go wrong are handled: asked again this many times, the token limit raised once. */
export interface ReplyPolicy {
  retries: number;
  /** The first reply cut at the token limit doubles the limit for the rest of the call. */
  raiseLimitOnce: boolean;
}

/** One request of a call: which one it is and the token limit it is sent with. */
export interface ReplyAttempt {
  /** 0 for the first request, then 1, 2 … for each reply asked again. */
  index: number;
  maxTokens: number;
  /** The limit was already doubled after a cut reply. */
  raised: boolean;
  /** The name the endpoint takes the limit under, once a refusal showed which (absent: the model's). */
  tokenLimitParam?: ModelSettings['tokenLimitParam'];
}

export function firstAttempt(model: Pick<ModelSettings, 'maxTokens'>): ReplyAttempt {
  return { index: 0, maxTokens: model.maxTokens, raised: false };
}

/**
 * The seed of an attempt: the model's own for the first request, then one more per retry. A
 * server with a fixed seed (vLLM) samples the same tokens for the same request, so asking again
 * with the same seed would only give back the same bad reply; a seed that follows the attempt
 * keeps a rerun of the whole run reproducible all the same.
 */
export function attemptSeed(model: Pick<ModelSettings, 'seed'>, attempt: number): number | undefined {
  return attempt === 0 ? model.seed : (model.seed ?? 0) + attempt;
}

/** The attempt after a reply with `problem`, or undefined when the policy's retries are spent. */
export function nextAttempt(
  policy: ReplyPolicy,
  model: Pick<ModelSettings, 'maxTokens'>,
  attempt: ReplyAttempt,
  problem: ReplyProblem,
): ReplyAttempt | undefined {
  if (attempt.index >= policy.retries) return undefined;
  const raise = problem === 'length' && policy.raiseLimitOnce && !attempt.raised;
  return {
    ...attempt,
    index: attempt.index + 1,
    ...(raise ? { maxTokens: model.maxTokens * 2, raised: true } : {}),
  };
}

/** Why a turn ended unusable, as the rollout's detail says it. */
export function unusableDetail(problem: ReplyProblem, retries: number): string {
  return `${describeReplyProblem(problem)} (${problem}) after ${retries} ${retries === 1 ? 'retry' : 'retries'}`;
}
