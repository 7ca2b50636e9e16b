import OpenAI from 'openai';
import type { ModelSettings } from '../../core/agent/rollout-input';
import { classifyReply, functionCalls, splitReasoning, type ReplyMessage } from '../../core/agent/reply';
import type { ReplyProblem, TokenUsage } from '../../core/agent/trajectory';
import { activityContext, heartbeat } from '../common/activity-context';
import { asModelFailure, wantsMaxCompletionTokens } from './model-errors';
import { openaiClient, otherTokenLimitParam, tokenLimitParams, usageOf } from './endpoint';

export { openaiClient } from './endpoint';

type Completion = OpenAI.Chat.Completions.ChatCompletion;

/** How replies that go wrong are handled: asked again this many times, the token limit raised once. */
export interface ReplyPolicy {
  retries: number;
  /** The first reply cut at the token limit doubles the limit for the rest of the call. */
  raiseLimitOnce: boolean;
}

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
 * The seed of an attempt: the model's own for the first request, then one more per retry. A
 * server with a fixed seed (vLLM) samples the same tokens for the same request, so asking again
 * with the same seed would only give back the same bad reply; a seed that follows the attempt
 * keeps a rerun of the whole run reproducible all the same.
 */
export function attemptSeed(model: ModelSettings, attempt: number): number | undefined {
  return attempt === 0 ? model.seed : (model.seed ?? 0) + attempt;
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

/**
 * Sends a request until its reply has none of the problems `retryOn` names, or the policy's
 * retries are spent. Each attempt gets its own seed; the first reply cut at the token limit
 * doubles the limit for the attempts after it (when the policy says so).
 */
export async function askUntilUsable(options: {
  model: ModelSettings;
  policy: ReplyPolicy;
  needsToolCall: boolean;
  retryOn: readonly ReplyProblem[];
  /** The messages each attempt sends, for counting tokens when the server does not. */
  requestMessages: readonly unknown[];
  send: (attempt: Attempt) => Promise<Completion>;
}): Promise<PolicyOutcome> {
  const { model, policy } = options;
  const retried: Partial<Record<ReplyProblem, number>> = {};
  let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  let maxTokens = model.maxTokens;
  let raised = false;
  let limitName = model.tokenLimitParam;
  for (let index = 0; ; index += 1) {
    const attempt = (): Attempt => ({
      index,
      seed: attemptSeed(model, index),
      maxTokens,
      tokenLimit: tokenLimitParams({ tokenLimitParam: limitName }, maxTokens),
    });
    let completion: Completion;
    try {
      completion = await options.send(attempt());
    } catch (error) {
      // An endpoint that refuses the limit's name (OpenAI's reasoning models refuse max_tokens)
      // gets the same request once more with the other name, for the rest of the call.
      if (!wantsMaxCompletionTokens(error) || limitName !== model.tokenLimitParam) throw error;
      limitName = otherTokenLimitParam({ tokenLimitParam: limitName });
      completion = await options.send(attempt());
    }
    const used = completionUsage(completion, options.requestMessages);
    usage = addUsage(usage, used);
    const conversationTokens = used.promptTokens;
    const found = classifyReply(completion.choices[0] ?? {}, options.needsToolCall);
    const problem = found !== undefined && options.retryOn.includes(found) ? found : undefined;
    if (problem === undefined) return { completion, retried, usage, conversationTokens };
    if (index >= policy.retries) return { completion, problem, retried, usage, conversationTokens };
    retried[problem] = (retried[problem] ?? 0) + 1;
    if (problem === 'length' && policy.raiseLimitOnce && !raised) {
      raised = true;
      maxTokens = model.maxTokens * 2;
    }
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
    const outcome = await askUntilUsable({
      model,
      requestMessages: messages,
      policy: { retries: CHAT_RETRIES, raiseLimitOnce: true },
      needsToolCall: false,
      retryOn: ['length', 'empty'],
      send: (attempt) =>
        openaiClient(model).chat.completions.create(
          {
            model: model.model,
            messages,
            temperature: model.temperature,
            ...attempt.tokenLimit,
            ...(attempt.seed !== undefined ? { seed: attempt.seed } : {}),
          },
          { signal: activityContext()?.cancellationSignal },
        ),
    });
    const choice = outcome.completion.choices[0];
    const { reasoning, answer } = splitReasoning(choice?.message ?? {});
    return {
      text: answer ?? '',
      ...(reasoning !== undefined ? { reasoning } : {}),
      usage: outcome.usage,
      finishReason: choice?.finish_reason ?? null,
    };
  } catch (error) {
    throw asModelFailure(error, model.baseUrl, model.model);
  } finally {
    clearInterval(ticker);
  }
}
