import OpenAI from 'openai';
import type { ModelSettings } from '../../core/agent/rollout-input';

/**
 * How this project talks to an OpenAI-compatible endpoint: the client (key, headers, timeouts),
 * the request's token-limit parameter, and token counts when the server reports none.
 */
export function openaiClient(model: ModelSettings, env: NodeJS.ProcessEnv = process.env): OpenAI {
  const apiKey = (model.apiKeyEnv ? env[model.apiKeyEnv] : undefined) ?? 'none';
  // Retries belong to Temporal (visible in the history, honouring Retry-After), not to the SDK.
  return new OpenAI({
    baseURL: model.baseUrl,
    apiKey,
    maxRetries: 0,
    timeout: model.requestTimeoutSeconds * 1000,
  });
}
