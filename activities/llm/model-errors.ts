import OpenAI from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';

/** The error object a server sent: OpenAI puts it under `error`, the SDK lifts its fields. */
function errorFields(error: InstanceType<typeof OpenAI.APIError>): {
  code: string;
  type: string;
  param: string;
} {
  const inner = (error.error ?? {}) as { code?: unknown; type?: unknown; param?: unknown };
  const field = (name: 'code' | 'type' | 'param'): string =>
    String((error as unknown as Record<string, unknown>)[name] ?? inner[name] ?? '');
  return { code: field('code'), type: field('type'), param: field('param') };
}

/**
 * Messages that say the prompt is over the model's context: OpenAI's and vLLM's "maximum context
 * length is N tokens", vLLM's "prompt (length N) is longer than the maximum model length" and
 * "too large … maximum context length" when the prompt leaves no room for the reply.
 */
const CONTEXT_MESSAGE =
  /maximum context length|context length exceeded|longer than the maximum model length|prompt is too long|too many tokens|input tokens exceed/i;

/**
 * True when the server refused the request because the conversation is too long: OpenAI's 400
 * with code `context_length_exceeded`; vLLM's 400 (type `BadRequestError`, or the newer
 * `VLLMValidationError`, code 400) whose message names the model's maximum length; any 413.
 */
export function isContextOverflow(error: unknown): boolean {
  if (!(error instanceof OpenAI.APIError)) return false;
  if (error.status === 413) return true;
  if (error.status !== 400) return false;
  const { code } = errorFields(error);
  return code === 'context_length_exceeded' || CONTEXT_MESSAGE.test(error.message);
}

/**
 * True when the server refused `max_tokens` and wants `max_completion_tokens` (OpenAI's reasoning
 * models: 400, code `unsupported_parameter`, param `max_tokens`), or the other way round. The
 * caller resends once with the other parameter (endpoint.ts `otherTokenLimitParam`).
 */
export function wantsMaxCompletionTokens(error: unknown): boolean {
  if (!(error instanceof OpenAI.APIError) || error.status !== 400) return false;
  const { code, param } = errorFields(error);
  if (code === 'unsupported_parameter' && (param === 'max_tokens' || param === 'max_completion_tokens'))
    return true;
  return /unsupported parameter: '?max_(completion_)?tokens'?/i.test(error.message);
}

function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, (date - Date.now()) / 1000) : undefined;
}

/**
 * Sorts a failed model call: rate limits and server trouble are retried (rate limits after the
 * server's Retry-After) and never count against the model; a refused key (401, 403), a rejected
 * request or a missing model fails at once with the server's own message.
 */
// The server's own error stays the failure's cause, so a caller can still tell what it was (the
// judge and PR writer shorten their prompt on a context overflow).
export function asModelFailure(error: unknown, endpoint: string, model: string): ApplicationFailure {
  // Already sorted (e.g. openaiClient's unset API-key variable): keep its type.
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof OpenAI.APIConnectionError) {
    return ApplicationFailure.create({
      type: ErrorTypes.ModelUnavailable,
      message: `the model endpoint ${endpoint} did not answer (${error.message})`,
    });
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status ?? 0;
    if (status === 429) {
      const wait = retryAfterSeconds(error.headers);
      return ApplicationFailure.create({
        cause: error,
        type: ErrorTypes.ModelRateLimited,
        message: `${endpoint} rate-limited the call (429): ${error.message}`,
        nextRetryDelay: wait === undefined ? undefined : `${Math.ceil(wait * 1000)}ms`,
      });
    }
    if (status >= 500 || status === 408 || status === 409) {
      return ApplicationFailure.create({
        cause: error,
        type: ErrorTypes.ModelUnavailable,
        message: `${endpoint} failed with ${status}: ${error.message}`,
      });
    }
    if (status === 401 || status === 403) {
      return ApplicationFailure.create({
        cause: error,
        type: ErrorTypes.ModelAuthFailed,
        message: `${endpoint} refused the API key (${status}): ${error.message}`,
        nonRetryable: true,
      });
    }
    if (status === 404) {
      return ApplicationFailure.create({
        cause: error,
        type: ErrorTypes.ModelNotFound,
        message: `${endpoint} has no model ${JSON.stringify(model)} (404): ${error.message}`,
        nonRetryable: true,
      });
    }
    return ApplicationFailure.create({
      cause: error,
      type: ErrorTypes.ModelRequestRejected,
      message: `${endpoint} rejected the request (${status}): ${error.message}`,
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({
    type: ErrorTypes.ModelUnavailable,
    message: `model call failed: ${(error as Error).message}`,
  });
}
