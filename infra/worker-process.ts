import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './paths';

/** What a worker process needs to join this process's server and artifact store, as a sandbox worker of `hostId`. */
export function workerProcessEnv(hostId: string): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
    SERA_ARTIFACTS_DIR: process.env.SERA_ARTIFACTS_DIR,
    SERA_SANDBOX_HOST_ID: hostId,
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
}

/**
 * Starts `workers/main.ts <roles>` as a separate process, exactly as an operator would, and
 * resolves once it reports that it polls. Node runs tsx in-process (not through the tsx CLI,
 * which would put a wrapper process in between), so a kill reaches the worker itself.
 */
export async function startWorkerProcess(roles: string[], env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'workers', 'main.ts'), ...roles],
    {
      cwd: repoRoot,
      env: { ...process.env, SERA_LOG_LEVEL: 'WARN', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s:\n${text}`)), 60_000);
    const check = (): void => {
      if (text.includes('[worker] ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before it was ready:\n${text}`));
    });
  });
  return { child, output: () => text, exited };
}
