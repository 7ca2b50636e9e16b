import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { listManagedContainers } from '../activities/sandbox/containers';
import { TaskQueues, type WorkerRole } from '../core/queues';
import type { RunConfigRequest } from '../core/run-config';
import { SeededRandom } from '../core/teacher/random';
import { baseImageTag } from '../infra/base-image';
import { exampleEvalSet, exampleRepository } from '../infra/example-repo';
import { startFaultProxy, DRILL_FAULTS, type FaultProxy, type ProxyFaults } from '../infra/fault-proxy';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { startPrivateDockerEngine } from '../infra/private-docker-engine';
import { startTeacherServer, TEACHER_MODEL } from '../infra/teacher-server';
import { connectClient, temporalSettingsFromEnv } from '../infra/temporal-connection';
import { ensureDevServer, freePort, stopDevServer } from '../infra/temporal-server';
import { startWorkerProcess, type WorkerProcess } from '../infra/worker-process';
import { planDisruptions, TOOL_CALL_ACTIVITY, type PlannedDisruption } from './drill-plan';
import { faultVerdicts, verdictLine, type Fault, type FaultVerdict } from './fault-evidence';
import { fetchRunHistories, runSpan } from './run-histories';
import { sampleOutcomes } from './sample-outcomes';
import { cutByKill, workerIdentity, workInFlight, type ActivityInFlight } from './work-in-flight';
import { workflowResult } from './workflow-failure';
import { ensureWorkflowBundle } from '../infra/workflow-bundle';
import type { SpecializeResult } from '../workflows/specialize-repository';

/**
 * A fault drill: the same specialization twice on a private dev server, a private Docker engine
 * and worker processes, once undisturbed and once while every worker role is killed with SIGKILL
 * (and started again), the dev server restarts, the Docker engine restarts, and the teacher sits
 * behind a proxy answering 429s, 500s, cut connections and slow replies. Each disruption waits
 * for a seeded point within the time the undisturbed run had work for it and then for such work
 * in flight (drill-plan.ts); afterwards the histories must show that each one hit it
 * (fault-evidence.ts). The disturbed run must end with the same samples, dataset bytes and
 * evaluation predictions (the base model, a solving test teacher, resolves some), and leave no
 * container, engine, trainer or work folder behind.
 */
export interface DrillOptions {
  seed: number;
  samples: number;
  trainSteps: number;
  /** Evaluate base and student (vLLM) on one example instance; off: stop after training. */
  evaluate: boolean;
  faults: Partial<ProxyFaults>;
  log: (line: string) => void;
}

export interface DrillReport {
  /** What was done, when (seconds into the disturbed run) and what ran at that moment. */
  actions: Array<{ atSeconds: number; action: string; running?: string }>;
  /** Planned disruptions the run never gave work to (they count as missed faults too). */
  notDone: string[];
  /** For each disruption done or planned: whether the histories show it hit work in flight. */
  faults: FaultVerdict[];
  comparisons: Array<{ what: string; same: boolean; detail: string }>;
  /** Evaluation runs of the base model that resolved their instance, in each run. */
  baseResolved?: { calm: number; storm: number };
  leftovers: string[];
  proxy: FaultProxy['counts'];
  calmSeconds: number;
  stormSeconds: number;
  ok: boolean;
}

export const DRILL_DEFAULTS: Omit<DrillOptions, 'log'> = {
  seed: 1,
  samples: 6,
  trainSteps: 6,
  evaluate: true,
  // No garbled tool calls by default: the reply policy asks again with a new seed, and the
  // teacher answers a new seed with another plan, so the samples would differ by design.
  faults: { ...DRILL_FAULTS, garbageRate: 0 },
};

const ROLES: WorkerRole[] = ['orchestration', 'sandbox', 'llm', 'gpu-train', 'gpu-serve'];
/**
 * Share of the base model's evaluation runs the solving teacher resolves (a test instrument:
 * core/teacher/solver.ts): at 0.5, seeds 0 and 2 of the drill's instance resolve and seed 1 does
 * not, so the drill compares real, mixed grades.
 */
const BASE_SOLVE_RATE = 0.5;
/** How often the drill looks for work in flight while a disruption is due. */
const POLL_MS = 100;
/** Tries at a role's kill when each lands after the activity it aimed at ended (then it misses). */
const MAX_KILL_TRIES = 5;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The activities a due disruption may hit now, or undefined while there is nothing for it. */
function workFor(
  disruption: PlannedDisruption,
  running: ActivityInFlight[],
  identityOf: (role: WorkerRole) => string | undefined,
): ActivityInFlight[] | undefined {
  if (disruption.waitsFor === 'open-run') return [];
  const found =
    disruption.waitsFor === 'tool-call'
      ? running.filter((a) => a.type === TOOL_CALL_ACTIVITY)
      : running.filter((a) => a.worker === identityOf(disruption.role!));
  return found.length > 0 ? found : undefined;
}

/** Evaluation runs that resolved their instance, read from an evaluation's report. */
async function resolvedRuns(store: LocalArtifactStore, report: string | undefined): Promise<number> {
  if (!report) return 0;
  const parsed = JSON.parse((await store.get(report)).toString('utf8')) as {
    passes: Array<{ resolved: number }>;
  };
  return parsed.passes.reduce((sum, pass) => sum + pass.resolved, 0);
}

function compare(what: string, a: unknown, b: unknown): DrillReport['comparisons'][number] {
  const left = JSON.stringify(a);
  const right = JSON.stringify(b);
  return { what, same: left === right, detail: left === right ? left.slice(0, 120) : `${left} ≠ ${right}` };
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const { log } = options;
  await ensureWorkflowBundle(); // the worker processes refuse a stale one
  // Short: the engine's unix sockets live under it.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-drill-'));
  const random = new SeededRandom('drill', options.seed);
  const store = new LocalArtifactStore(artifactsDir());
  const server = {
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(scratch, 'temporal.db'),
    stateDir: scratch,
    headless: true,
  };
  const workers = new Map<WorkerRole, WorkerProcess>();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let client: Client | undefined;
  try {
    const dev = await ensureDevServer(server);
    cleanups.push(() => stopDevServer(scratch));
    log(`dev server ${dev.address} (history in ${server.dbFile})`);
    const engine = await startPrivateDockerEngine(path.join(scratch, 'engine'), [baseImageTag()]);
    cleanups.push(() => engine.stop());
    log(`private Docker engine ${engine.host}`);
    const evalSet = exampleEvalSet();
    // The base model's evaluation goes to this teacher, which solves a share of its runs, so the
    // two runs' evaluations are compared on real grades, not on zeros.
    const teacher = await startTeacherServer(
      options.evaluate
        ? { solutions: { instancesFile: evalSet.instancesFile, solveRate: BASE_SOLVE_RATE } }
        : {},
    );
    cleanups.push(() => teacher.close());
    const proxy = await startFaultProxy({ target: teacher.url, faults: options.faults, seed: options.seed });
    cleanups.push(() => proxy.close());
    log(`teacher ${teacher.url}, behind the fault proxy at ${proxy.url}`);

    const env: NodeJS.ProcessEnv = {
      TEMPORAL_ADDRESS: dev.address,
      SERA_ARTIFACTS_DIR: artifactsDir(),
      SERA_SANDBOX_HOST_ID: `drill-${options.seed}`,
      DOCKER_HOST: engine.host,
      SERA_TRAIN_DIR: path.join(scratch, 'train'),
      SERA_SERVE_DIR: path.join(scratch, 'serve'),
      SERA_SERVE_PORT: String(await freePort()),
    };
    const startRole = async (role: WorkerRole): Promise<void> => {
      workers.set(role, await startWorkerProcess([role], env));
    };
    const killRole = async (role: WorkerRole): Promise<void> => {
      const worker = workers.get(role);
      worker?.child.kill('SIGKILL');
      await worker?.exited;
    };
    cleanups.push(async () => {
      for (const role of ROLES) await killRole(role);
    });
    await Promise.all(ROLES.map(startRole));
    client = await connectClient({ ...temporalSettingsFromEnv(), address: dev.address });

    const runId = `drill-${options.seed}`;
    const example = exampleRepository();
    const config = (teacherUrl: string): RunConfigRequest => ({
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: teacherUrl, model: TEACHER_MODEL },
      samples: options.samples,
      concurrency: 2,
      seed: options.seed,
      dataset: { trajectories: 'T1+T2' },
      train: { preset: 'tiny', recipe: { maxSteps: options.trainSteps, saveSteps: 2, seed: 3 } },
      heartbeatTimeoutSeconds: 8,
      ...(options.evaluate
        ? {
            evaluate: {
              instances: { path: evalSet.instancesFile },
              environments: { [evalSet.repo]: evalSet.environment },
              instanceIds: ['more-itertools__more-itertools-v10.1.0'],
              base: { baseUrl: teacherUrl, model: TEACHER_MODEL },
              serve: { maxModelLen: 4096, extraArgs: ['--dtype', 'float32', '-O0'] },
              settings: { maxTokens: 64 },
              solve: { maxModelCalls: 12, contextCapTokens: 4096 },
              heartbeatTimeoutSeconds: 8,
            },
          }
        : {}),
    });

    log('undisturbed run…');
    let started = Date.now();
    const calmId = `sera-run-${runId}-calm`;
    const calm = await workflowResult<SpecializeResult>(
      await client.workflow.start('specializeRepository', {
        taskQueue: TaskQueues.orchestration,
        workflowId: calmId,
        args: [config(teacher.url)],
      }),
    );
    const calmSeconds = (Date.now() - started) / 1000;
    log(`  ${calm.report.headline.at(-1)}`);

    // Each disruption at a seeded point within the time the undisturbed run had work for it.
    const calmHistories = await fetchRunHistories(client, [calmId]);
    const calmStart = runSpan(calmHistories[0]!).startedAt;
    const { planned, skipped } = planDisruptions(calmHistories, calmStart, calmSeconds, ROLES, random);
    for (const action of skipped) log(`  not planned: ${action} (no work for it in the undisturbed run)`);

    log('disturbed run…');
    started = Date.now();
    const storm = await client.workflow.start('specializeRepository', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}-storm`,
      args: [config(proxy.url)],
    });
    const identityOf = (role: WorkerRole): string | undefined => {
      const pid = workers.get(role)?.child.pid;
      return pid === undefined ? undefined : workerIdentity(pid);
    };
    const faults: Fault[] = [];
    const actions: DrillReport['actions'] = [];
    const waiting = [...planned];
    const missedKills = new Map<PlannedDisruption, number>();
    // Each disruption is done once it is due and its work is in flight; the run may end first.
    while (waiting.length > 0) {
      const elapsed = (Date.now() - started) / 1000;
      const due = waiting.filter((d) => d.atSeconds <= elapsed);
      if (due.length === 0) {
        await sleep(Math.min(1000, (waiting[0]!.atSeconds - elapsed) * 1000));
        continue;
      }
      const now = await workInFlight(client, storm.workflowId);
      if (!now.open) break;
      const ready = due
        .map((disruption) => ({ disruption, running: workFor(disruption, now.activities, identityOf) }))
        .find((d) => d.running !== undefined);
      if (!ready) {
        await sleep(POLL_MS);
        continue;
      }
      const { disruption, running } = ready;
      waiting.splice(waiting.indexOf(disruption), 1);
      const what = running!.map((a) => `${a.type} of ${a.workflowId}`).join(', ');
      log(
        `  [${Math.round(elapsed)} s] ${disruption.action}${what ? ` (running: ${what})` : ''}${elapsed - disruption.atSeconds > 5 ? ` (due at ${disruption.atSeconds} s)` : ''}`,
      );
      const action = {
        atSeconds: Math.round(elapsed),
        action: disruption.action,
        ...(what ? { running: what } : {}),
      };
      const at = Date.now();
      if (disruption.kind === 'worker-killed') {
        const role = disruption.role!;
        const worker = identityOf(role);
        await killRole(role);
        // What the kill cut: the activities still held by the dead worker (none for orchestration).
        const cut =
          role === 'orchestration' || !worker ? [] : await cutByKill(client, storm.workflowId, worker);
        await startRole(role);
        const tries = (missedKills.get(disruption) ?? 0) + 1;
        if (role !== 'orchestration' && cut.length === 0 && tries < MAX_KILL_TRIES) {
          // The activity ended between the look and the kill: the kill hit nothing, so again.
          missedKills.set(disruption, tries);
          log(`    the ${role} worker had finished it when the kill landed: again, at its next activity`);
          waiting.unshift(disruption);
          continue;
        }
        faults.push({
          kind: 'worker-killed',
          label: disruption.action,
          at,
          role,
          ...(worker ? { worker } : {}),
          ...(role === 'orchestration' ? {} : { inFlight: cut }),
        });
      } else if (disruption.kind === 'server-restarted') {
        await client.connection.close();
        stopDevServer(scratch);
        await sleep(1500);
        await ensureDevServer(server);
        client = await connectClient({ ...temporalSettingsFromEnv(), address: dev.address });
        faults.push({ kind: 'server-restarted', label: disruption.action, at });
      } else {
        await engine.restart();
        faults.push({ kind: 'containers-lost', label: disruption.action, at });
      }
      actions.push(action);
    }
    const notDone = waiting.map((d) => d.action);
    const stormResult = await workflowResult<SpecializeResult>(client.workflow.getHandle(storm.workflowId));
    const stormSeconds = (Date.now() - started) / 1000;
    log(`  ${stormResult.report.headline.at(-1)}`);

    // Whether each disruption reached work in flight, read from the disturbed run's histories.
    const verdicts: FaultVerdict[] = [
      ...(await faultVerdicts(client, [storm.workflowId], faults)),
      ...notDone.map((label) => ({
        label,
        hit: false,
        evidence: 'not done: the run ended before there was work in flight for it',
      })),
    ];
    for (const verdict of verdicts) log(verdictLine(verdict));

    const comparisons = [
      compare(
        'samples (fate and patches of each)',
        await sampleOutcomes(store, calm.generation),
        await sampleOutcomes(store, stormResult.generation),
      ),
      compare('dataset bytes (artifact id)', calm.dataset?.dataset.id, stormResult.dataset?.dataset.id),
      compare('trained model (artifact id)', calm.training?.model, stormResult.training?.model),
    ];
    let baseResolved: DrillReport['baseResolved'];
    if (options.evaluate) {
      baseResolved = {
        calm: await resolvedRuns(store, calm.evaluation?.base?.report),
        storm: await resolvedRuns(store, stormResult.evaluation?.base?.report),
      };
      log(`base model: ${baseResolved.calm} resolved undisturbed, ${baseResolved.storm} disturbed`);
      comparisons.push(
        compare('base model resolved runs', baseResolved.calm, baseResolved.storm),
        compare(
          'base model predictions',
          calm.evaluation?.base?.predictions,
          stormResult.evaluation?.base?.predictions,
        ),
        compare(
          'student predictions',
          calm.evaluation?.student.predictions,
          stormResult.evaluation?.student.predictions,
        ),
      );
    }

    // What the run may leave behind: containers, a serving engine, a trainer, work folders.
    for (const role of ROLES) await killRole(role);
    workers.clear();
    const leftovers: string[] = [];
    const containers = (await listManagedContainers(engine.docker)).filter((c) => c.runId === runId);
    leftovers.push(...containers.map((c) => `container ${c.name}`));
    const serveDir = env.SERA_SERVE_DIR!;
    if (existsSync(serveDir))
      for (const file of readdirSync(serveDir).filter((f) => f.endsWith('.pid'))) {
        const pid = Number(readFileSync(path.join(serveDir, file), 'utf8'));
        if (pid > 0 && spawnSync('kill', ['-0', String(pid)]).status === 0)
          leftovers.push(`serving engine ${pid}`);
      }
    const trainers = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.includes('sft_train.py') && l.includes(scratch));
    leftovers.push(...trainers.map((t) => `trainer ${t.slice(0, 80)}`));
    const trainDir = env.SERA_TRAIN_DIR!;
    if (existsSync(trainDir)) leftovers.push(...readdirSync(trainDir).map((f) => `work folder ${f}`));

    for (const c of comparisons)
      log(`${c.same ? 'same' : 'DIFFERENT'}: ${c.what}${c.same ? '' : `: ${c.detail}`}`);
    log(leftovers.length ? `left behind: ${leftovers.join(', ')}` : 'nothing left behind');
    log(`proxy: ${JSON.stringify(proxy.counts)}`);
    return {
      actions,
      notDone,
      faults: verdicts,
      comparisons,
      ...(baseResolved ? { baseResolved } : {}),
      leftovers,
      proxy: { ...proxy.counts },
      calmSeconds,
      stormSeconds,
      ok: verdicts.every((v) => v.hit) && comparisons.every((c) => c.same) && leftovers.length === 0,
    };
  } finally {
    await client?.connection.close().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}
