import OpenAI from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';

/** True when the server refused the request because the conversation is too long. */
export function isContextOverflow(error: unknown): boolean {
  if (!(error instanceof OpenAI.APIError) || error.status !== 400) return false;
  const code = String((error as { code?: unknown }).code ?? '');
  return (
    code === 'context_length_exceeded' ||
    /maximum context length|context length|too many tokens/i.test(error.message)
  );
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
 * server's Retry-After) and never count against the model; a rejected request or a missing model
 * fails at once with the server's own message.
 */
export function asModelFailure(error: unknown, endpoint: string, model: string): ApplicationFailure {
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
        type: ErrorTypes.ModelRateLimited,
        message: `${endpoint} rate-limited the call (429): ${error.message}`,
        nextRetryDelay: wait === undefined ? undefined : `${Math.ceil(wait * 1000)}ms`,
      });
    }
    if (status >= 500 || status === 408 || status === 409) {
      return ApplicationFailure.create({
        type: ErrorTypes.ModelUnavailable,
        message: `${endpoint} failed with ${status}: ${error.message}`,
      });
    }
    if (status === 404) {
      return ApplicationFailure.create({
        type: ErrorTypes.ModelNotFound,
        message: `${endpoint} has no model ${JSON.stringify(model)} (404): ${error.message}`,
        nonRetryable: true,
      });
    }
    return ApplicationFailure.create({
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
