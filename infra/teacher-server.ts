import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatMessage } from '../core/agent/trajectory';
import { parseInstances } from '../core/eval/instances';
import { hash32, SeededRandom } from '../core/teacher/random';
import { teacherReply, type TeacherReply, type TeacherSettings } from '../core/teacher/policy';
import { solutionsFor, solverReply, type Solution } from '../core/teacher/solver';
import {
  DEFAULT_REALISTIC_SETTINGS,
  REALISTIC_BEHAVIOURS,
  realisticReply,
  type RealisticBehaviour,
  type RealisticRates,
  type RealisticSettings,
} from '../core/teacher/realistic';

/**
 * The offline teacher behind a real OpenAI-compatible HTTP API: GET /v1/models and
 * POST /v1/chat/completions (tools and tool_calls, usage counts, no streaming). It is the
 * embedded default model and the protocol's test double; it is no substitute for a real model.
 */
export const TEACHER_MODEL = 'sera-offline-teacher';

export interface TeacherFaults {
  /** Shares of requests answered with 429 (with Retry-After), 500, a delay, or a garbled tool call. */
  rate429: number;
  rate500: number;
  slowRate: number;
  slowMs: number;
  garbageRate: number;
  retryAfterSeconds: number;
}

export const NO_FAULTS: TeacherFaults = {
  rate429: 0,
  rate500: 0,
  slowRate: 0,
  slowMs: 0,
  garbageRate: 0,
  retryAfterSeconds: 1,
};

export interface TeacherServerOptions extends Partial<TeacherSettings> {
  port?: number;
  host?: string;
  faults?: Partial<TeacherFaults>;
  /** Seeds the fault draws, so a drill can be repeated. */
  faultSeed?: number;
  /**
   * 'clean' (the default): one tidy tool call a reply, as always. 'realistic': replies misbehave
   * as reasoning teachers do (core/teacher/realistic.ts), drawn from each request's seed.
   */
  mode?: TeacherMode;
  /** The realistic mode's rates and limits; anything left out keeps its default. */
  realistic?: Partial<Omit<RealisticSettings, 'rates'>> & { rates?: Partial<RealisticRates> };
  /**
   * The solving mode, a test instrument (core/teacher/solver.ts, docs/teacher.md): evaluation
   * tasks about these instances are solved, in a share of runs, by applying their reference
   * change. The file is read here, in the server's process; the agent's sandbox never sees it.
   */
  solutions?: TeacherSolutions;
}

export interface TeacherSolutions {
  /** SWE-bench-format instances (JSONL or a JSON array) whose `patch` is the reference change. */
  instancesFile: string;
  /** Share of runs of `sera-offline-teacher` that solve their instance (default 0.5). */
  solveRate?: number;
  /** More model ids to serve, each with its own solve rate, for paired comparisons on one server. */
  models?: Record<string, number>;
}

export const DEFAULT_SOLVE_RATE = 0.5;

export const TEACHER_MODES = ['clean', 'realistic'] as const;
export type TeacherMode = (typeof TEACHER_MODES)[number];

export interface TeacherServer {
  url: string;
  /** Requests answered, by outcome: ok, 429, 500, garbage. */
  counts: Record<'ok' | 'rate_limited' | 'server_error' | 'garbage', number>;
  /** Replies served with each realistic behaviour (all zero in the clean mode). */
  behaviours: Record<RealisticBehaviour, number>;
  close(): Promise<void>;
}

/** A rough token count (about four characters a token); real servers count with their tokenizer. */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const hasTools = (body: ChatRequest): boolean => Array.isArray(body.tools) && body.tools.length > 0;

interface ChatRequest {
  model?: string;
  messages?: ChatMessage[];
  tools?: unknown[];
  seed?: number;
  temperature?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
}

interface Solver {
  solutions: Solution[];
  /** Model id → solve rate; the served ids are its keys. */
  rates: Record<string, number>;
}

function loadSolver(options: TeacherSolutions): Solver {
  const rates: Record<string, number> = {
    [TEACHER_MODEL]: options.solveRate ?? DEFAULT_SOLVE_RATE,
    ...options.models,
  };
  for (const [model, rate] of Object.entries(rates))
    if (!(rate >= 0 && rate <= 1)) throw new Error(`solve rate of ${model} must be from 0 to 1, not ${rate}`);
  const instances = parseInstances(readFileSync(options.instancesFile, 'utf8'), options.instancesFile);
  const solutions = solutionsFor(
    instances.map((i) => ({
      instanceId: i.instance_id,
      problemStatement: i.problem_statement,
      patch: i.patch,
    })),
  );
  return { solutions, rates };
}

export async function startTeacherServer(options: TeacherServerOptions = {}): Promise<TeacherServer> {
  const settings: TeacherSettings = { fidelity: options.fidelity ?? 0.8 };
  const solver = options.solutions ? loadSolver(options.solutions) : undefined;
  const models = solver ? Object.keys(solver.rates) : [TEACHER_MODEL];
  /** The solver's reply when the request is a run it solves, else the ordinary teacher's. */
  const baseReply = (
    messages: ChatMessage[],
    seed: number,
    withTools: boolean,
    model: string,
  ): TeacherReply =>
    (solver && withTools
      ? solverReply(messages, { seed, model }, solver.solutions, solver.rates)
      : undefined) ?? teacherReply(messages, seed, withTools, settings);
  const faults: TeacherFaults = { ...NO_FAULTS, ...options.faults };
  const draws = new SeededRandom('faults', options.faultSeed ?? 0);
  const counts: TeacherServer['counts'] = { ok: 0, rate_limited: 0, server_error: 0, garbage: 0 };
  const behaviours = Object.fromEntries(
    REALISTIC_BEHAVIOURS.map((b) => [b, 0]),
  ) as TeacherServer['behaviours'];
  const realistic: RealisticSettings | undefined =
    options.mode === 'realistic'
      ? {
          ...DEFAULT_REALISTIC_SETTINGS,
          ...options.realistic,
          rates: { ...DEFAULT_REALISTIC_SETTINGS.rates, ...options.realistic?.rates },
        }
      : undefined;
  let served = 0;

  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const error = (
      status: number,
      message: string,
      type: string,
      headers: Record<string, string> = {},
    ): void => send(status, { error: { message, type, code: type } }, headers);

    if (req.method === 'GET' && req.url === '/v1/models') {
      send(200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'sera-flow' })),
      });
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      error(404, `no route ${req.method} ${req.url}`, 'not_found');
      return;
    }
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      let body: ChatRequest;
      try {
        body = JSON.parse(raw) as ChatRequest;
      } catch {
        error(400, 'the request body is not JSON', 'invalid_request_error');
        return;
      }
      const model = models.find((m) => m === body.model);
      if (model === undefined) {
        error(
          404,
          `The model \`${body.model}\` does not exist. This server serves ${models.join(', ')}.`,
          'model_not_found',
        );
        return;
      }
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        error(400, 'messages must be a non-empty array', 'invalid_request_error');
        return;
      }
      served += 1;
      const draw = draws.next();
      if (draw < faults.rate429) {
        counts.rate_limited += 1;
        error(429, 'Rate limit reached; retry after the given time.', 'rate_limit_exceeded', {
          'retry-after': String(faults.retryAfterSeconds),
        });
        return;
      }
      if (draw < faults.rate429 + faults.rate500) {
        counts.server_error += 1;
        error(500, 'The teacher had an internal error (injected).', 'server_error');
        return;
      }
      const garbage = draws.next() < faults.garbageRate;
      const delay = draws.next() < faults.slowRate ? faults.slowMs : 0;
      const messages = body.messages;
      if (realistic) {
        setTimeout(() => {
          const base = baseReply(messages, body.seed ?? 0, hasTools(body), model);
          const reply = realisticCompletion(body, messages, base, realistic, model, garbage);
          for (const b of reply.behaviours) behaviours[b] += 1;
          if (reply.garbled) counts.garbage += 1;
          else counts.ok += 1;
          send(200, reply.body);
        }, delay);
        return;
      }
      setTimeout(() => {
        const reply = baseReply(messages, body.seed ?? 0, hasTools(body), model);
        const toolCalls = reply.toolCalls.map((call, i) => ({
          id: `call_${served}_${i}`,
          type: 'function' as const,
          function: { name: call.name, arguments: JSON.stringify(call.arguments) },
        }));
        const first = toolCalls[0];
        if (garbage && first) {
          // A broken call as weaker models make them: truncated JSON.
          first.function.arguments = first.function.arguments.slice(
            0,
            Math.max(1, first.function.arguments.length - 3),
          );
          counts.garbage += 1;
        } else {
          counts.ok += 1;
        }
        const promptText = messages.map((m) => ('content' in m && m.content ? m.content : '')).join('\n');
        const completionText = (reply.content ?? '') + toolCalls.map((c) => c.function.arguments).join('');
        const promptTokens = approxTokens(promptText);
        const completionTokens = approxTokens(completionText);
        send(200, {
          id: `chatcmpl-${served}`,
          object: 'chat.completion',
          created: 0,
          model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: reply.content,
                ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
              },
              finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
            },
          ],
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          },
        });
      }, delay);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}/v1`,
    counts,
    behaviours,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A realistic-mode completion. Its ids come from the request, not a counter: the same seed and
 * messages give the same bytes, as a sampling server with a fixed seed does.
 */
function realisticCompletion(
  body: ChatRequest,
  messages: ChatMessage[],
  base: TeacherReply,
  realistic: RealisticSettings,
  model: string,
  garbage: boolean,
): { body: unknown; behaviours: RealisticBehaviour[]; garbled: boolean } {
  const seed = body.seed ?? 0;
  const promptText = messages.map((m) => ('content' in m && m.content ? m.content : '')).join('\n');
  const promptTokens = approxTokens(promptText);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const reply = realisticReply(
    {
      messages,
      seed,
      hasTools: hasTools(body),
      promptTokens,
      ...(maxTokens !== undefined ? { maxTokens } : {}),
    },
    base,
    realistic,
  );
  const key = hash32(`${seed}\u0000${JSON.stringify(messages)}`).toString(16);
  const toolCalls = reply.toolCalls.map((call, i) => ({
    id: `call_${key}_${i}`,
    type: 'function' as const,
    function: { name: call.name, arguments: call.arguments },
  }));
  const first = toolCalls[0];
  const garbled = garbage && first !== undefined;
  if (garbled)
    first.function.arguments = first.function.arguments.slice(
      0,
      Math.max(1, first.function.arguments.length - 3),
    );
  const completionText =
    (reply.reasoning ?? '') + (reply.content ?? '') + toolCalls.map((c) => c.function.arguments).join('');
  const completionTokens = reply.completionTokens ?? approxTokens(completionText);
  return {
    behaviours: reply.behaviours,
    garbled,
    body: {
      id: `chatcmpl-${key}`,
      object: 'chat.completion',
      created: 0,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: reply.content,
            ...(reply.reasoning !== undefined ? { [realistic.reasoningField]: reply.reasoning } : {}),
            ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          },
          finish_reason: reply.finishReason,
        },
      ],
      ...(reply.withUsage
        ? {
            usage: {
              prompt_tokens: promptTokens,
              completion_tokens: completionTokens,
              total_tokens: promptTokens + completionTokens,
            },
          }
        : {}),
    },
  };
}
