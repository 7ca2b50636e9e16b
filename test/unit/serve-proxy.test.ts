import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ProxyCannotListen,
  ProxyPortInUse,
  QWEN3_IM_END_ID,
  startProxy,
  type EngineTarget,
  type ProxyLogEntry,
  type RunningProxy,
} from '../../activities/serve/proxy-server';
import type { FunctionTool } from '../../core/agent/tools';
import type { InferenceMessage } from '../../core/sft/hermes-format';
import { qwen3CountTokens, qwen3Encode, renderQwen3Template } from '../../core/sft/qwen3';

const TOKEN = 'sera-test-token-0123456789';
const SERVED = 'sera-student';
const ENGINE_MODEL = 'engine-side-name';
/** Text only the prompts carry: the request log must never contain it. */
const SECRET = 'PRIVATE_REPOSITORY_CODE_42';

const CALL_TEXT = '<tool_call>\n{"name": "bash", "arguments": {"command": "cat src/app.py"}}\n</tool_call>';
const TOOL_TURN = `<think>\nI need to read the file.\n</think>\n\n${CALL_TEXT}`;
const PLAIN_TURN = '<think>\nAll done.\n</think>\n\nThe bug is fixed.';

interface EngineRequest {
  path: string;
  body: Record<string, unknown>;
}

/**
 * A stand-in for vLLM's raw completions endpoint: answers each request with the next queued
 * text (whole, or as server-sent events in small pieces), records what it was asked, and can hang
 * mid-stream to see a cancelled client's request go away.
 */
class StandInEngine {
  readonly seen: EngineRequest[] = [];
  replies: string[] = [];
  hang = false;
  /** Drop the connection after the first piece of a streamed answer (the engine died). */
  breakOff = false;
  private closedWhileHanging: () => void = () => {};
  readonly hungUpOn = new Promise<void>((resolve) => (this.closedWhileHanging = resolve));
  private server = http.createServer((req, res) => void this.answer(req, res));
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  target(): EngineTarget {
    return { baseUrl: `http://127.0.0.1:${this.port}/v1`, model: ENGINE_MODEL };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = JSON.parse(raw) as Record<string, unknown>;
    this.seen.push({ path: req.url ?? '', body });
    const text = this.replies.shift() ?? PLAIN_TURN;
    const usage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 };
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ choices: [{ index: 0, text, finish_reason: 'stop', stop_reason: null }], usage }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = (data: unknown): boolean => res.write(`data: ${JSON.stringify(data)}\n\n`);
    if (this.breakOff) {
      const piece = { choices: [{ index: 0, text: 'Partial answer', finish_reason: null }] };
      res.write(`data: ${JSON.stringify(piece)}\n\n`, () => setTimeout(() => res.destroy(), 20));
      return;
    }
    if (this.hang) {
      event({ choices: [{ index: 0, text: '<think>\n', finish_reason: null }] });
      res.on('close', () => this.closedWhileHanging());
      return;
    }
    for (let i = 0; i < text.length; i += 5)
      event({ choices: [{ index: 0, text: text.slice(i, i + 5), finish_reason: null }] });
    event({ choices: [{ index: 0, text: '', finish_reason: 'stop', stop_reason: null }] });
    event({ choices: [], usage });
    res.end('data: [DONE]\n\n');
  }
}

const TOOLS: FunctionTool[] = [
  {
    type: 'function',
    function: {
      name: 'bash',
      description: 'Run a command.',
      parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
    },
  },
];

/** The conversation both clients send below, as the Qwen3 template must see it. */
const EXPECTED_MESSAGES: InferenceMessage[] = [
  { role: 'system', content: `You fix bugs. ${SECRET}` },
  { role: 'user', content: 'Fix the crash in app.py.' },
  {
    role: 'assistant',
    content: 'Looking around.',
    tool_calls: [
      { type: 'function', function: { name: 'bash', arguments: '{"command": "ls", "timeout": 5}' } },
    ],
  },
  { role: 'tool', tool_call_id: 'call_1', content: 'app.py\nREADME.md' },
];
const EXPECTED_PROMPT = `${renderQwen3Template(EXPECTED_MESSAGES, TOOLS)}<|im_start|>assistant\n`;

const openAiMessages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: `You fix bugs. ${SECRET}` },
  { role: 'user', content: 'Fix the crash in app.py.' },
  {
    role: 'assistant',
    content: 'Looking around.',
    // Compact JSON, as many clients write it: the student sees Python's spelling it was trained on.
    tool_calls: [
      {
        id: 'call_1',
        type: 'function',
        function: { name: 'bash', arguments: '{"command":"ls","timeout":5}' },
      },
    ],
  },
  { role: 'tool', tool_call_id: 'call_1', content: 'app.py\nREADME.md' },
];

const anthropicMessages: Anthropic.MessageParam[] = [
  { role: 'user', content: 'Fix the crash in app.py.' },
  {
    role: 'assistant',
    content: [
      { type: 'text', text: 'Looking around.' },
      { type: 'tool_use', id: 'call_1', name: 'bash', input: { command: 'ls', timeout: 5 } },
    ],
  },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'app.py\nREADME.md' }] },
];
const anthropicTools: Anthropic.Tool[] = [
  {
    name: 'bash',
    description: 'Run a command.',
    input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
  },
];

describe('serving proxy', () => {
  const engine = new StandInEngine();
  const logs: ProxyLogEntry[] = [];
  let engineUp = true;
  /** Where the proxy is told the engine is, when not the stand-in (e.g. a dead engine's port). */
  let elsewhere: EngineTarget | undefined;
  let proxy: RunningProxy;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    await engine.start();
    proxy = await startProxy({
      host: '127.0.0.1',
      port: 0,
      tokenSha256: createHash('sha256').update(TOKEN).digest('hex'),
      servedName: SERVED,
      engine: () => (engineUp ? (elsewhere ?? engine.target()) : undefined),
      engineWaitMs: 300,
      log: (entry) => logs.push(entry),
    });
    openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: proxy.url, apiKey: TOKEN, maxRetries: 0 });
  });

  afterEach(() => {
    engineUp = true;
    elsewhere = undefined;
    engine.hang = false;
    engine.breakOff = false;
  });

  afterAll(async () => {
    await proxy.close();
    await engine.close();
  });

  it('OpenAI: renders the conversation with the Qwen3 template and returns the hermes call as tool_calls', async () => {
    engine.replies = [TOOL_TURN];
    const before = engine.seen.length;
    const reply = await openai.chat.completions.create({
      model: SERVED,
      messages: openAiMessages,
      tools: TOOLS,
      max_tokens: 256,
      temperature: 0.2,
      stop: ['</answer>'],
      seed: 7,
    });
    const asked = engine.seen[before]!;
    expect(asked.path).toBe('/v1/completions');
    expect(asked.body.prompt).toBe(EXPECTED_PROMPT);
    expect(asked.body).toMatchObject({
      model: ENGINE_MODEL,
      max_tokens: 256,
      temperature: 0.2,
      stop: ['</answer>'],
      seed: 7,
      stream: true, // whole answers too: the engine is always asked to stream
      add_special_tokens: false,
      stop_token_ids: [QWEN3_IM_END_ID],
    });
    expect(qwen3Encode('<|im_end|>')).toEqual([QWEN3_IM_END_ID]);
    const choice = reply.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect((choice.message as unknown as { reasoning_content: string }).reasoning_content).toBe(
      'I need to read the file.',
    );
    const call = choice.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('bash');
    expect(JSON.parse(call.function.arguments)).toEqual({ command: 'cat src/app.py' });
    expect(reply.model).toBe(SERVED);
    expect(reply.usage).toMatchObject({ prompt_tokens: 120, completion_tokens: 30 });
  });

  it('OpenAI streamed: text as it comes, the tool call whole at the end, then usage', async () => {
    engine.replies = [`<think>\nRead it.\n</think>\n\nLet me read app.py.\n${CALL_TEXT}`];
    const before = engine.seen.length;
    const stream = await openai.chat.completions.create({
      model: SERVED,
      messages: openAiMessages,
      tools: TOOLS,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let reasoning = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    const calls: Array<{ name?: string; arguments?: string; id?: string }> = [];
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      content += choice.delta.content ?? '';
      reasoning += (choice.delta as { reasoning_content?: string }).reasoning_content ?? '';
      for (const call of choice.delta.tool_calls ?? []) calls[call.index] = { ...call.function, id: call.id };
      finish = choice.finish_reason ?? finish;
    }
    expect(engine.seen[before]!.body).toMatchObject({ prompt: EXPECTED_PROMPT, stream: true });
    expect(content).toBe('Let me read app.py.');
    expect(reasoning).toBe('Read it.');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.name).toBe('bash');
    expect(calls[0]!.id).toMatch(/^call_/);
    expect(JSON.parse(calls[0]!.arguments!)).toEqual({ command: 'cat src/app.py' });
    expect(finish).toBe('tool_calls');
    expect(usage).toMatchObject({ prompt_tokens: 120, completion_tokens: 30 });
  });

  it('Anthropic: system, tool_use and tool_result become the same prompt; the call comes back as tool_use', async () => {
    engine.replies = [TOOL_TURN];
    const before = engine.seen.length;
    const message = await anthropic.messages.create({
      model: SERVED,
      max_tokens: 300,
      system: `You fix bugs. ${SECRET}`,
      messages: anthropicMessages,
      tools: anthropicTools,
    });
    expect(engine.seen[before]!.body).toMatchObject({
      prompt: EXPECTED_PROMPT,
      max_tokens: 300,
      stream: true,
    });
    expect(message.stop_reason).toBe('tool_use');
    // Thinking was not asked for, so the reasoning is dropped.
    expect(message.content.map((block) => block.type)).toEqual(['tool_use']);
    const use = message.content[0] as Anthropic.ToolUseBlock;
    expect(use.name).toBe('bash');
    expect(use.input).toEqual({ command: 'cat src/app.py' });
    expect(use.id).toMatch(/^toolu_/);
    expect(message.usage).toMatchObject({ input_tokens: 120, output_tokens: 30 });
  });

  it('Anthropic streamed with thinking on: thinking, text and tool_use blocks through the SDK', async () => {
    engine.replies = [`<think>\nRead it.\n</think>\n\nLet me read app.py.\n${CALL_TEXT}`];
    const before = engine.seen.length;
    const stream = anthropic.messages.stream({
      model: SERVED,
      max_tokens: 300,
      system: `You fix bugs. ${SECRET}`,
      messages: anthropicMessages,
      tools: anthropicTools,
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
    let streamedText = '';
    stream.on('text', (delta) => (streamedText += delta));
    const message = await stream.finalMessage();
    expect(engine.seen[before]!.body).toMatchObject({ prompt: EXPECTED_PROMPT, stream: true });
    expect(streamedText).toBe('Let me read app.py.');
    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect((message.content[0] as Anthropic.ThinkingBlock).thinking).toBe('Read it.');
    expect((message.content[2] as Anthropic.ToolUseBlock).input).toEqual({ command: 'cat src/app.py' });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 120, output_tokens: 30 });
  });

  it('a plain answer ends the turn in both APIs', async () => {
    engine.replies = [PLAIN_TURN, PLAIN_TURN];
    const chat = await openai.chat.completions.create({
      model: SERVED,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(chat.choices[0]!.message.content).toBe('The bug is fixed.');
    expect(chat.choices[0]!.finish_reason).toBe('stop');
    const message = await anthropic.messages.create({
      model: SERVED,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'The bug is fixed.' }]);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('passes an engine-side structured_outputs constraint through from both APIs', async () => {
    const constraint = { regex: '<tool_call>[^<]*</tool_call>' };
    const before = engine.seen.length;
    await openai.chat.completions.create({
      model: SERVED,
      messages: [{ role: 'user', content: 'Hi' }],
      structured_outputs: constraint,
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    await anthropic.messages.create({
      model: SERVED,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'Hi' }],
      structured_outputs: constraint,
    } as Anthropic.MessageCreateParamsNonStreaming);
    expect(engine.seen.slice(before).map((r) => r.body.structured_outputs)).toEqual([constraint, constraint]);
  });

  it('counts a Messages request’s prompt tokens with the student’s tokenizer', async () => {
    const before = engine.seen.length;
    const counted = await anthropic.messages.countTokens({
      model: SERVED,
      system: `You fix bugs. ${SECRET}`,
      messages: anthropicMessages,
      tools: anthropicTools,
    });
    expect(counted.input_tokens).toBe(qwen3CountTokens(EXPECTED_PROMPT));
    expect(engine.seen.length).toBe(before);
  });

  it('refuses a wrong or missing token with 401 and sends nothing to the engine', async () => {
    const before = engine.seen.length;
    const wrongOpenAi = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    const openAiError = await wrongOpenAi.chat.completions
      .create({ model: SERVED, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((error: unknown) => error);
    expect(openAiError).toBeInstanceOf(OpenAI.AuthenticationError);
    const wrongAnthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'wrong', maxRetries: 0 });
    const anthropicError = await wrongAnthropic.messages
      .create({ model: SERVED, max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((error: unknown) => error);
    expect(anthropicError).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((anthropicError as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
    const bare = await fetch(`${proxy.url}/v1/models`);
    expect(bare.status).toBe(401);
    expect(engine.seen.length).toBe(before);
  });

  it('lists the served model and answers 404 in each API’s shape for another model name', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual([SERVED]);
    const before = engine.seen.length;
    const openAiError = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((error: unknown) => error);
    expect(openAiError).toBeInstanceOf(OpenAI.NotFoundError);
    expect((openAiError as Error).message).toContain(SERVED);
    const anthropicError = await anthropic.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((error: unknown) => error);
    expect(anthropicError).toBeInstanceOf(Anthropic.NotFoundError);
    expect((anthropicError as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: 'not_found_error' },
    });
    expect(engine.seen.length).toBe(before);
  });

  it('answers malformed JSON and bad fields with 400 naming the field', async () => {
    const post = (path: string, body: string) =>
      fetch(`${proxy.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body });
    const notJson = await post('/v1/chat/completions', '{"model":');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(
      /not valid JSON/,
    );
    const badRole = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: SERVED, messages: [{ role: 'robot' }] }),
    );
    expect(badRole.status).toBe(400);
    expect(((await badRole.json()) as { error: { message: string } }).error.message).toMatch(
      /^messages\.0\.role/,
    );
    const serverTool = await post(
      '/v1/messages',
      JSON.stringify({
        model: SERVED,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      }),
    );
    expect(serverTool.status).toBe(400);
    const body = (await serverTool.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/^tools\.0\./);
  });

  it('reports health without a token: 503 while the engine starts, 200 once it is up', async () => {
    engineUp = false;
    const starting = await fetch(`${proxy.url}/health`);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toEqual({ status: 'engine-starting' });
    engineUp = true;
    const up = await fetch(`${proxy.url}/health`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: 'ok', model: SERVED });
  });

  it('a request waits for a restarting engine, and gets 503 when it does not come back in time', async () => {
    engineUp = false;
    const error = await openai.chat.completions
      .create({ model: SERVED, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as Error).message).toMatch(/engine is starting/);
    engineUp = false;
    engine.replies = [PLAIN_TURN];
    const waiting = openai.chat.completions.create({
      model: SERVED,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    setTimeout(() => (engineUp = true), 50);
    expect((await waiting).choices[0]!.message.content).toBe('The bug is fixed.');
  });

  it('rides out an engine that died and comes back at its new address within the wait', async () => {
    const dead = new StandInEngine();
    await dead.start();
    await dead.close();
    elsewhere = dead.target();
    engine.replies = [PLAIN_TURN];
    const asking = openai.chat.completions.create({
      model: SERVED,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    setTimeout(() => (elsewhere = undefined), 100);
    expect((await asking).choices[0]!.message.content).toBe('The bug is fixed.');
  });

  it('answers 503 with a clear message when the engine refuses connections for the whole wait', async () => {
    const closed = new StandInEngine();
    await closed.start();
    await closed.close();
    const gone = await startProxy({
      host: '127.0.0.1',
      port: 0,
      tokenSha256: createHash('sha256').update(TOKEN).digest('hex'),
      servedName: SERVED,
      engine: () => closed.target(),
      engineWaitMs: 700,
    });
    try {
      const client = new Anthropic({ baseURL: gone.url, apiKey: TOKEN, maxRetries: 0 });
      const error = await client.messages
        .create({ model: SERVED, max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e);
      expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
      expect((error as Error).message).toMatch(/not reachable/);
    } finally {
      await gone.close();
    }
  });

  it('ends a stream with an error event when the engine dies mid-answer', async () => {
    engine.breakOff = true;
    const stream = anthropic.messages.stream({
      model: SERVED,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as Error).message).toMatch(/engine failed mid-answer/);
    expect(text).toBe('Partial answer');
    expect(logs.at(-1)).toMatchObject({
      api: 'anthropic',
      stream: true,
      status: 502,
      error: 'engine stream broke',
    });
  });

  it('a client that goes away mid-stream aborts the engine request', async () => {
    engine.hang = true;
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: SERVED, messages: [{ role: 'user', content: 'Hi' }], stream: true },
      { signal: controller.signal },
    );
    const reading = (async () => {
      for await (const chunk of stream) void chunk;
    })().catch(() => undefined);
    controller.abort();
    await reading;
    await engine.hungUpOn; // resolves only when the proxy closed its engine request
  }, 20_000);

  it('refuses a port in use, naming it', async () => {
    const error = await startProxy({
      host: '127.0.0.1',
      port: proxy.port,
      tokenSha256: createHash('sha256').update(TOKEN).digest('hex'),
      servedName: SERVED,
      engine: () => undefined,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProxyPortInUse);
    expect((error as Error).message).toContain(`127.0.0.1:${proxy.port}`);
    // An address this host does not have is a setting to change too, not a fault to retry.
    const absent = await startProxy({
      host: '192.0.2.123',
      port: 0,
      tokenSha256: createHash('sha256').update(TOKEN).digest('hex'),
      servedName: SERVED,
      engine: () => undefined,
    }).catch((e: unknown) => e);
    expect(absent).toBeInstanceOf(ProxyCannotListen);
    expect((absent as Error).message).toContain('cannot bind 192.0.2.123');
  });

  it('answers 405 for a known path with another method, /health included', async () => {
    for (const [method, route] of [
      ['GET', '/v1/messages/count_tokens'],
      ['POST', '/health'],
      ['DELETE', '/v1/models'],
    ] as const) {
      const response = await fetch(`${proxy.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect([route, response.status]).toEqual([route, 405]);
    }
  });

  it('logs each request with counts and no prompt text', () => {
    expect(proxy.requests()).toBeGreaterThan(10);
    const served = logs.filter((entry) => entry.status === 200 && entry.api !== 'other');
    expect(served.some((entry) => entry.api === 'anthropic' && entry.stream && entry.toolCalls === 1)).toBe(
      true,
    );
    expect(served.some((entry) => entry.api === 'openai' && entry.promptTokens === 120)).toBe(true);
    expect(logs.some((entry) => entry.status === 401)).toBe(true);
    expect(logs.some((entry) => entry.status === 503 && entry.error === 'engine starting')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(JSON.stringify(logs)).not.toContain('app.py');
  });
});
