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
import { sampleOutcomes } from './sample-outcomes';
import { workflowResult } from './workflow-failure';
import { ensureWorkflowBundle } from '../infra/workflow-bundle';
import type { SpecializeResult } from '../workflows/specialize-repository';

/**
 * A fault drill: the same specialization twice on a private dev server, a private Docker engine
 * and worker processes, once undisturbed and once while, at seeded random points, every worker
 * role is killed with SIGKILL (and started again), the dev server restarts, the Docker engine
 * restarts, and the teacher sits behind a proxy answering 429s, 500s, cut connections and slow
 * replies. The disturbed run must end with the same samples, dataset bytes and evaluation
 * predictions, and leave no container, engine, trainer or work folder behind.
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
  actions: Array<{ atSeconds: number; action: string }>;
  comparisons: Array<{ what: string; same: boolean; detail: string }>;
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
  faults: DRILL_FAULTS,
};

const ROLES: WorkerRole[] = ['orchestration', 'sandbox', 'llm', 'gpu-train', 'gpu-serve'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
    const teacher = await startTeacherServer({});
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
    const evalSet = exampleEvalSet();
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
              serve: { maxModelLen: 4096, extraArgs: ['--dtype', 'float32'] },
              settings: { maxTokens: 64 },
              solve: { maxModelCalls: 12, contextCapTokens: 4096 },
              heartbeatTimeoutSeconds: 8,
            },
          }
        : {}),
    });

    log('undisturbed run…');
    let started = Date.now();
    const calm = await workflowResult<SpecializeResult>(
      await client.workflow.start('specializeRepository', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-run-${runId}-calm`,
        args: [config(teacher.url)],
      }),
    );
    const calmSeconds = (Date.now() - started) / 1000;
    log(`  ${calm.report.headline.at(-1)}`);

    // The disruptions, at seeded points within the part of the run the undisturbed one spent working.
    const disruptions = [
      ...ROLES.map((role) => `kill -9 the ${role} worker`),
      'restart the Temporal dev server',
      'restart the Docker engine',
    ].map((action) => ({ action, atSeconds: Math.round((0.05 + 0.75 * random.next()) * calmSeconds) }));
    disruptions.sort((a, b) => a.atSeconds - b.atSeconds);

    log('disturbed run…');
    started = Date.now();
    const storm = await client.workflow.start('specializeRepository', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}-storm`,
      args: [config(proxy.url)],
    });
    for (const { action, atSeconds } of disruptions) {
      await sleep(Math.max(0, started + atSeconds * 1000 - Date.now()));
      log(`  [${atSeconds} s] ${action}`);
      const role = ROLES.find((r) => action === `kill -9 the ${r} worker`);
      if (role) {
        await killRole(role);
        await startRole(role);
      } else if (action.includes('Temporal')) {
        await client.connection.close();
        stopDevServer(scratch);
        await sleep(1500);
        await ensureDevServer(server);
        client = await connectClient({ ...temporalSettingsFromEnv(), address: dev.address });
      } else {
        await engine.restart();
      }
    }
    const stormResult = await workflowResult<SpecializeResult>(client.workflow.getHandle(storm.workflowId));
    const stormSeconds = (Date.now() - started) / 1000;
    log(`  ${stormResult.report.headline.at(-1)}`);

    const comparisons = [
      compare(
        'samples (fate and patches of each)',
        await sampleOutcomes(store, calm.generation),
        await sampleOutcomes(store, stormResult.generation),
      ),
      compare('dataset bytes (artifact id)', calm.dataset?.dataset.id, stormResult.dataset?.dataset.id),
      compare('trained model (artifact id)', calm.training?.model, stormResult.training?.model),
    ];
    if (options.evaluate) {
      comparisons.push(
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
      actions: disruptions,
      comparisons,
      leftovers,
      proxy: { ...proxy.counts },
      calmSeconds,
      stormSeconds,
      ok: comparisons.every((c) => c.same) && leftovers.length === 0,
    };
  } finally {
    await client?.connection.close().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}
