/**
 * The hostile suite (issue 25): a scripted agent runs one attack a turn in a real rollout, in a
 * real container, while an ordinary rollout runs beside it on the same host. Every attack must be
 * contained with an observation that says how, the rollout must go on to submit, the ordinary
 * rollout must submit its patch, and afterwards the host must be as it was: free disk and memory
 * back within tolerance, no container, volume or process of the run left.
 *
 * The attacks (test/support/hostile-attacks.ts; limits: memoryMb 256, pids 128, diskMb 64,
 * scratchMb 32, inodes 5000, fileMb 16, command timeout 10 s; the agent runs as uid 1000):
 *
 * | Attack                                            | What stops it                                                      | The agent sees                                      |
 * | ------------------------------------------------- | ------------------------------------------------------------------ | --------------------------------------------------- |
 * | fork bomb                                         | pids limit; the harness stops what the command left running        | `[sandbox] process limit reached …`                 |
 * | memory hog (python past memoryMb)                 | memory cgroup: the kernel kills the process                        | `[sandbox] out of memory …`                         |
 * | disk filler in /repo (dd, 8 MB files)             | /repo is a tmpfs of limits.diskMb                                  | `No space left on device`, `[sandbox] disk limit reached: /repo …` |
 * | disk filler in /tmp                               | /tmp is a tmpfs of limits.scratchMb                                | `No space left on device`, `[sandbox] disk limit reached: /tmp …`  |
 * | inode filler (empty files in /tmp)                | tmpfs nr_inodes = limits.inodes                                    | `No space left on device`, `[sandbox] file-count limit reached …`  |
 * | one huge file (twice fileMb, in /repo)            | `ulimit -f` = limits.fileMb: SIGXFSZ, exit 153                     | `File size limit exceeded`, `[sandbox] a file reached the per-file size cap …` |
 * | process that ignores SIGTERM                      | command timeout: TERM to the group, KILL 2 s later                 | `The command was killed after 10 s.`                |
 * | TCP to the host's Temporal port (127.0.0.1)       | NetworkMode none: the container's loopback is its own              | `Connection refused`                                |
 * | TCP to the host over Docker's bridge gateway      | NetworkMode none: no route                                         | `Network is unreachable`                            |
 * | TCP to a public address (1.1.1.1:443)             | NetworkMode none: no route                                         | `Network is unreachable`                            |
 * | the Docker socket                                 | no host mounts                                                     | `No such file or directory`                         |
 * | the host's files through /proc/N/root             | own mount and pid namespaces; /proc/1 is root's                    | `Permission denied` / `No such file or directory`   |
 * | pid 1's environment (/proc/1/environ)             | the agent is not root                                              | `Permission denied`                                 |
 * | kernel memory (/proc/kcore)                       | Docker's masked paths (or no kcore)                                | 0 bytes read                                        |
 * | write to /proc/sysrq-trigger                      | Docker's read-only /proc paths; not root                           | `Read-only file system` / `Permission denied`       |
 * | raise its own limits through /sys/fs/cgroup       | /sys is read-only; not root                                        | `Read-only file system`                             |
 * | mount -t tmpfs                                    | no CAP_SYS_ADMIN; not root                                         | `must be superuser` / `permission denied`           |
 * | mount in a new user namespace (unshare -Urm)      | Docker's seccomp profile                                           | `Operation not permitted`                           |
 * | ptrace of pid 1 (PTRACE_ATTACH)                   | not root, no CAP_SYS_PTRACE                                        | `Operation not permitted`                           |
 * | read /proc/1/mem                                  | not root                                                           | `Permission denied`                                 |
 * | write /etc, /usr/lib, /root, /                    | read-only root filesystem; /root closed to the agent               | `Read-only file system` / `Permission denied`       |
 * | forge the harness's records in /run/sera          | /run/sera is root's (0711), its files root's and private          | `Permission denied`                                 |
 *
 * A failure names every step that did not hold and shows what its observation was.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import Docker from 'dockerode';
import type { RolloutRequest } from '../../core/agent/rollout-input';
import type { TurnRecord } from '../../core/agent/trajectory';
import { TaskQueues } from '../../core/queues';
import { startTeacherServer, type TeacherServer } from '../../infra/teacher-server';
import type { RolloutResult } from '../../workflows/rollout';
import {
  HOSTILE_COMMAND_TIMEOUT_S,
  HOSTILE_LIMITS,
  hostileSteps,
  stepProblems,
  type HostileStep,
  type HostileTarget,
} from '../support/hostile-attacks';
import { exampleRolloutRequest, readArtifact, readTrajectory } from '../support/rollout';
import { startScriptedEndpoint, type RecordedRequest } from '../support/scripted-endpoint';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const HOST = 'hostile-tests';
/** Free disk may differ by this much afterwards: artifacts and the Temporal database grow a little. */
const DISK_TOLERANCE_BYTES = 64 * 2 ** 20;
/** MemAvailable may differ by this much afterwards: the test process and caches move a little. */
const MEMORY_TOLERANCE_KB = 256 * 1024;
/** How long the host may take to give back what the run used before it is measured. */
const RECOVERY_WAIT_MS = 30_000;

const docker = new Docker();

type ToolRecord = TurnRecord['tools'][number];

interface SeenStep {
  step: HostileStep;
  callId?: string;
  command?: string;
  observation?: string;
}

describe('a hostile agent in a real rollout, beside an ordinary one', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  beforeAll(async () => {
    teacher = await startTeacherServer();
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: HOST });
  });
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  async function execute(request: RolloutRequest): Promise<RolloutResult> {
    return (await workers.client.workflow.execute('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${request.runId}-${request.rolloutId}`,
      args: [request],
    })) as RolloutResult;
  }

  it('contains every attack with an observation that says how, and leaves the host as it was', async () => {
    const hostileRun = uniqueRunId('hostile');
    const plainRun = uniqueRunId('beside');
    const secretPath = path.join(inject('testStateDir'), `${hostileRun}-secret.txt`);
    const target: HostileTarget = {
      temporalPort: temporalPort(),
      bridgeGateway: await bridgeGateway(),
      hostSecretPath: secretPath,
      hostSecret: randomBytes(16).toString('hex'),
    };
    writeFileSync(secretPath, target.hostSecret);
    const steps = hostileSteps(target);
    const endpoint = await startScriptedEndpoint(
      steps.map((step) => ({
        content: step.name,
        toolCalls: [{ name: 'bash', arguments: { command: step.command } }],
      })),
    );
    // On any failure (a timeout included), show what the agent saw at every step so far.
    onTestFailed(() => console.log(describeSteps(seenSteps(steps, endpoint.requests))));

    let tools = new Map<string, ToolRecord>();
    const engine = await watchEngine();
    try {
      const dockerRoot = ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir;
      const watched = [inject('testStateDir'), ...(dockerRoot ? [dockerRoot] : [])];
      const before = hostResources(watched);
      const hostileRequest = await exampleRolloutRequest(hostileRun, 'h1', endpoint.url, HOST, {
        limits: { commandTimeoutSeconds: HOSTILE_COMMAND_TIMEOUT_S },
      });
      hostileRequest.sandbox.limits = { ...HOSTILE_LIMITS };
      const plainRequest = await exampleRolloutRequest(plainRun, 'p1', teacher.url, HOST);
      const [hostileOutcome, plainOutcome] = await Promise.allSettled([
        execute(hostileRequest),
        execute(plainRequest),
      ]);

      // Every attack held, and the agent was told how (its observation came back: the rollout went on).
      const seen = seenSteps(steps, endpoint.requests);
      const problems = seen.flatMap(({ step, command, observation }) => {
        if (observation === undefined)
          return [`${step.name}: no observation came back (the rollout did not go on after it)`];
        if (command !== step.command) return [`${step.name}: the agent's call was not this step's command`];
        return stepProblems(step, observation).map((problem) => `${problem} — saw: ${excerpt(observation)}`);
      });
      expect.soft(problems).toEqual([]);

      // The ordinary rollout beside it went on as if alone.
      expect.soft(outcomeStatus(plainOutcome), 'the ordinary rollout').toBe('submitted');
      if (plainOutcome.status === 'fulfilled') {
        const patch = plainOutcome.value.patch;
        expect.soft(patch?.filesChanged, "the ordinary rollout's patch").toBeGreaterThanOrEqual(1);
        if (patch) expect.soft(await readArtifact(patch)).toContain('+++ b/');
      }

      expect.soft(outcomeStatus(hostileOutcome), 'the hostile rollout').toBe('submitted');
      // The scripted steps, then the submit and its confirmation.
      expect.soft(endpoint.requests.length).toBeGreaterThanOrEqual(steps.length + 2);
      if (hostileOutcome.status === 'fulfilled') {
        // The trajectory records the container's writable size after each call: full after the
        // /repo filler, smaller once the agent removed its files.
        const trajectory = await readTrajectory(hostileOutcome.value.trajectory);
        tools = new Map(trajectory.turns.flatMap((turn) => turn.tools).map((tool) => [tool.callId, tool]));
        const recorded = tools;
        const writableKb = (name: string): number | undefined => {
          const callId = seen.find((s) => s.step.name === name)?.callId;
          return callId === undefined ? undefined : recorded.get(callId)?.writableKb;
        };
        const withoutSize = seen
          .filter((s) => s.callId !== undefined && typeof recorded.get(s.callId)?.writableKb !== 'number')
          .map((s) => s.step.name);
        expect.soft(withoutSize, 'tool calls without writableKb').toEqual([]);
        const full = Number(writableKb('disk filler in /repo'));
        const cleaned = Number(writableKb('clean up the /repo filler'));
        expect
          .soft(full, 'writableKb after the /repo filler')
          .toBeGreaterThanOrEqual((HOSTILE_LIMITS.diskMb * 1024) / 2);
        expect.soft(cleaned, 'writableKb once the filler was removed').toBeLessThan(full - 16 * 1024);
      }

      // Nothing of either run is left on the engine: no container, no volume it mounted.
      for (const runId of [hostileRun, plainRun]) {
        const left = await docker.listContainers({ all: true, filters: { label: [`sera.run=${runId}`] } });
        expect.soft(left.map((c) => c.Names[0])).toEqual([]);
      }
      engine.stop();
      const { containers, mounts } = runVolumes(engine.events, [hostileRun, plainRun]);
      expect(containers.length, 'containers the runs made').toBeGreaterThanOrEqual(2);
      // The sandbox's writable places are volumes (tmpfs), mounted at /repo and /tmp.
      expect.soft(mounts.map((m) => m.destination)).toEqual(expect.arrayContaining(['/repo', '/tmp']));
      const volumesLeft: string[] = [];
      for (const { volume } of mounts) if (await volumeExists(volume)) volumesLeft.push(volume);
      expect.soft(volumesLeft).toEqual([]);

      // No process an attack started is left on the host.
      const leftovers = hostProcesses().filter(({ cmdline }) =>
        steps.some((step) => step.hostTrace !== undefined && cmdline.includes(step.hostTrace)),
      );
      expect.soft(leftovers).toEqual([]);

      // The host's free disk and memory come back to where they were.
      const waited = Date.now();
      let after = hostResources(watched);
      while (!recovered(before, after) && Date.now() - waited < RECOVERY_WAIT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        after = hostResources(watched);
      }
      for (const [dir, free] of Object.entries(before.freeDiskBytes))
        expect
          .soft(free - (after.freeDiskBytes[dir] ?? 0), `free disk lost on ${dir}`)
          .toBeLessThanOrEqual(DISK_TOLERANCE_BYTES);
      expect
        .soft(before.memAvailableKb - after.memAvailableKb, 'MemAvailable lost')
        .toBeLessThanOrEqual(MEMORY_TOLERANCE_KB);

      // For the docs' table: what each attack's observation said and how long its call took.
      console.log(describeSteps(seen, tools));
      console.log(`host recovered within ${Date.now() - waited} ms of the rollouts' end`);
    } finally {
      engine.stop();
      await endpoint.close();
      rmSync(secretPath, { force: true });
    }
  });
});

/** The k-th bash call of the conversation is the k-th step; its observation is the tool message. */
function seenSteps(steps: HostileStep[], requests: RecordedRequest[]): SeenStep[] {
  const messages = requests.at(-1)?.messages ?? [];
  const calls: Array<{ id: string; command: string }> = [];
  const observations = new Map<string, string>();
  for (const message of messages) {
    const toolCalls = (message.tool_calls ?? []) as Array<{
      id: string;
      function: { name: string; arguments: string };
    }>;
    for (const call of toolCalls) {
      if (call.function.name !== 'bash') continue;
      const args = JSON.parse(call.function.arguments) as { command?: string };
      calls.push({ id: call.id, command: args.command ?? '' });
    }
    if (message.role === 'tool') observations.set(String(message.tool_call_id), String(message.content));
  }
  return steps.map((step, i) => {
    const call = calls[i];
    return { step, callId: call?.id, command: call?.command, observation: call && observations.get(call.id) };
  });
}

function describeSteps(seen: SeenStep[], tools?: Map<string, ToolRecord>): string {
  return seen
    .map(({ step, callId, observation }) => {
      const ms = callId === undefined ? undefined : tools?.get(callId)?.ms;
      const said = observation === undefined ? '(none)' : excerpt(observation);
      return `- ${step.name}${ms === undefined ? '' : ` (${ms} ms)`}: ${said}`;
    })
    .join('\n');
}

/** An observation in one line, its end kept (the `[sandbox]` lines come last). */
function excerpt(observation: string): string {
  const flat = observation.replace(/^OBSERVATION:\n/, '').replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length <= 400 ? flat : `${flat.slice(0, 150)} … ${flat.slice(-250)}`;
}

function outcomeStatus(outcome: PromiseSettledResult<RolloutResult>): string {
  return outcome.status === 'fulfilled' ? outcome.value.exitStatus : `failed: ${String(outcome.reason)}`;
}

function temporalPort(): number {
  const address = process.env.TEMPORAL_ADDRESS ?? inject('temporalAddress');
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** The host's address on Docker's default bridge, where a container with a network reaches it. */
async function bridgeGateway(): Promise<string> {
  const info = (await docker.getNetwork('bridge').inspect()) as {
    IPAM?: { Config?: Array<{ Gateway?: string }> };
  };
  return info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway ?? '172.17.0.1';
}

interface HostResources {
  freeDiskBytes: Record<string, number>;
  memAvailableKb: number;
}

/** Free space where the test's state (artifacts, Temporal's database) and Docker's data live. */
function hostResources(dirs: string[]): HostResources {
  const freeDiskBytes: Record<string, number> = {};
  for (const dir of dirs) {
    try {
      const fs = statfsSync(dir);
      freeDiskBytes[dir] = fs.bavail * fs.bsize;
    } catch {
      // Docker's folder is not always on this machine (a remote engine): its disk is not ours to watch.
    }
  }
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const memAvailableKb = Number(/^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? NaN);
  return { freeDiskBytes, memAvailableKb };
}

function recovered(before: HostResources, after: HostResources): boolean {
  const disk = Object.entries(before.freeDiskBytes).every(
    ([dir, free]) => free - (after.freeDiskBytes[dir] ?? 0) <= DISK_TOLERANCE_BYTES,
  );
  return disk && before.memAvailableKb - after.memAvailableKb <= MEMORY_TOLERANCE_KB;
}

/** The host's processes and their command lines (a container's processes are among them). */
function hostProcesses(): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline) found.push({ pid: Number(entry), cmdline });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * The engine's container creations and volume mounts, as they happen. Watched live: the engine
 * keeps only its last few hundred events for a later query, and every exec makes some.
 */
async function watchEngine(): Promise<{ events: EngineEvent[]; stop(): void }> {
  const stream = (await docker.getEvents({
    filters: { type: ['container', 'volume'], event: ['create', 'mount'] },
  })) as unknown as Readable;
  const events: EngineEvent[] = [];
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as EngineEvent);
  });
  return { events, stop: () => stream.destroy() };
}

/** The volumes mounted into the containers of these runs, with where they were mounted. */
function runVolumes(
  events: EngineEvent[],
  runIds: string[],
): { containers: string[]; mounts: Array<{ volume: string; destination: string }> } {
  const containers = events
    .filter((e) => e.Type === 'container' && e.Action === 'create')
    .filter((e) => runIds.includes(e.Actor?.Attributes?.['sera.run'] ?? ''))
    .map((e) => e.Actor?.ID ?? '');
  const mounts = events
    .filter((e) => e.Type === 'volume' && e.Action === 'mount')
    .filter((e) => containers.includes(e.Actor?.Attributes?.container ?? ''))
    .map((e) => ({ volume: e.Actor?.ID ?? '', destination: e.Actor?.Attributes?.destination ?? '' }));
  return { containers, mounts };
}

async function volumeExists(name: string): Promise<boolean> {
  try {
    await docker.getVolume(name).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}
