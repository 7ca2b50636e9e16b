import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { createSandbox, destroySandbox } from '../activities/sandbox/containers';
import { execInSandbox } from '../activities/sandbox/exec';
import { prepareRepoImage } from '../activities/sandbox/repo-image';
import { sandboxHostQueue, TaskQueues } from '../core/queues';
import { baseImageTag } from '../infra/base-image';
import { exampleRepository } from '../infra/example-repo';
import { stats, type Stats } from './stats';

const execFileAsync = promisify(execFile);
/** The CLI runs the command as the sandbox's user, as the activity does (uid 1000 owns /repo). */
const AGENT_USER = '1000:1000';

export interface ExecLatencyResult {
  command: string;
  rounds: number;
  perRound: number;
  temporalActivity: Stats;
  dockerCli: Stats;
  dockerode: Stats;
  /** temporalActivity.p50 / dockerCli.p50: the goal is at most 1.5. */
  ratioToDockerCli: number;
  ratioToDockerode: number;
}

/**
 * Sandbox exec latency, three ways, interleaved round by round so all three see the same
 * machine load: a Temporal activity (workflow → sandbox worker → Docker), the `docker exec` CLI,
 * and the same dockerode call the activity makes, without Temporal.
 */
export async function benchSandboxExec(
  client: Client,
  hostId: string,
  options: { rounds: number; perRound: number; command: string },
  progress: (line: string) => void,
): Promise<ExecLatencyResult> {
  const docker = new Docker();
  const example = exampleRepository();
  const image = await prepareRepoImage(docker, baseImageTag(), {
    repository: example.path,
    commit: example.commit,
  });
  const name = `sera-bench-${process.pid}`;
  await createSandbox(docker, {
    name,
    image: image.image,
    baseCommit: image.commit,
    runId: 'bench',
    workflowId: 'bench',
    limits: { cpus: 1, memoryMb: 1024, pids: 256 },
  });
  const viaTemporal: number[] = [];
  const viaCli: number[] = [];
  const viaDockerode: number[] = [];
  try {
    // One untimed call each, so first-use costs (connections, page cache) are not counted.
    await execFileAsync('docker', ['exec', '-u', AGENT_USER, name, 'bash', '-c', options.command]);
    await execInSandbox(docker, {
      container: name,
      command: options.command,
      timeoutSeconds: 30,
      outputCapBytes: 65536,
    });
    for (let round = 0; round < options.rounds; round += 1) {
      const durations = await client.workflow.execute('sandboxExecProbe', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-bench-exec-${process.pid}-${round}`,
        args: [
          {
            hostQueue: sandboxHostQueue(hostId),
            container: name,
            command: options.command,
            iterations: options.perRound,
          },
        ],
      });
      viaTemporal.push(...(durations as number[]));
      for (let i = 0; i < options.perRound; i += 1) {
        const started = performance.now();
        await execFileAsync('docker', ['exec', '-u', AGENT_USER, name, 'bash', '-c', options.command]);
        viaCli.push(performance.now() - started);
      }
      for (let i = 0; i < options.perRound; i += 1) {
        const started = performance.now();
        await execInSandbox(docker, {
          container: name,
          command: options.command,
          timeoutSeconds: 30,
          outputCapBytes: 65536,
        });
        viaDockerode.push(performance.now() - started);
      }
      progress(`round ${round + 1}/${options.rounds}: ${viaTemporal.length} calls each way`);
    }
  } finally {
    await destroySandbox(docker, name);
  }
  const temporalActivity = stats(viaTemporal);
  const dockerCli = stats(viaCli);
  const dockerode = stats(viaDockerode);
  return {
    command: options.command,
    rounds: options.rounds,
    perRound: options.perRound,
    temporalActivity,
    dockerCli,
    dockerode,
    ratioToDockerCli: temporalActivity.p50 / dockerCli.p50,
    ratioToDockerode: temporalActivity.p50 / dockerode.p50,
  };
}
