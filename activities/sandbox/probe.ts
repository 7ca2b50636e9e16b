import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import {
  forkFailed,
  parseProbe,
  probeVerdict,
  PROBE_SCRIPT,
  type ProbeVerdict,
} from '../../core/sandbox-probe';
import { execInSandbox } from './exec';
import { policyOf } from './sandbox-policy-of';

/**
 * Looks at the sandbox after a command that may have met a limit and says which; when the
 * process limit was met, stops every process of the sandbox's user (the container's own root
 * process stays, so the sandbox lives on). The probe runs as the harness (root, in /run/sera),
 * so the agent cannot change the counters it compares against.
 */
export async function probeLimits(
  docker: Docker,
  container: string,
  exitCode: number,
  output: string,
  onProgress: () => void = () => undefined,
): Promise<ProbeVerdict> {
  const policy = await policyOf(docker, container);
  // Forks failed: the slots are taken, and the probe itself would crawl through bash's fork
  // retries. Free them first; the counters still show the limit was met.
  const stoppedFirst = forkFailed(output);
  if (stoppedFirst) await stopAgentProcesses(docker, container, policy.user, policy.pids, onProgress);
  let verdict: ProbeVerdict;
  try {
    const probe = await execInSandbox(
      docker,
      { container, command: PROBE_SCRIPT, timeoutSeconds: 15, outputCapBytes: 64 * 1024, asHarness: true },
      onProgress,
    );
    verdict = probeVerdict(parseProbe(probe.output), policy, exitCode, output);
  } catch (error) {
    if (error instanceof ApplicationFailure && error.type === ErrorTypes.ContainerGone) throw error;
    // The probe itself could not start: the process limit is the usual reason.
    verdict = probeVerdict(undefined, policy, exitCode, output);
  }
  if (verdict.stopProcesses && !stoppedFirst)
    await stopAgentProcesses(docker, container, policy.user, policy.pids, onProgress);
  return verdict;
}

const ROOT_USER = '0:0';
/** Builtins only, so the sweep forks nothing: every process the user may signal, five times. */
const USER_SWEEP = 'for sweep in 1 2 3 4 5; do kill -9 -1 2>/dev/null; done; true';
/**
 * As root, `kill -9 -1` would also end the container's own process (the first after init, so
 * the lowest pid but 1): every other process goes, five times, builtins only.
 */
const ROOT_SWEEP = [
  'main=',
  'for p in /proc/[0-9]*; do p=${p#/proc/}; if [ "$p" -gt 1 ] && [ "$p" != $$ ] && { [ -z "$main" ] || [ "$p" -lt "$main" ]; }; then main=$p; fi; done',
  'for sweep in 1 2 3 4 5; do for p in /proc/[0-9]*; do p=${p#/proc/}; if [ "$p" -gt 1 ] && [ "$p" != "$main" ] && [ "$p" != $$ ]; then kill -9 "$p" 2>/dev/null; fi; done; done',
  'true',
].join('\n');

/**
 * `kill -9 -1` as the sandbox's user, a few sweeps (a bomb forks while the first one runs). With
 * every process slot taken the kill could not even start, so the engine lifts the process limit
 * for the moment it takes, then puts it back. As root (`limits.user: "root"`), every process but
 * init and the container's own.
 */
async function stopAgentProcesses(
  docker: Docker,
  container: string,
  user: string | undefined,
  pids: number | undefined,
  onProgress: () => void,
): Promise<void> {
  const handle = docker.getContainer(container);
  const limit = pids ?? 512;
  onProgress();
  await handle.update({ PidsLimit: limit * 4 });
  try {
    const exec = await handle.exec({
      Cmd: ['bash', '-c', user === ROOT_USER ? ROOT_SWEEP : USER_SWEEP],
      ...(user ? { User: user } : {}),
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('error', () => resolve());
      stream.resume();
    });
  } finally {
    await handle.update({ PidsLimit: limit }).catch(() => undefined);
    onProgress();
  }
}
