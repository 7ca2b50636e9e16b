import OpenAI from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import type { ModelSettings } from '../../core/agent/rollout-input';
import type { TokenUsage } from '../../core/agent/trajectory';
import { ErrorTypes } from '../../core/errors';
import { qwen3CountTokens } from '../../core/sft/qwen3';

/**
 * How this project talks to an OpenAI-compatible endpoint: the client (key, headers, timeouts),
 * the request's token-limit parameter, and token counts when the server reports none.
 */

function missingVariable(model: ModelSettings, variable: string, what: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorTypes.ModelAuthFailed,
    message:
      `the ${what} for ${model.baseUrl} is read from the environment variable ${variable} ` +
      `on the llm worker, and it is unset or empty there`,
    nonRetryable: true,
  });
}

/** A variable's value, or a ModelAuthFailed naming it when it is unset or empty. */
function requiredVariable(
  model: ModelSettings,
  env: NodeJS.ProcessEnv,
  variable: string,
  what: string,
): string {
  const value = env[variable];
  if (value === undefined || value === '') throw missingVariable(model, variable, what);
  return value;
}

export function openaiClient(model: ModelSettings, env: NodeJS.ProcessEnv = process.env): OpenAI {
  // Local servers need no key; the SDK wants some string all the same.
  const apiKey = model.apiKeyEnv ? requiredVariable(model, env, model.apiKeyEnv, 'API key') : 'none';
  const headers: Record<string, string> = { ...model.extraHeaders };
  for (const [header, variable] of Object.entries(model.headersFromEnv ?? {})) {
    headers[header] = requiredVariable(model, env, variable, `header ${header}`);
  }
  // Retries belong to Temporal (visible in the history, honouring Retry-After), not to the SDK.
  return new OpenAI({
    baseURL: model.baseUrl,
    apiKey,
    maxRetries: 0,
    timeout: model.requestTimeoutSeconds * 1000,
    ...(Object.keys(headers).length > 0 ? { defaultHeaders: headers } : {}),
  });
}

export type TokenLimitParams = { max_tokens: number } | { max_completion_tokens: number };

/**
 * The request's token-limit parameter, under the name the endpoint wants: OpenAI's reasoning
 * models refuse `max_tokens` and want `max_completion_tokens`.
 */
export function tokenLimitParams(
  model: Pick<ModelSettings, 'tokenLimitParam'>,
  maxTokens: number,
): TokenLimitParams {
  return (model.tokenLimitParam ?? 'max_tokens') === 'max_completion_tokens'
    ? { max_completion_tokens: maxTokens }
    : { max_tokens: maxTokens };
}

/** The other name of the token-limit parameter, for a resend after the server refused one. */
export function otherTokenLimitParam(
  model: Pick<ModelSettings, 'tokenLimitParam'>,
): 'max_tokens' | 'max_completion_tokens' {
  return (model.tokenLimitParam ?? 'max_tokens') === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
}

function messageText(message: unknown): string {
  if (typeof message !== 'object' || message === null) return '';
  const { content, tool_calls: toolCalls } = message as { content?: unknown; tool_calls?: unknown };
  const parts: string[] = [];
  if (typeof content === 'string') parts.push(content);
  else if (Array.isArray(content)) {
    for (const part of content) {
      const text = (part as { text?: unknown }).text;
      if (typeof text === 'string') parts.push(text);
    }
  }
  if (toolCalls !== undefined) parts.push(JSON.stringify(toolCalls));
  return parts.join('\n');
}

/**
 * Tokens of one call: the server's own count when it reports one, else counted with the Qwen3
 * tokenizer (an estimate for other models, but close enough that the cost and context caps hold).
 */
export function usageOf(
  completion: { usage?: { prompt_tokens?: number; completion_tokens?: number } | null },
  requestMessages: readonly unknown[],
  replyText: string,
): TokenUsage {
  const usage = completion.usage;
  if (usage && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number') {
    return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
  }
  const prompt = requestMessages.map(messageText).join('\n');
  return { promptTokens: qwen3CountTokens(prompt), completionTokens: qwen3CountTokens(replyText) };
}
