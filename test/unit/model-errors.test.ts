import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import {
  asModelFailure,
  isContextOverflow,
  wantsMaxCompletionTokens,
} from '../../activities/llm/model-errors';
import { ErrorTypes } from '../../core/errors';

/** An SDK error as the client builds it from a server's reply. */
function apiError(status: number, error: Record<string, unknown>): InstanceType<typeof OpenAI.APIError> {
  return OpenAI.APIError.generate(status, { error }, undefined, new Headers());
}

describe('model errors', () => {
  it('recognises prompts over the context of OpenAI and vLLM', () => {
    const openai = apiError(400, {
      message:
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    });
    const vllm = apiError(400, {
      message:
        "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens (39000 in the messages, 1000 in the completion).",
      type: 'BadRequestError',
      param: null,
      code: 400,
    });
    const vllmNewer = apiError(400, {
      message: 'The decoder prompt (length 40000) is longer than the maximum model length of 32768.',
      type: 'VLLMValidationError',
      param: 'input_tokens',
      code: 400,
    });
    const tooLarge = apiError(413, { message: 'request entity too large' });
    for (const error of [openai, vllm, vllmNewer, tooLarge]) expect(isContextOverflow(error)).toBe(true);
    const other = apiError(400, {
      message: "'temperature' must be at most 2",
      type: 'BadRequestError',
      code: 400,
    });
    expect(isContextOverflow(other)).toBe(false);
    expect(isContextOverflow(new Error('maximum context length'))).toBe(false);
  });

  it('recognises a refusal of max_tokens', () => {
    const refusal = apiError(400, {
      message:
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'unsupported_parameter',
    });
    expect(wantsMaxCompletionTokens(refusal)).toBe(true);
    expect(wantsMaxCompletionTokens(apiError(400, { message: 'bad tools', code: 'invalid_value' }))).toBe(
      false,
    );
  });

  it('turns 401 and 403 into a non-retryable auth failure naming the endpoint', () => {
    for (const status of [401, 403]) {
      const failure = asModelFailure(
        apiError(status, { message: 'Incorrect API key provided', code: 'invalid_api_key' }),
        'http://teacher/v1',
        'm',
      );
      expect(failure.type).toBe(ErrorTypes.ModelAuthFailed);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain('http://teacher/v1');
      expect(failure.message).toContain('Incorrect API key provided');
    }
  });

  it('keeps other client errors as rejected requests and passes sorted failures through', () => {
    const rejected = asModelFailure(apiError(422, { message: 'bad' }), 'http://teacher/v1', 'm');
    expect(rejected.type).toBe(ErrorTypes.ModelRequestRejected);
    const sorted = ApplicationFailure.create({
      type: ErrorTypes.ModelAuthFailed,
      message: 'unset',
      nonRetryable: true,
    });
    expect(asModelFailure(sorted, 'http://teacher/v1', 'm')).toBe(sorted);
  });
});
