import OpenAI from 'openai';
import type { ModelSettings } from '../../core/agent/rollout-input';
import { classifyReply, functionCalls, splitReasoning, type ReplyMessage } from '../../core/agent/reply';
import type { ReplyProblem, TokenUsage } from '../../core/agent/trajectory';
import { activityContext, heartbeat } from '../common/activity-context';
import {
  attemptSeed,
  firstAttempt,
  nextAttempt,
  type ReplyAttempt,
  type ReplyPolicy,
} from '../../core/agent/reply-attempts';
import { asModelFailure, wantsMaxCompletionTokens } from './model-errors';
import { openaiClient, otherTokenLimitParam, tokenLimitParams, usageOf } from './endpoint';
import { chargeLostRequests, requestAnswered, requestSent, type LostRequestDetails } from './lost-requests';

export { openaiClient } from './endpoint';

type Completion = OpenAI.Chat.Completions.ChatCompletion;

export type { ReplyPolicy } from '../../core/agent/reply-attempts';

/** What one request of a call is sent with. */
export interface Attempt {
  /** 0 for the first request, then 1, 2 … for each reply asked again. */
  index: number;
  seed?: number;
  maxTokens: number;
  /** The token limit as the endpoint wants it named: `{max_tokens}` or `{max_completion_tokens}`. */
  tokenLimit: Record<string, number>;
}

/**
 * The tokens of one completion: the server's count, else the tokenizer's count of what was sent
 * and of everything that came back (reasoning, answer and calls).
 */
export function completionUsage(completion: Completion, requestMessages: readonly unknown[]): TokenUsage {
  const message = (completion.choices[0]?.message ?? {}) as ReplyMessage;
  const replyText = [
    message.reasoning_content ?? message.reasoning ?? '',
    message.content ?? '',
    ...functionCalls(message).map((call) => `${call.name}${call.arguments}`),
  ].join('');
  return usageOf(completion, requestMessages, replyText);
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
  };
}

export interface PolicyOutcome {
  /** The last reply: usable unless `problem` is set (the retries were spent). */
  completion: Completion;
  problem?: ReplyProblem;
  /** Replies asked again, by cause. */
  retried: Partial<Record<ReplyProblem, number>>;
  /** Every attempt's tokens, the ones asked again included: the cost cap must see them. */
  usage: TokenUsage;
  /** The last attempt's prompt alone: how long the conversation is (`usage` sums the attempts). */
  conversationTokens: number;
}

export interface AskOptions {
  model: ModelSettings;
  needsToolCall: boolean;
  retryOn: readonly ReplyProblem[];
  /** The messages each attempt sends, for counting tokens when the server does not. */
  requestMessages: readonly unknown[];
  send: (attempt: Attempt) => Promise<Completion>;
}

export interface AskOnceOutcome {
  completion: Completion;
  /** What was wrong with the reply, among the problems `retryOn` names. */
  problem?: ReplyProblem;
  usage: TokenUsage;
  /** The attempt as sent: its limit's name changes when the endpoint refused the other one. */
  attempt: ReplyAttempt;
}

/**
 * One request of a call, and what was wrong with its reply. An endpoint that refuses the limit's
 * name (OpenAI's reasoning models refuse max_tokens) is answered at once with an error and no
 * tokens, and gets the same request again under the other name.
 */
export async function askOnce(options: AskOptions, attempt: ReplyAttempt): Promise<AskOnceOutcome> {
  const { model } = options;
  let limitName = attempt.tokenLimitParam ?? model.tokenLimitParam;
  const request = (): Attempt => ({
    index: attempt.index,
    seed: attemptSeed(model, attempt.index),
    maxTokens: attempt.maxTokens,
    tokenLimit: tokenLimitParams({ tokenLimitParam: limitName }, attempt.maxTokens),
  });
  let completion: Completion;
  try {
    completion = await options.send(request());
  } catch (error) {
    if (!wantsMaxCompletionTokens(error) || limitName !== model.tokenLimitParam) throw error;
    limitName = otherTokenLimitParam({ tokenLimitParam: limitName });
    completion = await options.send(request());
  }
  const found = classifyReply(completion.choices[0] ?? {}, options.needsToolCall);
  return {
    completion,
    ...(found !== undefined && options.retryOn.includes(found) ? { problem: found } : {}),
    usage: completionUsage(completion, options.requestMessages),
    attempt: limitName === model.tokenLimitParam ? attempt : { ...attempt, tokenLimitParam: limitName },
  };
}

/**
 * Sends a request until its reply has none of the problems `retryOn` names, or the policy's
 * retries are spent, in this process (the side calls; a rollout's turns ask again from the
 * workflow). Each attempt gets its own seed; the first reply cut at the token limit doubles the
 * limit for the attempts after it (when the policy says so).
 */
export async function askUntilUsable(options: AskOptions & { policy: ReplyPolicy }): Promise<PolicyOutcome> {
  const retried: Partial<Record<ReplyProblem, number>> = {};
  let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  let attempt: ReplyAttempt | undefined = firstAttempt(options.model);
  for (;;) {
    const outcome = await askOnce(options, attempt);
    usage = addUsage(usage, outcome.usage);
    const { completion, problem } = outcome;
    const conversationTokens = outcome.usage.promptTokens;
    if (problem === undefined) return { completion, retried, usage, conversationTokens };
    attempt = nextAttempt(options.policy, options.model, outcome.attempt, problem);
    if (attempt === undefined) return { completion, problem, retried, usage, conversationTokens };
    retried[problem] = (retried[problem] ?? 0) + 1;
  }
}

export interface ChatOnceResult {
  /** The answer only: any reasoning is taken out of it. */
  text: string;
  reasoning?: string;
  /** Every attempt's tokens. */
  usage: TokenUsage;
  finishReason: string | null;
}

/** Empty or cut replies of the judge and the PR writer are asked again this many times. */
const CHAT_RETRIES = 2;

/**
 * One plain chat call (no tools): the judge and the PR writer. An empty reply or one cut at the
 * token limit is asked again (new seed, limit raised once); past the retries the last reply is
 * returned as it is, and its finish reason tells the caller it was cut.
 */
export async function chatOnce(model: ModelSettings, prompt: string): Promise<ChatOnceResult> {
  const ticker = setInterval(heartbeat, 1000);
  try {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: 'user', content: prompt },
    ];
    // Each request is marked in flight while it runs: a reply an earlier attempt lost is charged.
    let sent: LostRequestDetails | undefined;
    const outcome = await askUntilUsable({
      model,
      requestMessages: messages,
      policy: { retries: CHAT_RETRIES, raiseLimitOnce: true },
      needsToolCall: false,
      retryOn: ['length', 'empty'],
      send: async (attempt) => {
        sent = requestSent(attempt.maxTokens);
        try {
          const completion = await openaiClient(model).chat.completions.create(
            {
              model: model.model,
              messages,
              temperature: model.temperature,
              ...attempt.tokenLimit,
              ...(attempt.seed !== undefined ? { seed: attempt.seed } : {}),
            },
            { signal: activityContext()?.cancellationSignal },
          );
          requestAnswered(sent);
          return completion;
        } catch (error) {
          requestAnswered(sent, error);
          throw error;
        }
      },
    });
    const lost = sent
      ? chargeLostRequests(sent, () => usageOf({}, messages, '').promptTokens).usage
      : undefined;
    const choice = outcome.completion.choices[0];
    const { reasoning, answer } = splitReasoning(choice?.message ?? {});
    return {
      text: answer ?? '',
      ...(reasoning !== undefined ? { reasoning } : {}),
      usage: lost ? addUsage(outcome.usage, lost) : outcome.usage,
      finishReason: choice?.finish_reason ?? null,
    };
  } catch (error) {
    throw asModelFailure(error, model.baseUrl, model.model);
  } finally {
    clearInterval(ticker);
  }
}
