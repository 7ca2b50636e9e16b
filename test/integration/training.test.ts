import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityFailure, ApplicationFailure, CancelledFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { readFolderManifest } from '../../activities/train/folder-artifacts';
import { trainOnDataset } from '../../client/train-command';
import type { TrainStudentInput, TrainStudentResult } from '../../activities/train/train-student';
import { TaskQueues } from '../../core/queues';
import type { TrainConfigRequest } from '../../core/train/train-config';
import type { TrainReport } from '../../core/train/train-report';
import { freePort } from '../../infra/temporal-server';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir, qwen3TokenizerDir } from '../../infra/paths';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunResult } from '../../workflows/svg-run';
import type { TrainStudentStatus } from '../../workflows/train-student';
import { expectFaultsHit, killWhenBusy } from '../support/fault-evidence';
import { oneInstanceEvaluation, specializeExample } from '../support/specialize';
import { startWorkers, uniqueRunId, useTestServer, type RunningWorkers } from '../support/temporal';
import { folderOnDisk, trainerProcesses, trainerTool, trainProgress } from '../support/trainer';
import { startWorkerProcess, workerProcessEnv, type WorkerProcess } from '../support/worker-process';

const store = (): LocalArtifactStore => new LocalArtifactStore(artifactsDir());
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The tiny student, 12 steps, a checkpoint every 4: the same in every test, so weights compare. */
const TRAIN: TrainConfigRequest = {
  preset: 'tiny',
  recipe: { maxSteps: 12, saveSteps: 4, seed: 3 },
  heartbeatTimeoutSeconds: 8,
};

async function failureOf(promise: Promise<unknown>): Promise<WorkflowFailedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WorkflowFailedError) return error;
    throw error;
  }
  throw new Error('the workflow did not fail');
}

describe('SFT of the tiny student on a real exported dataset', () => {
  let workers: RunningWorkers;
  let trainWorkers: RunningWorkers | undefined;
  let teacher: TeacherServer;
  let run: SvgRunResult;
  let runId: string;
  let dataset: string;
  const processes: WorkerProcess[] = [];

  beforeAll(async () => {
    teacher = await startTeacherServer({ fidelity: 0.7 });
    // The run also evaluates its student: a gpu-serve worker with a port and directory of its own.
    process.env.SERA_SERVE_PORT = String(await freePort());
    process.env.SERA_SERVE_DIR = mkdtempSync(path.join(os.tmpdir(), 'sera-serve-'));
    workers = await startWorkers(['orchestration', 'sandbox', 'llm', 'gpu-serve'], {
      sandboxHostId: 'training-tests',
    });
    trainWorkers = await startWorkers(['gpu-train']);
    runId = uniqueRunId('train');
    run = await specializeExample(workers.client, runId, teacher.url, {
      samples: 8,
      concurrency: 4,
      seed: 11,
      dataset: { trajectories: 'T1+T2' },
      train: TRAIN,
      evaluate: oneInstanceEvaluation(teacher.url),
    });
    dataset = run.dataset!.artifact;
    await trainWorkers.stop();
    trainWorkers = undefined;
  }, 900_000);

  afterAll(async () => {
    delete process.env.SERA_SERVE_PORT;
    delete process.env.SERA_SERVE_DIR;
    for (const p of processes) p.child.kill('SIGKILL');
    await trainWorkers?.stop();
    await workers?.stop();
    await teacher?.close();
  });

  /** A gpu-train worker as its own process (what the kill test kills); started when none runs. */
  let trainProcess: WorkerProcess | undefined;
  async function trainWorkerProcess(): Promise<WorkerProcess> {
    if (!trainProcess || trainProcess.child.exitCode !== null || trainProcess.child.signalCode !== null) {
      useTestServer(); // sets the address and artifact directory the process inherits
      trainProcess = await startWorkerProcess(['gpu-train'], {
        ...workerProcessEnv('unused'),
        SERA_LOG_LEVEL: 'INFO',
        // Two "GPUs" on the CPU: this worker also takes the two-process trainings' size class.
        SERA_GPUS: '2',
      });
      processes.push(trainProcess);
    }
    return trainProcess;
  }

  const start = (workflowId: string, input: Partial<TrainStudentInput> = {}) =>
    workers.client.workflow.start('trainStudentModel', {
      taskQueue: TaskQueues.orchestration,
      workflowId,
      args: [{ runId, dataset, config: TRAIN, ...input }],
    });

  /** Waits for the training's heartbeat to pass `ready`. */
  async function progressUntil(
    workflowId: string,
    ready: (p: NonNullable<Awaited<ReturnType<typeof trainProgress>>>) => boolean,
  ) {
    let progress = await trainProgress(workers.client, workflowId);
    for (let i = 0; i < 480 && !(progress && ready(progress)); i += 1) {
      await sleep(500);
      progress = await trainProgress(workers.client, workflowId);
    }
    expect(progress && ready(progress)).toBe(true);
    return progress!;
  }
  /** No trainer process of this training is left within `tries` half-seconds. */
  async function noTrainerLeft(workflowId: string, tries = 30): Promise<void> {
    for (let i = 0; i < tries && trainerProcesses(workflowId).length > 0; i += 1) await sleep(500);
    expect(trainerProcesses(workflowId)).toEqual([]);
  }

  /** Starts a training, cancels it once past step 2, and returns what the cancel left. */
  async function cancelAfterStep2(workflowId: string, config: TrainConfigRequest) {
    const handle = await start(workflowId, { config });
    const before = await progressUntil(workflowId, (p) => p.step >= 2);
    await handle.cancel();
    const failure = await failureOf(handle.result());
    expect(failure.cause).toBeInstanceOf(CancelledFailure);
    const memo = (await handle.describe()).memo ?? {};
    const stoppedAtStep = memo.stoppedAtStep as number;
    expect(stoppedAtStep).toBeGreaterThanOrEqual(2);
    const checkpoint = await readFolderManifest(store(), memo.stoppedAtCheckpoint as string);
    expect(checkpoint.step).toBe(stoppedAtStep);
    return { before, stoppedAtStep, files: checkpoint.files.map((f) => f.path) };
  }

  it('runs after the dataset stage and lowers the loss on the training data', async () => {
    const training = run.training!;
    expect(training.steps).toBe(12);
    expect(training.samples).toBe(run.dataset!.lines);
    expect(training.lastLoss).toBeLessThan(training.firstLoss - 0.5);
    const report = JSON.parse((await store().get(training.report)).toString()) as TrainReport;
    expect(report.history.map((h) => h.step)).toEqual([...Array(12).keys()].map((i) => i + 1));
    expect(report.resumedFrom).toEqual([]);
    expect(report.tooLong).toEqual([]);
    // Warm-up then cosine decay: the peak is the configured rate, the last step far below it.
    const rates = report.history.map((h) => h.learning_rate ?? 0);
    expect(Math.max(...rates)).toBeCloseTo(1e-3, 6);
    expect(rates[rates.length - 1]).toBeLessThan(2e-4);
    const memo = (await workers.client.workflow.getHandle(training.workflowId).describe()).memo ?? {};
    expect(memo.modelArtifact).toBe(training.model);
    expect(Object.keys(memo.trainingCharts as object).sort()).toEqual(['learningRate', 'loss']);
  });

  it('then evaluates the student (served by vLLM) and the base model over 3 seeds, and compares them', async () => {
    const evaluation = run.evaluation!;
    expect(evaluation.base).toMatchObject({ modelName: TEACHER_MODEL, summary: { seeds: 3 } });
    expect(evaluation.student).toMatchObject({ modelName: `${runId}-student`, summary: { seeds: 3 } });
    expect(Object.keys(evaluation.student.predictions)).toEqual(['seed-0', 'seed-1', 'seed-2']);
    expect(evaluation.comparison?.headline).toMatch(
      /^[\w-]+-student − sera-offline-teacher: .*paired over 1 instances/,
    );
    const comparison = JSON.parse((await store().get(evaluation.comparison!.artifact)).toString('utf8')) as {
      instances: number;
    };
    expect(comparison.instances).toBe(1);
    const memo = (await workers.client.workflow.getHandle(`sera-run-${runId}`).describe()).memo ?? {};
    expect(memo.evaluationStudent).toBe(evaluation.student.headline);
    expect(memo.comparison).toBe(evaluation.comparison!.headline);
  });

  it('stores a Hugging Face checkpoint that transformers loads and generates from with the chat template', async () => {
    const manifest = await readFolderManifest(store(), run.training!.model);
    const names = manifest.files.map((f) => f.path);
    for (const file of [
      'model.safetensors',
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'chat_template.jinja',
    ])
      expect(names).toContain(file);
    const answer = trainerTool<{ prompt: string; generated_tokens: number; architecture: string[] }>(
      'generate.py',
      [await folderOnDisk(run.training!.model), '--max-new-tokens', '8'],
    );
    expect(answer.architecture).toEqual(['Qwen3ForCausalLM']);
    expect(answer.prompt).toMatch(/<\|im_start\|>user\n.*<\|im_end\|>\n<\|im_start\|>assistant\n$/s);
    expect(answer.generated_tokens).toBeGreaterThan(0);
  });

  it('trains on exactly the assistant turns of a line', async () => {
    const file = `${await folderOnDisk(run.training!.model)}/../line.jsonl`;
    const first = (await store().get(dataset)).toString().split('\n')[0]!;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `${first}\n`);
    const line = JSON.parse(first) as { messages: Array<{ role: string; content: string; train: boolean }> };
    const shown = trainerTool<{ runs: string[] }>('show_trained.py', [qwen3TokenizerDir, file]);
    const assistantTurns = line.messages
      .filter((m) => m.role === 'assistant')
      .map((m) => `${m.content}<|im_end|>`);
    expect(assistantTurns.length).toBeGreaterThan(1);
    expect(shown.runs).toEqual(assistantTurns);
  });

  it('resumes from the last checkpoint after its worker is killed, to the same weights', async () => {
    const workflowId = `train-${uniqueRunId('kill')}`;
    let worker = await trainWorkerProcess();
    const handle = await start(workflowId);
    const progress = await progressUntil(workflowId, (p) => (p.checkpoint?.step ?? 0) >= 4);
    const killedAt = progress.checkpoint!.step;
    expect(killedAt).toBeGreaterThanOrEqual(4);
    expect(killedAt).toBeLessThan(12);
    // The training activity runs on the worker: the kill cuts it.
    const kill = await killWhenBusy(workers.client, workflowId, worker, 'gpu-train');
    // The trainer notices its worker is gone and stops on its own.
    await noTrainerLeft(workflowId, 20);

    worker = await trainWorkerProcess();
    const result = (await handle.result()) as TrainStudentResult;
    expect(worker.output()).toMatch(new RegExp(`training resumed at step ${killedAt} of 12`));
    expect(worker.output()).not.toMatch(/training started at step 0/);
    expect(result.resumedFrom).toEqual([killedAt]);
    expect(result.steps).toBe(12);
    await expectFaultsHit(workers.client, [workflowId], [kill]);
    const diff = trainerTool<{ max_abs_diff: number }>('compare_models.py', [
      await folderOnDisk(result.model),
      await folderOnDisk(run.training!.model),
    ]);
    console.info(
      `killed after the checkpoint at step ${killedAt}; weights differ by at most ${diff.max_abs_diff}`,
    );
    // Same seed, same data order, optimizer and scheduler state restored: equal to float rounding.
    expect(diff.max_abs_diff).toBeLessThanOrEqual(1e-5);
  }, 600_000);

  it('stops cleanly when cancelled: a checkpoint is left and no trainer process; a later training continues from it', async () => {
    const workflowId = `train-${uniqueRunId('cancel')}`;
    await trainWorkerProcess();
    const config = { ...TRAIN, recipe: { ...TRAIN.recipe, saveSteps: 100 } };
    const { before, stoppedAtStep, files } = await cancelAfterStep2(workflowId, config);
    expect(before.checkpoint).toBeUndefined(); // no periodic checkpoint yet: the one left is the stop's
    for (const file of ['model.safetensors', 'optimizer.pt', 'scheduler.pt', 'trainer_state.json'])
      expect(files).toContain(file);
    expect(trainerProcesses(workflowId)).toEqual([]);

    // A later training of the same dataset and config that names it goes on from that checkpoint
    // (here through the CLI's train --continue-from); one with another recipe starts at step 0.
    const configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sera-train-')), 'train.json');
    writeFileSync(configFile, JSON.stringify(config));
    const cli = { dataset, config: configFile };
    await expect(
      trainOnDataset(workers.client, useTestServer(), runId, { ...cli, continueFrom: 'no-such-training' }),
    ).rejects.toThrow('--continue-from no-such-training: no such workflow');
    await expect(
      trainOnDataset(workers.client, useTestServer(), runId, { ...cli, continueFrom: `sera-run-${runId}` }),
    ).rejects.toThrow(/a \w+ workflow, not a training/);
    const continued = await trainOnDataset(workers.client, useTestServer(), runId, {
      ...cli,
      continueFrom: workflowId,
    });
    expect(continued.resumedFrom).toEqual([stoppedAtStep]);
    expect(continued.steps).toBe(12);
    const other = (await (
      await start(`train-${uniqueRunId('cont')}`, {
        config: { ...config, recipe: { ...config.recipe, maxSteps: 2, seed: 4 } },
        continueFrom: workflowId,
      })
    ).result()) as TrainStudentResult;
    expect(other.resumedFrom).toEqual([]);
    expect(trainProcess!.output()).toMatch(
      new RegExp(`continuing the training of ${workflowId} from its checkpoint at step ${stoppedAtStep}`),
    );
    expect(trainProcess!.output()).toMatch(
      new RegExp(`training starts at step 0: ${workflowId} trained another dataset, model, recipe`),
    );
  }, 600_000);

  describe('two trainer processes under torchrun (gloo on the CPU)', () => {
    const TWO: TrainConfigRequest = {
      ...TRAIN,
      gpus: 2,
      recipe: { maxSteps: 8, saveSteps: 2, seed: 3, gradientAccumulationSteps: 1 },
    };
    it('a killed worker takes torchrun and both ranks with it; the retry resumes from the last checkpoint', async () => {
      const workflowId = `train-${uniqueRunId('kill2')}`;
      let worker = await trainWorkerProcess();
      // Slow steps and no log lines between checkpoints: after the kill, nothing but the ranks'
      // watch on the worker ends them before the next checkpoint (two 9 s steps later).
      const handle = await start(workflowId, {
        config: {
          ...TWO,
          recipe: { ...TWO.recipe, maxSteps: 6, gradientAccumulationSteps: 3, loggingSteps: 100 },
        },
      });
      const progress = await progressUntil(workflowId, (p) => (p.checkpoint?.step ?? 0) >= 2);
      // torchrun and its two ranks, all naming this attempt's job file.
      expect(trainerProcesses(workflowId).length).toBeGreaterThanOrEqual(3);
      const killedAt = progress.checkpoint!.step;
      expect(killedAt).toBeLessThan(6);
      const kill = await killWhenBusy(workers.client, workflowId, worker, 'gpu-train');
      await noTrainerLeft(workflowId, 16);

      worker = await trainWorkerProcess();
      const result = (await handle.result()) as TrainStudentResult;
      expect(result.resumedFrom?.[0]).toBeGreaterThanOrEqual(killedAt);
      expect(result.steps).toBe(6);
      expect(worker.output()).toMatch(/training resumed at step \d+ of 6/);
      await expectFaultsHit(workers.client, [workflowId], [kill]);
      const report = JSON.parse((await store().get(result.report.id)).toString()) as TrainReport;
      expect(report.gpus).toBe(2);
    }, 600_000);

    it('a cancel stops both ranks at one step, after a last checkpoint', async () => {
      const workflowId = `train-${uniqueRunId('cancel2')}`;
      await trainWorkerProcess();
      const { files } = await cancelAfterStep2(workflowId, {
        ...TWO,
        recipe: { ...TWO.recipe, maxSteps: 40, saveSteps: 100 },
      });
      expect(files).toContain('model.safetensors');
      await noTrainerLeft(workflowId);
    }, 300_000);

    it('two DDP ranks follow one process’s loss curve for the same global batch', async () => {
      await trainWorkerProcess();
      const recipe = { maxSteps: 4, saveSteps: 100, loggingSteps: 1, seed: 3 };
      // 1 process × 4 accumulated samples against 2 ranks × 2: the same samples each step.
      const [one, two] = await Promise.all(
        [
          { gpus: 1, recipe: { ...recipe, gradientAccumulationSteps: 4 } },
          { gpus: 2, recipe: { ...recipe, gradientAccumulationSteps: 2 } },
        ].map(async (config) => {
          const handle = await start(`train-${uniqueRunId(`curve${config.gpus}`)}`, {
            config: { ...TRAIN, ...config },
          });
          const result = (await handle.result()) as TrainStudentResult;
          return JSON.parse((await store().get(result.report.id)).toString()) as TrainReport;
        }),
      );
      expect(one!.sharding).toBe('none');
      expect(two!.sharding).toBe('ddp');
      // Both reached the one 2-GPU worker at once (its 1- and 2-GPU queues): one waited for the
      // other's GPUs.
      expect(trainProcess!.output()).toMatch(
        /waiting for [12] of this host's 2 GPU\(s\), taken by other trainings/,
      );
      // Each rank saw half the data: together, every sample of each step once.
      expect(two!.tokensSeen).toBe(one!.tokensSeen);
      expect(two!.history.map((h) => h.step)).toEqual([1, 2, 3, 4]);
      two!.history.forEach((entry, i) => {
        // Stated tolerance: 1e-5 relative (fp32; gloo sums the gradients in another order).
        expect(Math.abs(entry.loss - one!.history[i]!.loss) / one!.history[i]!.loss).toBeLessThan(1e-5);
      });
    }, 300_000);

    it('FSDP on a host without CUDA is refused, not run as DDP under its name', async () => {
      await trainWorkerProcess();
      const handle = await start(`train-${uniqueRunId('fsdp-cpu')}`, {
        config: { ...TWO, distributed: 'fsdp', recipe: { ...TWO.recipe, dtype: 'bf16' } },
      });
      const cause = (await failureOf(handle.result())).cause;
      expect(cause).toBeInstanceOf(ActivityFailure);
      expect((cause as ActivityFailure).retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
      expect((cause as ActivityFailure).cause?.message).toMatch(
        /distributed fsdp needs CUDA GPUs; this host has none/,
      );
    }, 300_000);

    it('a model path that does not exist fails at once, reported by rank 0, not retried', async () => {
      await trainWorkerProcess();
      const handle = await start(`train-${uniqueRunId('bad2')}`, {
        config: { ...TWO, model: '/no/such/model' },
      });
      const failure = await failureOf(handle.result());
      const cause = failure.cause;
      expect(cause).toBeInstanceOf(ActivityFailure);
      expect((cause as ActivityFailure).retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
      expect((cause as ActivityFailure).cause?.message).toMatch(/\/no\/such\/model/);
    }, 300_000);
  });

  it('a training on more GPUs than any worker has waits on its size-class queue, then fails naming it', async () => {
    await trainWorkerProcess(); // a 2-GPU worker: not enough
    const handle = await start(`train-${uniqueRunId('nogpus')}`, {
      config: { ...TRAIN, gpus: 4, workerWaitSeconds: 6 },
    });
    expect(await handle.query<TrainStudentStatus>('progress')).toMatchObject({
      stage: 'training',
      queue: 'sera-gpu-train-4gpu',
      gpus: 4,
    });
    const failure = await failureOf(handle.result());
    expect(failure.cause).toBeInstanceOf(ApplicationFailure);
    expect(failure.cause?.message).toMatch(
      /no gpu-train worker with at least 4 GPU\(s\) took the training from task queue sera-gpu-train-4gpu within 6 s/,
    );
  }, 120_000);

  describe('bad input fails at once, naming what is wrong', () => {
    async function refused(input: Partial<TrainStudentInput>): Promise<string> {
      await trainWorkerProcess();
      const failure = await failureOf(start(`train-${uniqueRunId('bad')}`, input).then((h) => h.result()));
      const cause = failure.cause;
      if (cause instanceof ActivityFailure) {
        expect(cause.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
        expect(cause.cause).toBeInstanceOf(ApplicationFailure);
        return cause.cause!.message;
      }
      expect(cause).toBeInstanceOf(ApplicationFailure);
      return cause!.message;
    }
    const put = async (text: string): Promise<string> => (await store().put(text, 'application/x-ndjson')).id;

    it('a dataset that is not in the store', async () => {
      expect(await refused({ dataset: `sha256:${'0'.repeat(64)}` })).toMatch(
        /artifact sha256:0+ is not in the store/,
      );
    });
    it('an empty dataset', async () => {
      expect(await refused({ dataset: await put('\n') })).toMatch(/has no lines/);
    });
    it('a line that is not the export format', async () => {
      const bad = JSON.stringify({ messages: [{ role: 'robot', content: 'hi', train: true }] });
      expect(await refused({ dataset: await put(`${bad}\n`) })).toMatch(
        /dataset line 1 is not the export format: messages\[0\]\.role must be one of system, user, assistant/,
      );
    });
    it('an unknown preset field', async () => {
      const config = { preset: 'tiny', recipe: { learningRat: 0.1 } } as unknown as TrainConfigRequest;
      expect(await refused({ config })).toMatch(/recipe.*learningRat/);
    });
    it('a sequence length below the chat template overhead', async () => {
      const config = { ...TRAIN, recipe: { ...TRAIN.recipe, sequenceLength: 64 } };
      expect(await refused({ config })).toMatch(
        /sequence length 64 is smaller than the chat template's overhead/,
      );
    });
  });
});
