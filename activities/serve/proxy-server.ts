import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { z } from 'zod';
import {
  AnthropicMessagesRequestSchema,
  AnthropicMessagesStream,
  anthropicError,
  anthropicMessagesResponse,
  anthropicStreamError,
  fromAnthropicMessages,
  wantsThinking,
  type AnthropicErrorType,
} from '../../core/serve/anthropic-messages';
import {
  HermesStreamParser,
  ServeRequestError,
  parseHermesTurn,
  type EngineOutcome,
  type HermesDelta,
  type HermesRequest,
  type HermesTurn,
} from '../../core/serve/hermes-stream';
import {
  OpenAiChatRequestSchema,
  OpenAiChatStream,
  fromOpenAiChat,
  openAiChatResponse,
  openAiError,
  openAiStreamError,
} from '../../core/serve/openai-chat';
import { qwen3CountTokens, renderQwen3Prompt } from '../../core/sft/qwen3';

export interface EngineTarget {
  /** The engine's OpenAI-compatible root, e.g. http://127.0.0.1:8001/v1 */
  baseUrl: string;
  /** The name the engine serves the model under. */
  model: string;
}

export interface ProxyLogEntry {
  time: string;
  api: 'openai' | 'anthropic' | 'other';
  method: string;
  path: string;
  status: number;
  stream: boolean;
  ms: number;
  promptTokens?: number;
  completionTokens?: number;
  toolCalls?: number;
  error?: string;
}

export interface ProxyOptions {
  /** Bind address, e.g. 0.0.0.0 or 127.0.0.1. */
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Hex sha256 of the bearer token; the token itself never travels in workflow history. */
  tokenSha256: string;
  /** The model name clients ask for (others → 404 in the API's own error shape). */
  servedName: string;
  /** Undefined while the engine (re)starts. */
  engine: () => EngineTarget | undefined;
  /** How long a request waits for a (re)starting engine before 503 (default 60000). */
  engineWaitMs?: number;
  log?: (entry: ProxyLogEntry) => void;
  /** max_tokens sent when an OpenAI client gives none; the engine clamps it to the context left (default 32768). */
  defaultMaxTokens?: number;
  /** Largest request body accepted (default 32 MiB). */
  maxBodyBytes?: number;
}

export interface RunningProxy {
  /** Root URL (no /v1): OpenAI clients use `${url}/v1`, Anthropic clients `url`. */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Requests received so far, health checks not counted. */
  requests(): number;
}

/** The proxy cannot listen where it was asked to: a setting to change, not a fault to retry. */
export class ProxyCannotListen extends Error {}
export class ProxyPortInUse extends ProxyCannotListen {}

const ENGINE_RETRY_MS = 250;

/** `<|im_end|>` in Qwen3's vocabulary: the template closes every turn with it. */
export const QWEN3_IM_END_ID = 151645;

type Api = ProxyLogEntry['api'];
type ErrorKind = 'bad_request' | 'auth' | 'not_found' | 'method' | 'too_large' | 'unavailable' | 'engine';

const STATUS: Record<ErrorKind, number> = {
  bad_request: 400,
  auth: 401,
  not_found: 404,
  method: 405,
  too_large: 413,
  unavailable: 503,
  engine: 502,
};

const ANTHROPIC_TYPE: Record<ErrorKind, AnthropicErrorType> = {
  bad_request: 'invalid_request_error',
  auth: 'authentication_error',
  not_found: 'not_found_error',
  method: 'invalid_request_error',
  too_large: 'request_too_large',
  unavailable: 'api_error',
  engine: 'api_error',
};

const OPENAI_CODE: Record<ErrorKind, string | null> = {
  bad_request: null,
  auth: 'invalid_api_key',
  not_found: 'not_found',
  method: 'method_not_allowed',
  too_large: 'request_too_large',
  unavailable: 'engine_unavailable',
  engine: 'engine_error',
};

/** A failure with the status and message the client gets; `log` is what the request log keeps. */
class ProxyFailure extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly log: string = message,
    readonly status: number = STATUS[kind],
  ) {
    super(message);
  }
}

function errorBody(api: Api, kind: ErrorKind, message: string): unknown {
  if (api === 'anthropic') return anthropicError(message, ANTHROPIC_TYPE[kind]);
  const type = kind === 'unavailable' || kind === 'engine' ? 'server_error' : 'invalid_request_error';
  return openAiError(message, type, OPENAI_CODE[kind]);
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function zodMessage(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
  return `${field}: ${issue.message}`;
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) throw new ProxyFailure('too_large', `request body over ${limit} bytes`);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody<T>(text: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProxyFailure('bad_request', 'the request body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ProxyFailure('bad_request', zodMessage(parsed.error));
  return parsed.data;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function clientUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** One API's side of a request: its conversion, response and stream shapes. */
interface ApiTurn {
  hermes: HermesRequest;
  respond(turn: HermesTurn, outcome: EngineOutcome): unknown;
  stream(): {
    start(): string;
    deltas(d: HermesDelta[]): string;
    finish(d: HermesDelta[], t: HermesTurn, o: EngineOutcome): string;
  };
  streamError(message: string): string;
}

function shortId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 24);
}

/** vLLM's completion chunk (or whole answer): the text, why it ended, and usage when sent. */
interface EngineChunk {
  choices?: Array<{ text?: string; finish_reason?: string | null; stop_reason?: string | number | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

function engineErrorMessage(body: string): string {
  try {
    const json = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    const message = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (message !== undefined) return message;
  } catch {
    // Not JSON: a short excerpt of what it said.
  }
  return body.slice(0, 300);
}

/**
 * The proxy in front of the student's engine: authenticates, converts each API's request to the
 * prompt the Qwen3 template renders, asks the engine's raw completions endpoint, and converts the
 * completion back (hermes `<tool_call>` → tool calls). See docs/serving.md.
 */
export function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  if (!/^[0-9a-f]{64}$/i.test(options.tokenSha256))
    return Promise.reject(new Error('tokenSha256 must be the hex sha256 of the token (64 hex digits)'));
  const expected = Buffer.from(options.tokenSha256, 'hex');
  const engineWaitMs = options.engineWaitMs ?? 60_000;
  const defaultMaxTokens = options.defaultMaxTokens ?? 32_768;
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const created = Math.floor(Date.now() / 1000);
  let requests = 0;

  function tokenMatches(token: string | undefined): boolean {
    if (token === undefined || token === '') return false;
    return timingSafeEqual(createHash('sha256').update(token).digest(), expected);
  }

  function authorized(req: http.IncomingMessage): boolean {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = req.headers['x-api-key'];
    // Both checked, no early exit, so timing does not tell which header was tried.
    const byBearer = tokenMatches(bearer);
    const byKey = tokenMatches(typeof key === 'string' ? key.trim() : undefined);
    return byBearer || byKey;
  }

  /** The engine's target, waiting (until `deadline`) while it (re)starts. */
  async function waitForEngine(signal: AbortSignal, deadline: number): Promise<EngineTarget> {
    for (;;) {
      const target = options.engine();
      if (target !== undefined) return target;
      if (signal.aborted) throw new ProxyFailure('unavailable', 'the client went away', 'client closed');
      const left = deadline - Date.now();
      if (left <= 0)
        throw new ProxyFailure(
          'unavailable',
          'the model engine is starting; retry in a minute',
          'engine starting',
        );
      await sleep(Math.min(250, left), signal);
    }
  }

  function engineBody(target: EngineTarget, hermes: HermesRequest, prompt: string): string {
    const s = hermes.sampling;
    return JSON.stringify({
      model: target.model,
      prompt,
      max_tokens: s.maxTokens ?? defaultMaxTokens,
      temperature: s.temperature,
      top_p: s.topP,
      top_k: s.topK,
      stop: s.stop,
      seed: s.seed,
      // Always streamed from the engine, even for a client that wants one whole answer: the
      // engine's headers then come at once, so a long generation never meets fetch's 300 s
      // wait for headers (which would throw the answer away and look like a lost engine).
      stream: true,
      stream_options: { include_usage: true },
      // The rendered prompt already holds every special token the template writes.
      add_special_tokens: false,
      // The turn ends at `<|im_end|>` even where the model's generation config names another EOS.
      stop_token_ids: [QWEN3_IM_END_ID],
      ...(s.structuredOutputs === undefined ? {} : { structured_outputs: s.structuredOutputs }),
    });
  }

  /**
   * Asks the engine, riding out a restart: while the engine is starting, or refuses connections
   * (it died and the workflow has not noticed yet), the request waits and tries again until the
   * engine wait is over. Nothing was generated yet, so trying again is safe.
   */
  async function callEngine(hermes: HermesRequest, prompt: string, signal: AbortSignal): Promise<Response> {
    const deadline = Date.now() + engineWaitMs;
    let response: Response;
    for (;;) {
      const target = await waitForEngine(signal, deadline);
      try {
        response = await fetch(`${target.baseUrl.replace(/\/+$/, '')}/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: engineBody(target, hermes, prompt),
          signal,
        });
        break;
      } catch (error) {
        if (signal.aborted) throw new ProxyFailure('unavailable', 'the client went away', 'client closed');
        const left = deadline - Date.now();
        if (left <= 0) {
          const cause =
            (error as Error).cause instanceof Error ? ((error as Error).cause as Error) : (error as Error);
          throw new ProxyFailure(
            'unavailable',
            'the model engine is not reachable (it may be restarting); retry shortly',
            `engine unreachable: ${cause.message}`,
          );
        }
        await sleep(Math.min(ENGINE_RETRY_MS, left), signal);
      }
    }
    if (!response.ok) {
      const message = engineErrorMessage(await response.text());
      // A 400 is about the request (e.g. too long for the context): the client should see it.
      if (response.status === 400)
        throw new ProxyFailure('bad_request', message, 'engine refused the request (400)');
      throw new ProxyFailure(
        'engine',
        `the model engine failed (HTTP ${response.status}): ${message}`,
        `engine HTTP ${response.status}`,
      );
    }
    return response;
  }

  function outcomeOf(chunk: EngineChunk, outcome: EngineOutcome): void {
    const choice = chunk.choices?.[0];
    if (choice?.finish_reason === 'length') outcome.finishReason = 'length';
    if (typeof choice?.stop_reason === 'string') outcome.matchedStop = choice.stop_reason;
    if (chunk.usage) {
      outcome.promptTokens = chunk.usage.prompt_tokens ?? outcome.promptTokens;
      outcome.completionTokens = chunk.usage.completion_tokens ?? outcome.completionTokens;
    }
  }

  function apiTurn(api: 'openai' | 'anthropic', text: string): ApiTurn {
    if (api === 'openai') {
      const request = parseBody(text, OpenAiChatRequestSchema);
      checkModel(request.model);
      const meta = {
        id: `chatcmpl-${shortId()}`,
        created: Math.floor(Date.now() / 1000),
        model: options.servedName,
        newToolCallId: () => `call_${shortId()}`,
      };
      return {
        hermes: converted(() => fromOpenAiChat(request)),
        respond: (turn, outcome) => openAiChatResponse(turn, outcome, meta),
        stream: () => new OpenAiChatStream(meta, request.stream_options?.include_usage === true),
        streamError: openAiStreamError,
      };
    }
    const request = parseBody(text, AnthropicMessagesRequestSchema);
    checkModel(request.model);
    const meta = {
      id: `msg_${shortId()}`,
      model: options.servedName,
      showThinking: wantsThinking(request),
      stopSequences: request.stop_sequences ?? [],
      newToolUseId: () => `toolu_${shortId()}`,
    };
    return {
      hermes: converted(() => fromAnthropicMessages(request)),
      respond: (turn, outcome) => anthropicMessagesResponse(turn, outcome, meta),
      stream: () => new AnthropicMessagesStream(meta),
      streamError: anthropicStreamError,
    };
  }

  function converted(convert: () => HermesRequest): HermesRequest {
    try {
      return convert();
    } catch (error) {
      if (error instanceof ServeRequestError) throw new ProxyFailure('bad_request', error.message);
      throw error;
    }
  }

  function checkModel(model: string): void {
    if (model !== options.servedName)
      throw new ProxyFailure(
        'not_found',
        `model '${model}' is not served here; this proxy serves '${options.servedName}'`,
      );
  }

  async function chat(
    api: 'openai' | 'anthropic',
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: ProxyLogEntry,
    signal: AbortSignal,
  ): Promise<void> {
    const turn = apiTurn(api, await readBody(req, maxBodyBytes));
    const { hermes } = turn;
    entry.stream = hermes.stream;
    const prompt = renderQwen3Prompt(hermes.messages, hermes.tools);
    const response = await callEngine(hermes, prompt, signal);
    const outcome: EngineOutcome = { finishReason: 'stop' };
    if (!hermes.stream) {
      let text = '';
      try {
        for await (const piece of engineTexts(response, outcome)) text += piece;
      } catch (error) {
        if (signal.aborted) throw new ProxyFailure('unavailable', 'the client went away', 'client closed');
        throw new ProxyFailure(
          'engine',
          `the model engine broke off its answer: ${(error as Error).message}`,
          'engine answer broke',
        );
      }
      const parsed = parseHermesTurn(text);
      record(entry, outcome, parsed);
      sendJson(res, 200, turn.respond(parsed, outcome));
      entry.status = 200;
      return;
    }
    const writer = turn.stream();
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    entry.status = 200;
    res.write(writer.start());
    const parser = new HermesStreamParser();
    try {
      for await (const piece of engineTexts(response, outcome)) res.write(writer.deltas(parser.push(piece)));
    } catch (error) {
      if (signal.aborted) {
        entry.error = 'client closed';
        return;
      }
      entry.status = 502;
      entry.error = 'engine stream broke';
      res.end(turn.streamError(`the model engine failed mid-answer: ${(error as Error).message}`));
      return;
    }
    const { deltas, turn: parsed } = parser.finish();
    record(entry, outcome, parsed);
    res.end(writer.finish(deltas, parsed, outcome));
  }

  /** The completion's text as it streams in, its finish and usage kept in `outcome`. */
  async function* engineTexts(response: Response, outcome: EngineOutcome): AsyncGenerator<string> {
    for await (const chunk of engineEvents(response)) {
      if (chunk.error !== undefined)
        throw new Error(
          typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'engine error'),
        );
      outcomeOf(chunk, outcome);
      const piece = chunk.choices?.[0]?.text;
      if (piece) yield piece;
    }
  }

  function record(entry: ProxyLogEntry, outcome: EngineOutcome, turn: HermesTurn): void {
    entry.promptTokens = outcome.promptTokens;
    entry.completionTokens = outcome.completionTokens;
    entry.toolCalls = turn.toolCalls.length;
  }

  async function countTokens(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const schema = AnthropicMessagesRequestSchema.extend({
      max_tokens: AnthropicMessagesRequestSchema.shape.max_tokens.optional(),
    });
    const request = parseBody(await readBody(req, maxBodyBytes), schema);
    checkModel(request.model);
    const hermes = converted(() => fromAnthropicMessages({ ...request, max_tokens: 1 }));
    sendJson(res, 200, { input_tokens: qwen3CountTokens(renderQwen3Prompt(hermes.messages, hermes.tools)) });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://proxy').pathname.replace(/\/+$/, '') || '/';
    const api: Api = path.startsWith('/v1/messages')
      ? 'anthropic'
      : path === '/v1/chat/completions'
        ? 'openai'
        : 'other';
    if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
      const up = options.engine() !== undefined;
      sendJson(
        res,
        up ? 200 : 503,
        up ? { status: 'ok', model: options.servedName } : { status: 'engine-starting' },
      );
      return;
    }
    requests += 1;
    const entry: ProxyLogEntry = {
      time: new Date(started).toISOString(),
      api,
      method,
      path,
      status: 0,
      stream: false,
      ms: 0,
    };
    // A client that goes away aborts the engine request it is waiting on.
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      if (!authorized(req)) {
        req.resume();
        throw new ProxyFailure(
          'auth',
          'invalid or missing token (send Authorization: Bearer <token> or x-api-key)',
        );
      }
      const route = `${method} ${path}`;
      if (route === 'POST /v1/chat/completions') await chat('openai', req, res, entry, controller.signal);
      else if (route === 'POST /v1/messages') await chat('anthropic', req, res, entry, controller.signal);
      else if (route === 'POST /v1/messages/count_tokens') {
        await countTokens(req, res);
        entry.status = 200;
      } else if (route === 'GET /v1/models') {
        sendJson(res, 200, {
          object: 'list',
          data: [{ id: options.servedName, object: 'model', created, owned_by: 'sera-flow' }],
        });
        entry.status = 200;
      } else if (
        [
          '/v1/chat/completions',
          '/v1/messages',
          '/v1/messages/count_tokens',
          '/v1/models',
          '/health',
        ].includes(path)
      )
        throw new ProxyFailure('method', `${method} is not allowed on ${path}`);
      else throw new ProxyFailure('not_found', `no such endpoint: ${method} ${path}`);
    } catch (error) {
      const failure =
        error instanceof ProxyFailure
          ? error
          : new ProxyFailure(
              'engine',
              'the proxy failed to serve the request',
              `proxy error: ${(error as Error).message}`,
              500,
            );
      entry.status = failure.status;
      entry.error = failure.log;
      if (!res.headersSent && !res.destroyed) {
        const retry: http.OutgoingHttpHeaders = failure.kind === 'unavailable' ? { 'retry-after': '5' } : {};
        sendJson(res, failure.status, errorBody(api, failure.kind, failure.message), retry);
      } else if (!res.writableEnded) res.end();
    } finally {
      entry.ms = Date.now() - started;
      options.log?.(entry);
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        reject(new ProxyPortInUse(`port ${options.host}:${options.port} is in use; choose another port`));
      else if (error.code === 'EACCES')
        reject(
          new ProxyCannotListen(
            `port ${options.port} on ${options.host} needs privileges this worker lacks; choose a port above 1023`,
          ),
        );
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN')
        reject(
          new ProxyCannotListen(
            `the proxy cannot bind ${options.host}: no such address on this host (${error.code}); choose another bind address`,
          ),
        );
      else reject(error);
    });
    server.listen(options.port, options.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      resolve({
        url: clientUrl(options.host, port),
        port,
        requests: () => requests,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** The engine's server-sent events, each `data:` line's JSON until `[DONE]`. */
async function* engineEvents(response: Response): AsyncGenerator<EngineChunk> {
  if (response.body === null) return;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const bytes of response.body) {
    pending += decoder.decode(bytes as Uint8Array, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      if (!line.startsWith('data:')) continue;
      const data = line.slice('data:'.length).trim();
      if (data === '[DONE]') return;
      yield JSON.parse(data) as EngineChunk;
    }
  }
}
