import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import type { FileSource } from '../../core/eval/eval-input';
import { MODEL_SERVER_READY_SIGNAL, vllmArgs, type ServerReady } from '../../core/serve/engine-command';
import { activityContext } from '../common/activity-context';
import { getFolder } from '../train/folder-artifacts';
import { ProxyCannotListen, startProxy, type ProxyLogEntry, type RunningProxy } from './proxy-server';
import { killGroup } from '../../infra/process-group';

/** The proxy coding agents talk to (OpenAI chat completions and Anthropic Messages), in front of the engine. */
export interface ProxyRequest {
  /** The address it listens on; default: the worker's serving host (SERA_SERVE_HOST). */
  bind?: string;
  port: number;
  /** Hex SHA-256 of the bearer token: the token itself never enters the workflow's history. */
  tokenSha256: string;
  /** How long a request waits for a (re)starting engine before it is answered 503. */
  engineWaitSeconds: number;
}

export interface ServeModelInput {
  /** The workflow told (signal `modelServerReady`) where the server answers, after each (re)start. */
  workflowId: string;
  checkpoint: FileSource;
  servedName: string;
  maxModelLen: number;
  seed: number;
  extraArgs: string[];
  startupTimeoutSeconds: number;
  /** GPUs the engine spreads the model over (tensor parallelism); absent in older histories: 1. */
  gpus?: number;
  /** Also serve the engine behind the proxy, for as long as the activity runs. */
  proxy?: ProxyRequest;
}

/** The heartbeat: what a person (and a test) sees of the server while it runs. */
export interface ServeProgress {
  /** waiting: for this host's GPUs, taken by other engines (sized-serving.ts). */
  phase: 'waiting' | 'starting' | 'serving';
  baseUrl: string;
  pid?: number;
  restarts: number;
  /** The proxy's URL and the requests it has answered, when there is one. */
  proxyUrl?: string;
  requests?: number;
}

export interface ServeDeps {
  artifacts: ArtifactStore;
  python: string;
  workDir: string;
  /** The address the engine listens on (SERA_SERVE_HOST). */
  host: string;
  /**
   * The host name other machines reach this worker by, in the URLs it gives out and checks
   * (SERA_SERVE_ADVERTISED_HOST); default: the bind address, or this machine's name for a wildcard.
   */
  advertisedHost?: string;
  /** Fixed per worker (SERA_SERVE_PORT), so a restarted server keeps its URL. */
  port: number;
}

export const ModelServerFailed = 'ModelServerFailed';
const POLL_MS = 2000;
const STOP_GRACE_MS = 10_000;

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorTypes.InvalidInput, message, nonRetryable: true });
}

/**
 * Serves a checkpoint with an OpenAI-compatible engine for as long as the workflow needs it: the
 * activity starts the engine, tells the workflow its URL, heartbeats, restarts an engine that dies,
 * and stops it (its whole process group) when cancelled. A worker killed outright leaves a pid
 * file, and the next attempt on this host stops that orphan before it starts again.
 */
export function createServeActivities(deps: ServeDeps) {
  const pidFile = path.join(deps.workDir, `port-${deps.port}.pid`);
  // On this host the proxy reaches the engine where it listens (a wildcard address on loopback);
  // other machines are given the advertised name: set, or the bind address, or this machine's
  // name for a wildcard.
  const wildcard = ['0.0.0.0', '::', ''].includes(deps.host);
  const localHost = wildcard ? '127.0.0.1' : deps.host;
  const advertisedHost = deps.advertisedHost?.trim() || (wildcard ? os.hostname() : deps.host);
  const engineUrl = `http://${localHost}:${deps.port}/v1`;
  const logFile = path.join(deps.workDir, `port-${deps.port}.log`);
  const baseUrl = `http://${advertisedHost}:${deps.port}/v1`;

  async function modelDir(source: FileSource): Promise<string> {
    if ('path' in source) {
      if (!existsSync(path.join(source.path, 'config.json')))
        throw invalid(`checkpoint folder ${source.path} has no config.json: not a Hugging Face model folder`);
      return source.path;
    }
    const dir = path.join(deps.workDir, 'models', source.artifact.replace(/^sha256:/, '').slice(0, 16));
    const done = path.join(dir, '.complete');
    if (existsSync(done)) return dir;
    await rm(dir, { recursive: true, force: true });
    try {
      await getFolder(deps.artifacts, source.artifact, dir);
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      throw invalid(
        `checkpoint artifact ${source.artifact} is not a stored model folder: ${(error as Error).message}`,
      );
    }
    await writeFile(done, '');
    return dir;
  }

  /** Stops an engine an earlier, killed attempt left running on this port. */
  async function stopOrphan(): Promise<void> {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0) killGroup(pid, 'SIGKILL');
    await rm(pidFile, { force: true });
  }

  function start(dir: string, input: ServeModelInput, devices: readonly string[] | undefined): ChildProcess {
    const log = openSync(logFile, 'a');
    try {
      const child = spawn(
        deps.python,
        vllmArgs({
          modelDir: dir,
          servedName: input.servedName,
          host: deps.host,
          port: deps.port,
          maxModelLen: input.maxModelLen,
          seed: input.seed,
          gpus: input.gpus ?? 1,
          extraArgs: input.extraArgs,
        }),
        {
          // Its own process group: stopping it stops the engine's worker processes too.
          detached: true,
          stdio: ['ignore', log, log],
          env: {
            ...process.env,
            VLLM_CPU_KVCACHE_SPACE: process.env.VLLM_CPU_KVCACHE_SPACE ?? '1',
            // The devices this worker leased to the engine; other engines on the host have their own.
            ...(devices ? { CUDA_VISIBLE_DEVICES: devices.join(',') } : {}),
          },
        },
      );
      child.on('error', () => undefined);
      return child;
    } finally {
      closeSync(log);
    }
  }

  /** Health is asked at the URL clients are given: an engine they cannot reach is not serving. */
  async function answers(): Promise<boolean> {
    try {
      const response = await fetch(`${baseUrl}/models`, {
        signal: AbortSignal.timeout(2000),
      });
      return response.ok;
    } catch {
      return false;
    }
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.pid === undefined) return;
    killGroup(child.pid, 'SIGTERM');
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), STOP_GRACE_MS));
    if ((await Promise.race([exited, timer])) === 'late') killGroup(child.pid, 'SIGKILL');
    killGroup(child.pid, 'SIGKILL'); // the engine's children, should any outlive their parent
    await rm(pidFile, { force: true });
  }

  async function openProxy(
    request: ProxyRequest,
    servedName: string,
    engine: () => { baseUrl: string; model: string } | undefined,
  ): Promise<RunningProxy> {
    if (request.port === deps.port)
      throw invalid(
        `proxy port ${request.port} is this gpu-serve worker's engine port (SERA_SERVE_PORT): choose another`,
      );
    const requestLog = path.join(deps.workDir, `proxy-${request.port}.log`);
    const log = (entry: ProxyLogEntry): void => {
      // One JSON line per request, without prompt or code text (the repository may be private).
      appendFileSync(requestLog, `${JSON.stringify(entry)}\n`);
    };
    try {
      const proxy = await startProxy({
        host: request.bind ?? deps.host,
        port: request.port,
        tokenSha256: request.tokenSha256,
        servedName,
        engine,
        engineWaitMs: request.engineWaitSeconds * 1000,
        log,
      });
      // The URL clients are given names the worker's serving host, whatever address it binds.
      return {
        url: `http://${advertisedHost}:${proxy.port}`,
        port: proxy.port,
        close: () => proxy.close(),
        requests: () => proxy.requests(),
      };
    } catch (error) {
      if (error instanceof ProxyCannotListen) throw invalid(error.message);
      throw error;
    }
  }

  return {
    /** `devices`: the GPUs leased to this engine (sized-serving.ts); not part of the workflow's input. */
    async serveModel(input: ServeModelInput, devices?: readonly string[]): Promise<never> {
      const ctx = activityContext();
      if (!ctx) throw new Error('serveModel runs as an activity only');
      await mkdir(deps.workDir, { recursive: true });
      const dir = await modelDir(input.checkpoint);
      const previous = ctx.info.heartbeatDetails as ServeProgress | undefined;
      const progress: ServeProgress = { phase: 'starting', baseUrl, restarts: previous?.restarts ?? 0 };
      await stopOrphan();
      await rm(logFile, { force: true });
      let child: ChildProcess | undefined;
      // Started before the engine, so a port in use is told at once; it answers 503 while the
      // engine (re)starts and stays up across the engine's restarts.
      const proxy = input.proxy
        ? await openProxy(input.proxy, input.servedName, () =>
            progress.phase === 'serving' ? { baseUrl: engineUrl, model: input.servedName } : undefined,
          )
        : undefined;
      progress.proxyUrl = proxy?.url;
      const beat = (): void => {
        if (proxy) progress.requests = proxy.requests();
        ctx.heartbeat(progress);
      };
      try {
        for (;;) {
          progress.phase = 'starting';
          child = start(dir, input, devices);
          progress.pid = child.pid;
          await writeFile(pidFile, String(child.pid));
          const started = Date.now();
          while (!(await answers())) {
            beat();
            if (child.exitCode !== null || child.signalCode !== null)
              throw ApplicationFailure.create({
                type: ModelServerFailed,
                message: `the serving engine exited (${child.exitCode ?? child.signalCode}) before it answered: ${logTail(logFile)}`,
              });
            if (Date.now() - started > input.startupTimeoutSeconds * 1000)
              throw ApplicationFailure.create({
                type: ModelServerFailed,
                message: `the serving engine did not answer within ${input.startupTimeoutSeconds} s: ${logTail(logFile)}`,
              });
            await ctx.sleep(POLL_MS);
          }
          progress.phase = 'serving';
          beat();
          const ready: ServerReady = {
            baseUrl,
            model: input.servedName,
            generation: ctx.info.attempt * 1000 + progress.restarts,
            ...(proxy ? { proxyUrl: proxy.url } : {}),
          };
          await ctx.client.workflow.getHandle(input.workflowId).signal(MODEL_SERVER_READY_SIGNAL, ready);
          ctx.log.info('serving', {
            baseUrl,
            model: input.servedName,
            pid: child.pid,
            restarts: progress.restarts,
          });
          // Serve until cancelled; an engine that dies is started again.
          let failedChecks = 0;
          while (child.exitCode === null && child.signalCode === null && failedChecks < 3) {
            await ctx.sleep(POLL_MS);
            beat();
            failedChecks = (await answers()) ? 0 : failedChecks + 1;
          }
          ctx.log.warn('the serving engine stopped answering; starting it again', {
            restarts: progress.restarts + 1,
          });
          progress.phase = 'starting';
          await stop(child);
          progress.restarts += 1;
        }
      } finally {
        if (child) await stop(child);
        await proxy?.close();
      }
    },
  };
}

function logTail(file: string): string {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text.length <= 1500 ? text : `…${text.slice(-1500)}`;
  } catch {
    return '(no engine log)';
  }
}

export type ServeActivities = ReturnType<typeof createServeActivities>;
