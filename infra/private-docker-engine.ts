import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';

/**
 * A Docker engine of its own: a second `dockerd` with its own socket, data root, exec root and
 * bridge, standing for another sandbox host on this machine. The drill restarts it; a sandbox
 * worker uses it through DOCKER_HOST.
 */
export interface PrivateDockerEngine {
  /** The DOCKER_HOST value of this engine. */
  host: string;
  docker: Docker;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The engine's own bridge interface, made if missing. `--bridge none` would be simpler, but a
 * dockerd started with it deletes the host's `docker0`, which the machine's own engine needs for
 * every build step with network; a bridge of its own leaves `docker0` alone.
 */
function bridgeName(dir: string): string {
  return `sera-${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 8)}`;
}

function ownBridge(dir: string): string {
  const name = bridgeName(dir);
  const exists = (): boolean => {
    try {
      execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!exists()) execFileSync('ip', ['link', 'add', name, 'type', 'bridge'], { stdio: 'pipe' });
  execFileSync('ip', ['link', 'set', name, 'up'], { stdio: 'pipe' });
  return name;
}

/**
 * Deletes the engine's bridge once the engine has stopped: the address dockerd gave it stays with
 * the interface, and bridges left behind use up Docker's address pools (about 30), after which no
 * new engine on this machine starts.
 */
function removeBridge(dir: string): void {
  try {
    execFileSync('ip', ['link', 'del', bridgeName(dir)], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function pidOf(dir: string): number | undefined {
  const file = path.join(dir, 'dockerd.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, ok: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${seconds} s`);
    await sleep(250);
  }
}

/**
 * Starts the engine in `dir` (kept short: it holds unix sockets) and copies `images` into it from
 * the machine's engine, so it can build the same repository images.
 */
export async function startPrivateDockerEngine(dir: string, images: string[]): Promise<PrivateDockerEngine> {
  mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'docker.sock');
  const docker = new Docker({ socketPath: socket });
  const answers = (): Promise<boolean> =>
    docker.ping().then(
      () => true,
      () => false,
    );

  const start = async (): Promise<void> => {
    const bridge = ownBridge(dir);
    const log = openSync(path.join(dir, 'dockerd.log'), 'a');
    const child = spawn(
      'dockerd',
      [
        '--host',
        `unix://${socket}`,
        '--data-root',
        path.join(dir, 'data'),
        '--exec-root',
        path.join(dir, 'exec'),
        '--pidfile',
        path.join(dir, 'dockerd.pid'),
        '--bridge',
        bridge,
        '--iptables=false',
        '--ip6tables=false',
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    child.unref();
    await waitUntil(`the engine in ${dir} did not answer (see dockerd.log there)`, answers, 60);
  };
  const stop = async (): Promise<void> => {
    const pid = pidOf(dir);
    if (pid !== undefined && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitUntil(`dockerd ${pid} did not stop`, async () => !alive(pid), 60);
    }
    removeBridge(dir);
  };

  await start();
  const machine = new Docker();
  for (const image of images) {
    const saved = await machine.getImage(image).get();
    await new Promise<void>((resolve, reject) => {
      void docker.loadImage(saved).then((stream) => {
        docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve()));
      }, reject);
    });
  }
  return {
    host: `unix://${socket}`,
    docker,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}
