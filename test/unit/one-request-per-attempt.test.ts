import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { createLlmActivities } from '../../activities/llm/activities';
import { chatOnce } from '../../activities/llm/chat';
import {
  billedNothing,
  chargeLostRequests,
  requestAnswered,
  requestSent,
} from '../../activities/llm/lost-requests';
import { ModelSettingsSchema } from '../../core/agent/rollout-input';
import { firstAttempt, nextAttempt, unusableDetail } from '../../core/agent/reply-attempts';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { inFakeActivity } from '../support/fake-activity-context';
import { startScriptedEndpoint } from '../support/scripted-endpoint';

const model = { maxTokens: 1000 };
const policy = { retries: 2, raiseLimitOnce: true };

describe('the workflow asks a reply again, one request at a time', () => {
  it('doubles the limit after the first cut reply only, and stops when the retries are spent', () => {
    const first = firstAttempt(model);
    const second = nextAttempt(policy, model, first, 'length')!;
    expect(second).toMatchObject({ index: 1, maxTokens: 2000, raised: true });
    const third = nextAttempt(policy, model, second, 'length')!;
    expect(third).toMatchObject({ index: 2, maxTokens: 2000 });
    expect(nextAttempt(policy, model, third, 'empty')).toBeUndefined();
    expect(nextAttempt({ retries: 2, raiseLimitOnce: false }, model, first, 'length')!.maxTokens).toBe(1000);
    expect(nextAttempt(policy, model, first, 'empty')!.maxTokens).toBe(1000);
  });

  it('keeps the limit name a refusal taught it, and words the end as the rollout reports it', () => {
    const taught = { ...firstAttempt(model), tokenLimitParam: 'max_completion_tokens' as const };
    expect(nextAttempt(policy, model, taught, 'malformed')!.tokenLimitParam).toBe('max_completion_tokens');
    expect(unusableDetail('length', 1)).toBe('reply cut at the token limit (length) after 1 retry');
    expect(unusableDetail('empty', 3)).toBe('empty reply (empty) after 3 retries');
  });
});

/** A connection error as fetch reports it: the socket's code two causes down. */
function connectionError(code: string): Error {
  const socket = Object.assign(new Error(`connect ${code}`), { code });
  return new OpenAI.APIConnectionError({ cause: new TypeError('fetch failed', { cause: socket }) });
}

describe('requests whose reply never came back', () => {
  it('tells errors that billed nothing from replies that may have been generated and lost', () => {
    expect(
      billedNothing(OpenAI.APIError.generate(500, { error: { message: 'boom' } }, 'boom', new Headers())),
    ).toBe(true);
    expect(
      billedNothing(OpenAI.APIError.generate(429, { error: { message: 'slow' } }, 'slow', new Headers())),
    ).toBe(true);
    expect(billedNothing(connectionError('ECONNREFUSED'))).toBe(true);
    expect(billedNothing(connectionError('ECONNRESET'))).toBe(false);
    expect(billedNothing(new OpenAI.APIConnectionTimeoutError())).toBe(false);
    expect(billedNothing(new Error('anything else'))).toBe(false);
  });

  it('carries a request left in flight to the next attempt, which charges its prompt and its limit', async () => {
    const earlier = { lost: 1, lostCompletionTokens: 700, inFlightMaxTokens: 500 };
    const run = await inFakeActivity(
      async () => {
        const sent = requestSent(800);
        const charged = chargeLostRequests(sent, () => 40);
        requestAnswered(sent, new OpenAI.APIConnectionTimeoutError());
        requestAnswered(sent);
        return { sent, charged };
      },
      { heartbeatDetails: earlier, attempt: 3 },
    );
    // Two lost before this attempt: the one counted already and the one still in flight.
    expect(run.value.sent).toEqual({ lost: 2, lostCompletionTokens: 1200, inFlightMaxTokens: 800 });
    expect(run.value.charged).toEqual({ lost: 2, usage: { promptTokens: 80, completionTokens: 1200 } });
    // A timeout leaves the request in flight; an answer takes it out.
    expect(run.heartbeats.at(-1)).toEqual({ lost: 2, lostCompletionTokens: 1200 });
    expect(run.heartbeats).toHaveLength(2);
  });
});

describe('agentTurn with an attempt', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sera-one-request-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes one request, hands a bad reply back rejected, and adds an earlier lost request to the turn', async () => {
    const endpoint = await startScriptedEndpoint([
      { content: '' },
      { content: 'Listing.', toolCalls: [{ name: 'bash', arguments: { command: 'ls' } }] },
    ]);
    try {
      const activities = createLlmActivities({ artifacts: new LocalArtifactStore(root) });
      const settings = ModelSettingsSchema.parse({
        baseUrl: endpoint.url,
        model: 'scripted',
        maxTokens: 300,
      });
      const base = {
        rolloutId: 'r1',
        turn: 1,
        model: settings,
        start: { system: 'system', user: 'task' },
        observations: [],
        replyPolicy: { retries: 2, raiseLimitOnce: true },
      };
      const first = await inFakeActivity(() =>
        activities.agentTurn({ ...base, attempt: firstAttempt(settings) }),
      );
      expect(endpoint.requests).toHaveLength(1);
      expect(first.value.rejected).toEqual({ problem: 'empty', attempt: firstAttempt(settings) });
      expect(first.value.usage).toEqual({ promptTokens: 100, completionTokens: 10 });

      // The next attempt's first try was lost to a timeout; this try is answered.
      const attempt = nextAttempt(base.replyPolicy, settings, firstAttempt(settings), 'empty')!;
      const second = await inFakeActivity(
        () =>
          activities.agentTurn({
            ...base,
            start: undefined,
            trajectory: first.value.trajectory,
            attempt,
            retried: { empty: 1 },
          }),
        { attempt: 2, heartbeatDetails: { lost: 0, lostCompletionTokens: 0, inFlightMaxTokens: 300 } },
      );
      expect(endpoint.requests).toHaveLength(2);
      expect(endpoint.requests[1]!.seed).toBe(1);
      expect(second.value.rejected).toBeUndefined();
      expect(second.value.lostRequests).toBe(1);
      expect(second.value.toolCalls.map((c) => c.function.name)).toEqual(['bash']);
      expect(second.value.usage.completionTokens).toBe(10 + 300);
      expect(second.value.usage.promptTokens).toBeGreaterThan(100);
      expect(second.value.conversationTokens).toBe(100);

      const stored = JSON.parse(
        (await new LocalArtifactStore(root).get(second.value.trajectory.id)).toString('utf8'),
      ) as { turns: Array<Record<string, unknown>>; messages: Array<{ role: string }> };
      // One record for the turn, with both attempts' tokens; the empty reply is not in the messages.
      expect(stored.turns).toHaveLength(1);
      expect(stored.turns[0]).toMatchObject({ turn: 1, retried: { empty: 1 }, lostRequests: 1 });
      expect((stored.turns[0]!.usage as { completionTokens: number }).completionTokens).toBe(10 + 10 + 300);
      expect(stored.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    } finally {
      await endpoint.close();
    }
  });
});

describe('side calls (the judge, the PR writer)', () => {
  it('charge a reply an earlier attempt lost, and nothing when none was', async () => {
    const endpoint = await startScriptedEndpoint([{ content: 'A PR.' }, { content: 'Another PR.' }]);
    try {
      const settings = ModelSettingsSchema.parse({
        baseUrl: endpoint.url,
        model: 'scripted',
        maxTokens: 250,
      });
      const clean = await inFakeActivity(() => chatOnce(settings, 'Write a PR.'));
      expect(clean.value.usage).toEqual({ promptTokens: 100, completionTokens: 10 });
      const retried = await inFakeActivity(() => chatOnce(settings, 'Write a PR.'), {
        attempt: 2,
        heartbeatDetails: { lost: 0, lostCompletionTokens: 0, inFlightMaxTokens: 250 },
      });
      expect(retried.value.text).toBe('Another PR.');
      expect(retried.value.usage.completionTokens).toBe(10 + 250);
      expect(retried.value.usage.promptTokens).toBeGreaterThan(100);
    } finally {
      await endpoint.close();
    }
  });
});
