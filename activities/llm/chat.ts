import OpenAI from 'openai';
import type { ModelSettings } from '../../core/agent/rollout-input';
import type { TokenUsage } from '../../core/agent/trajectory';
import { activityContext, heartbeat } from '../common/activity-context';
import { asModelFailure } from './model-errors';
import { openaiClient } from './endpoint';

export { openaiClient } from './endpoint';

/** One plain chat call (no tools): the judge and the PR writer. */
export async function chatOnce(
  model: ModelSettings,
  prompt: string,
): Promise<{ text: string; usage: TokenUsage }> {
  const ticker = setInterval(heartbeat, 1000);
  try {
    const completion = await openaiClient(model).chat.completions.create(
      {
        model: model.model,
        messages: [{ role: 'user', content: prompt }],
        temperature: model.temperature,
        max_tokens: model.maxTokens,
        ...(model.seed !== undefined ? { seed: model.seed } : {}),
      },
      { signal: activityContext()?.cancellationSignal },
    );
    return {
      text: completion.choices[0]?.message.content ?? '',
      usage: {
        promptTokens: completion.usage?.prompt_tokens ?? 0,
        completionTokens: completion.usage?.completion_tokens ?? 0,
      },
    };
  } catch (error) {
    throw asModelFailure(error, model.baseUrl, model.model);
  } finally {
    clearInterval(ticker);
  }
}
