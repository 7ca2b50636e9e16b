import { proxyActivities } from '@temporalio/workflow';
import type { SandboxActivities } from '../activities/sandbox/activities';

export interface SandboxExecProbeInput {
  /** The sandbox host's queue (the container lives there). */
  hostQueue: string;
  container: string;
  command: string;
  iterations: number;
}

/**
 * Runs one command in a sandbox several times, one activity after another, and returns how long
 * each call took as the workflow saw it: from scheduling the activity to the workflow task that
 * got its result. `npm run bench` compares these with raw `docker exec` of the same command.
 */
export async function sandboxExecProbe(input: SandboxExecProbeInput): Promise<number[]> {
  const sandbox = proxyActivities<SandboxActivities>({
    taskQueue: input.hostQueue,
    startToCloseTimeout: '60s',
    retry: { maximumAttempts: 1 },
  });
  const durations: number[] = [];
  for (let i = 0; i < input.iterations; i += 1) {
    const started = Date.now();
    await sandbox.execInSandbox({
      container: input.container,
      command: input.command,
      timeoutSeconds: 30,
      outputCapBytes: 65536,
    });
    durations.push(Date.now() - started);
  }
  return durations;
}
