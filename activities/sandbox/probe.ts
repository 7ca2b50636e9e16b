import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { parseProbe, probeVerdict, PROBE_SCRIPT, type ProbeVerdict } from '../../core/sandbox-probe';
import { execInSandbox } from './exec';
import { policyOf } from './sandbox-policy-of';

/**
 * Looks at the sandbox after a command that may have met a limit and says which; when the
 * process limit was met, stops every process of the sandbox's user (the container's own root
 * process stays, so the sandbox lives on).
 */
export async function probeLimits(
  docker: Docker,
  container: string,
  exitCode: number,
  output: string,
): Promise<ProbeVerdict> {
  const policy = await policyOf(docker, container);
  let verdict: ProbeVerdict;
  try {
    const probe = await execInSandbox(docker, {
      container,
      command: PROBE_SCRIPT,
      timeoutSeconds: 15,
      outputCapBytes: 64 * 1024,
    });
    verdict = probeVerdict(parseProbe(probe.output), policy, exitCode, output);
  } catch (error) {
    if (error instanceof ApplicationFailure && error.type === ErrorTypes.ContainerGone) throw error;
    // The probe itself could not start: the process limit is the usual reason.
    verdict = probeVerdict(undefined, policy, exitCode, output);
  }
  if (verdict.stopProcesses) await stopAgentProcesses(docker, container, policy.user, policy.pids);
  return verdict;
}

/**
 * `kill -9 -1` as the sandbox's user. With every process slot taken the kill could not even
 * start, so the engine lifts the process limit for the moment it takes, then puts it back.
 */
async function stopAgentProcesses(
  docker: Docker,
  container: string,
  user: string | undefined,
  pids: number | undefined,
): Promise<void> {
  const handle = docker.getContainer(container);
  const limit = pids ?? 512;
  await handle.update({ PidsLimit: limit * 4 });
  try {
    const exec = await handle.exec({
      Cmd: ['bash', '-c', 'kill -9 -1'],
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
    await handle.update({ PidsLimit: limit });
  }
}
