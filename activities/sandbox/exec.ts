import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { heartbeat } from '../common/activity-context';
import { CappedOutput } from '../../core/output-cap';
import { asSandboxFailure, containerGone, dockerStatus } from './docker-errors';
import { policyOf } from './sandbox-policy-of';

export interface ExecInput {
  container: string;
  command: string;
  timeoutSeconds: number;
  outputCapBytes: number;
  workdir?: string;
  /**
   * The harness's own commands that read or write its folder, /run/sera, which only root may
   * write (still with no capability but reading any file).
   */
  asHarness?: boolean;
}

export interface ExecResult {
  exitCode: number;
  /** stdout and stderr interleaved as they arrived, capped; a cut says so at the end. */
  output: string;
  truncated: boolean;
  durationMs: number;
}

/** GNU timeout's exit status when it had to stop the command. */
const TIMEOUT_EXIT = 124;
const KILLED_EXIT = 137;
/** How long past the in-container timeout the host waits before it gives up on the stream. */
const HOST_GRACE_MS = 10_000;

/**
 * Runs a shell command in the container. The command runs under GNU timeout, which puts it in a
 * process group of its own and signals the whole group, so children die with it. A timed-out
 * command is a CommandTimedOut failure carrying the output it had printed. `onProgress` ticks
 * every second while it runs: by default the current activity's heartbeat (a reset or a patch
 * on a large repository outlasts a 30 s heartbeat timeout as surely as an agent's command).
 */
export async function execInSandbox(
  docker: Docker,
  input: ExecInput,
  onProgress: () => void = heartbeat,
): Promise<ExecResult> {
  const started = Date.now();
  const container = docker.getContainer(input.container);
  let exec: Docker.Exec;
  let stream: NodeJS.ReadWriteStream;
  try {
    const policy = await policyOf(docker, input.container);
    exec = await container.exec({
      Cmd: commandLine(input, policy.fileMb),
      // The sandbox's user, never the container's root (containers made before policies: root).
      ...(policy.user ? { User: input.asHarness ? '0:0' : policy.user } : {}),
      AttachStdout: true,
      AttachStderr: true,
      WorkingDir: input.workdir ?? '/repo',
    });
    stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadWriteStream;
  } catch (error) {
    const status = dockerStatus(error);
    if (status === 404 || status === 409) throw containerGone(input.container, describe(error));
    throw asSandboxFailure(error, `exec in ${input.container}`);
  }

  const output = new CappedOutput(input.outputCapBytes);
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => output.append(chunk));
  docker.modem.demuxStream(stream, sink, sink);

  const deadline = input.timeoutSeconds * 1000 + HOST_GRACE_MS;
  // Once now and then every second: even a short call shows its worker alive.
  onProgress();
  const ticker = setInterval(onProgress, 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        (stream as unknown as { destroy(): void }).destroy();
        reject(new Error(`exec in ${input.container} did not end within ${deadline} ms`));
      }, deadline);
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on('error', (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    clearInterval(ticker);
  }

  const info = await exec.inspect().catch((error: unknown) => {
    throw containerGone(input.container, describe(error));
  });
  const exitCode = info.ExitCode ?? -1;
  const durationMs = Date.now() - started;
  // A killed container also ends its execs with 137 or no code: tell that apart from the command.
  if ((exitCode === KILLED_EXIT || exitCode === -1) && !(await stillRunning(container))) {
    throw containerGone(input.container, 'it stopped while the command ran');
  }
  const timedOut =
    exitCode === TIMEOUT_EXIT || (exitCode === KILLED_EXIT && durationMs >= input.timeoutSeconds * 1000);
  if (timedOut) {
    throw ApplicationFailure.create({
      type: ErrorTypes.CommandTimedOut,
      message: `command timed out after ${input.timeoutSeconds} s in ${input.container}: ${preview(input.command)}`,
      nonRetryable: true,
      details: [{ output: output.text(), durationMs }],
    });
  }
  return { exitCode, output: output.text(), truncated: output.truncated, durationMs };
}

/**
 * GNU timeout around bash. The per-file cap is set as both limits, so the command cannot raise
 * it; `$0` is the command, run by a fresh bash exactly as it would run without the cap.
 */
function commandLine(input: ExecInput, fileMb: number | undefined): string[] {
  const timeout = ['timeout', '--kill-after=2', `${input.timeoutSeconds}s`];
  if (fileMb === undefined) return [...timeout, 'bash', '-c', input.command];
  return [
    ...timeout,
    'bash',
    '-c',
    'ulimit -f "$1" 2>/dev/null; exec bash -c "$0"',
    input.command,
    String(fileMb * 1024),
  ];
}

/**
 * The engine reports a killed container's execs as ended a moment before it reports the
 * container as stopped, so look a few times before deciding the container is alive.
 */
async function stillRunning(container: Docker.Container): Promise<boolean> {
  for (let look = 0; look < 10; look += 1) {
    const running = await container.inspect().then(
      (c) => c.State.Running && !c.State.Restarting,
      () => false,
    );
    if (!running) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return true;
}

function describe(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(error);
}

function preview(command: string): string {
  return command.length <= 120 ? command : `${command.slice(0, 120)}…`;
}
