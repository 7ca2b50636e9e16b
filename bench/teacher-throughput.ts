import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Trajectory } from '../core/agent/trajectory';
import { TaskQueues } from '../core/queues';
import type { RunConfigRequest } from '../core/run-config';
import { exampleRepository } from '../infra/example-repo';
import { startTinyTeacher } from '../infra/tiny-teacher';
import type { RolloutResult } from '../workflows/rollout';
import type { SvgRunResult } from '../workflows/svg-run';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';

export interface TeacherThroughputOptions {
  samples: number;
  concurrency: number;
  maxTokens: number;
  tag: string;
}

/** One way of sending the teacher its requests: the generation run, or the plain client. */
export interface TeacherWay {
  requests: number;
  completionTokens: number;
  wallSeconds: number;
  tokensPerSecond: number;
}

export interface TeacherThroughputFigures {
  samples: number;
  concurrency: number;
  maxTokens: number;
  /** The whole svgRun, start to result (function index, image and containers included). */
  run: TeacherWay;
  /** The same run, counted from its first teacher request to its last reply. */
  runWhileGenerating: TeacherWay;
  /** The run's requests, replayed byte for byte at the same concurrency straight to the engine. */
  plain: TeacherWay;
  /** run tokens/s over plain tokens/s (goal ≥ 0.9), and the same for the generating window. */
  ratio: number;
  ratioWhileGenerating: number;
}

interface Recorded {
  body: Buffer;
  sentAt: number;
  answeredAt: number;
}

/**
 * A pass-through proxy in front of the engine that keeps every chat request's body, so that the
 * plain client can send exactly what the run sent.
 */
async function recordingProxy(
  target: string,
): Promise<{ url: string; recorded: Recorded[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const recorded: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sentAt = performance.now();
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
          reply.on('end', () => {
            if (req.method === 'POST' && req.url?.endsWith('/chat/completions'))
              recorded.push({ body, sentAt, answeredAt: performance.now() });
          });
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    recorded,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The completion tokens of every rollout of a run, from their trajectories' turn records. */
async function runCompletionTokens(
  client: Client,
  workflowId: string,
): Promise<{ tokens: number; turns: number }> {
  const ids = new Set<string>();
  for await (const execution of client.workflow.list({
    query: `WorkflowType = 'rollout' AND WorkflowId STARTS_WITH "${workflowId}-"`,
  }))
    ids.add(execution.workflowId);
  const store = new LocalArtifactStore(artifactsDir());
  let tokens = 0;
  let turns = 0;
  for (const id of ids) {
    const result = (await client.workflow.getHandle(id).result()) as RolloutResult;
    const trajectory = JSON.parse((await store.get(result.trajectory.id)).toString('utf8')) as Trajectory;
    for (const turn of trajectory.turns) {
      tokens += turn.usage.completionTokens;
      turns += 1;
    }
  }
  return { tokens, turns };
}

/** One POST on a connection of its own (the engine's server closes idle kept-alive ones). */
function post(url: string, body: Buffer): Promise<string> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Sends the bodies in order with `concurrency` requests in flight; returns the tokens generated. */
async function plainClient(
  baseUrl: string,
  bodies: Buffer[],
  concurrency: number,
): Promise<{ tokens: number; seconds: number }> {
  let next = 0;
  let tokens = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next]!;
      next += 1;
      const text = await post(`${baseUrl}/chat/completions`, body);
      const reply = JSON.parse(text) as { usage?: { completion_tokens?: number } };
      if (!reply.usage) throw new Error(`the engine refused a replayed request: ${text.slice(0, 500)}`);
      tokens += reply.usage?.completion_tokens ?? 0;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { tokens, seconds: (performance.now() - started) / 1000 };
}

function way(requests: number, completionTokens: number, wallSeconds: number): TeacherWay {
  return { requests, completionTokens, wallSeconds, tokensPerSecond: completionTokens / wallSeconds };
}

/**
 * With vLLM (CPU build, tiny random Qwen3) as the teacher: the generated tokens per second of an
 * SVG run against a plain concurrent client sending the run's own requests to the same engine.
 * Prefix caching is off, so that neither way gains from the other having sent a prompt first.
 */
export async function benchTeacherThroughput(
  client: Client,
  options: TeacherThroughputOptions,
  progress: (line: string) => void,
): Promise<TeacherThroughputFigures> {
  progress('starting vLLM on the tiny random Qwen3 (about 80 s)');
  const teacher = await startTinyTeacher({ maxModelLen: 8192, extraArgs: ['--no-enable-prefix-caching'] });
  const proxy = await recordingProxy(teacher.baseUrl);
  try {
    const example = exampleRepository();
    const runId = `bench-teacher-${options.tag}-${process.pid}`;
    const workflowId = `sera-run-${runId}`;
    const config: RunConfigRequest = {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: proxy.url, model: teacher.model, maxTokens: options.maxTokens, temperature: 0.6 },
      samples: options.samples,
      concurrency: options.concurrency,
      seed: 5,
    };
    progress(`svg run: ${options.samples} samples at concurrency ${options.concurrency}`);
    const started = performance.now();
    const result = (await client.workflow.execute('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId,
      args: [config],
    })) as SvgRunResult;
    const runSeconds = (performance.now() - started) / 1000;
    progress(`svg run finished ${result.finished} samples in ${runSeconds.toFixed(0)} s`);
    const { tokens } = await runCompletionTokens(client, workflowId);
    const recorded = proxy.recorded;
    const window =
      recorded.length === 0
        ? runSeconds
        : (Math.max(...recorded.map((r) => r.answeredAt)) - Math.min(...recorded.map((r) => r.sentAt))) /
          1000;

    progress(`plain client: the run's ${recorded.length} requests at concurrency ${options.concurrency}`);
    const plain = await plainClient(
      teacher.baseUrl,
      // Without the seed: vLLM's CPU build dies on a burst of seeded requests ("CPU Generator does
      // not use offset"); every reply here is cut at max_tokens, so the token counts stay the same.
      [...recorded]
        .sort((a, b) => a.sentAt - b.sentAt)
        .map((r) => {
          const { seed: _seed, ...unseeded } = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
          return Buffer.from(JSON.stringify(unseeded));
        }),
      options.concurrency,
    );
    const runWay = way(recorded.length, tokens, runSeconds);
    const windowWay = way(recorded.length, tokens, window);
    const plainWay = way(recorded.length, plain.tokens, plain.seconds);
    return {
      samples: result.finished,
      concurrency: options.concurrency,
      maxTokens: options.maxTokens,
      run: runWay,
      runWhileGenerating: windowWay,
      plain: plainWay,
      ratio: runWay.tokensPerSecond / plainWay.tokensPerSecond,
      ratioWhileGenerating: windowWay.tokensPerSecond / plainWay.tokensPerSecond,
    };
  } finally {
    await proxy.close();
    await teacher.close();
  }
}

export function printTeacherThroughput(f: TeacherThroughputFigures): void {
  console.log(
    `teacher throughput: vLLM (CPU build, tiny random Qwen3) as the teacher, ${f.samples} samples, concurrency ${f.concurrency}, maxTokens ${f.maxTokens}`,
  );
  console.log(
    `${'way'.padEnd(36)} ${'requests'.padStart(9)} ${'tokens'.padStart(8)} ${'wall s'.padStart(8)} ${'tokens/s'.padStart(9)}`,
  );
  const row = (label: string, w: TeacherWay): void =>
    console.log(
      `${label.padEnd(36)} ${String(w.requests).padStart(9)} ${String(w.completionTokens).padStart(8)} ${w.wallSeconds.toFixed(1).padStart(8)} ${w.tokensPerSecond.toFixed(1).padStart(9)}`,
    );
  row('svgRun, start to result', f.run);
  row('svgRun, first request to last reply', f.runWhileGenerating);
  row('plain client, same requests', f.plain);
  console.log(
    `ratio run / plain: ${f.ratio.toFixed(2)} (${f.ratio >= 0.9 ? 'meets' : 'misses'} the ≥ 0.9 goal); while generating: ${f.ratioWhileGenerating.toFixed(2)}`,
  );
}
