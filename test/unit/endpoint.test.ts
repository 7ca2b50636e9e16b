import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { openaiClient, tokenLimitParams, usageOf } from '../../activities/llm/endpoint';
import { ModelSettingsSchema } from '../../core/agent/rollout-input';
import { ErrorTypes } from '../../core/errors';

/** A models endpoint that answers with the headers it was sent. */
let server: http.Server;
let baseUrl = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ object: 'list', data: [{ id: JSON.stringify(req.headers), object: 'model' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function sentHeaders(
  settings: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, string>> {
  const model = ModelSettingsSchema.parse({ baseUrl, model: 'm', ...settings });
  const page = await openaiClient(model, env).models.list();
  return JSON.parse(page.data[0]!.id) as Record<string, string>;
}

describe('endpoint', () => {
  it('sends the key, the extra headers and the secret headers', async () => {
    const headers = await sentHeaders(
      {
        apiKeyEnv: 'TEACHER_KEY',
        extraHeaders: { 'X-Route': 'a' },
        headersFromEnv: { 'X-Secret': 'TEACHER_SECRET' },
      },
      { TEACHER_KEY: 'k1', TEACHER_SECRET: 's1' },
    );
    expect(headers.authorization).toBe('Bearer k1');
    expect(headers['x-route']).toBe('a');
    expect(headers['x-secret']).toBe('s1');
  });

  it('sends no real key when none is configured', async () => {
    expect((await sentHeaders({}, {})).authorization).toBe('Bearer none');
  });

  it('fails naming the variable when the key or a secret header is unset', () => {
    const model = ModelSettingsSchema.parse({ baseUrl, model: 'm', apiKeyEnv: 'TEACHER_KEY' });
    for (const env of [{}, { TEACHER_KEY: '' }]) {
      const error = (() => {
        try {
          openaiClient(model, env);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect((error as ApplicationFailure).type).toBe(ErrorTypes.ModelAuthFailed);
      expect((error as ApplicationFailure).nonRetryable).toBe(true);
      expect((error as ApplicationFailure).message).toMatch(/TEACHER_KEY.*llm worker/);
    }
    const secret = ModelSettingsSchema.parse({
      baseUrl,
      model: 'm',
      headersFromEnv: { 'X-Secret': 'MISSING_SECRET' },
    });
    expect(() => openaiClient(secret, {})).toThrow(/MISSING_SECRET/);
  });

  it('names the token limit as the settings say', () => {
    const plain = ModelSettingsSchema.parse({ baseUrl, model: 'm' });
    expect(tokenLimitParams(plain, 100)).toEqual({ max_tokens: 100 });
    const reasoning = ModelSettingsSchema.parse({
      baseUrl,
      model: 'm',
      tokenLimitParam: 'max_completion_tokens',
    });
    expect(tokenLimitParams(reasoning, 100)).toEqual({ max_completion_tokens: 100 });
  });

  it("takes the server's token counts, else counts them", () => {
    const messages = [{ role: 'user', content: 'Rename the function parse_line to read_line.' }];
    expect(usageOf({ usage: { prompt_tokens: 11, completion_tokens: 3 } }, messages, 'ok')).toEqual({
      promptTokens: 11,
      completionTokens: 3,
    });
    const counted = usageOf({}, messages, 'Done: the function is renamed.');
    expect(counted.promptTokens).toBeGreaterThan(5);
    expect(counted.completionTokens).toBeGreaterThan(3);
    const longer = usageOf({}, [...messages, ...messages], 'Done: the function is renamed.');
    expect(longer.promptTokens).toBeGreaterThan(counted.promptTokens);
  });
});
