import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import {
  resolveTrainConfig,
  TrainConfigError,
  type ResolvedTrainConfig,
  type TrainConfigRequest,
} from '../../core/train/train-config';
import { parseTrainerLine, TrainerExit, type TrainerEvent } from '../../core/train/trainer-events';
import { trainerJob } from '../../core/train/trainer-job';
import { continueFrom, trainingIdentity } from '../../core/train/continue-training';
import { estimateCostUsd, trainCharts, type TrainReport } from '../../core/train/train-report';
import { describePlan, type MemoryPlan } from '../../core/train/memory-plan';
import { killGroup } from '../../infra/process-group';
import { qwen3TokenizerDir, trainerDir, trainerPython, trainWorkDir } from '../../infra/paths';
import { activityContext } from '../common/activity-context';
import { readCheckpointRecord, writeCheckpointRecord } from './checkpoint-record';
import { getFolder, putFolder } from './folder-artifacts';
import { GpuLease, type LeasedGpus } from '../common/gpu-lease';
import { checkTrainingMemory } from './memory-check';

export interface TrainStudentInput {
  runId: string;
  /** The exported dataset (JSONL) in the artifact store. */
  dataset: string;
  config: TrainConfigRequest;
  /** A directory on this worker to copy the model and report into (`<output>/<runId>/model/`). */
  output?: string;
  /**
   * The workflow id of an earlier training (of a run this one resumes): when it trained the same
   * dataset, model and recipe, this one starts from its last stored checkpoint, not from step 0.
   */
  continueFrom?: string;
}

export interface CheckpointRef {
  step: number;
  /** The checkpoint folder's manifest in the artifact store. */
  manifest: string;
}

/** The activity's heartbeat: how far training got, and what a retry resumes from. */
export interface TrainProgress {
  /** waiting: for this host's GPUs, taken by another training. */
  phase: 'waiting' | 'starting' | 'training' | 'saving' | 'stopping';
  step: number;
  plannedSteps?: number;
  epoch?: number;
  loss?: number;
  learningRate?: number;
  tokensPerSecond?: number;
  tokensSeen?: number;
  checkpoint?: CheckpointRef;
  /** Wall seconds of this attempt so far, and of the earlier ones: the report's time and cost cover them all. */
  elapsedSeconds: number;
  earlierSeconds: number;
  attempts: number;
  resumedFrom: number[];
}

export interface TrainStudentResult {
  runId: string;
  /** The trained model's folder manifest (Hugging Face layout: safetensors, config, tokenizer, chat template). */
  model: string;
  report: ArtifactRef;
  charts: Record<string, string>;
  steps: number;
  tokensSeen: number;
  samples: number;
  skippedTooLong: number;
  firstLoss: number;
  lastLoss: number;
  wallSeconds: number;
  costUsd: number;
  resumedFrom: number[];
  /** Where the model was copied, when an output directory was given. */
  directory?: string;
}

/** The last thing a cancelled training left: its final checkpoint. Travels as CancelledFailure details. */
export interface TrainStopped {
  checkpoint?: CheckpointRef;
  step: number;
}

/** How often a live trainer is heartbeated between its own events. */
const HEARTBEAT_EVERY_MS = 5_000;

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorTypes.InvalidInput, message, nonRetryable: true });
}

/**
 * SFT on the gpu-train queue: runs trainer/sft_train.py over the dataset, heartbeats its progress,
 * stores every checkpoint, and on a retry resumes from the last stored one. Cancellation (or a
 * worker shutting down) stops the trainer with a final checkpoint.
 */
export function createTrainActivities(deps: { artifacts: ArtifactStore; gpuIds?: readonly string[] }) {
  const { artifacts } = deps;
  // One lease per worker process, shared by the workers of every size-class queue it polls.
  const lease = new GpuLease(deps.gpuIds ?? ['0']);

  async function train(
    input: TrainStudentInput,
    config: ResolvedTrainConfig,
    memory: MemoryPlan | undefined,
    devices: string[],
  ): Promise<TrainStudentResult> {
    const ctx = activityContext();
    const log = ctx?.log;
    if (memory) log?.info(`memory per GPU: ${describePlan(memory)}`, { estimatedGpuGiB: memory.perGpuGiB });
    const previous = ctx?.info.heartbeatDetails as TrainProgress | undefined;
    const attemptStarted = Date.now();
    const progress: TrainProgress = {
      phase: 'starting',
      step: previous?.checkpoint?.step ?? 0,
      checkpoint: previous?.checkpoint,
      elapsedSeconds: 0,
      earlierSeconds: previous ? previous.earlierSeconds + previous.elapsedSeconds : 0,
      attempts: (previous?.attempts ?? 0) + 1,
      resumedFrom: previous?.resumedFrom ?? [],
    };
    const beat = (): void => {
      progress.elapsedSeconds = (Date.now() - attemptStarted) / 1000;
      ctx?.heartbeat({ ...progress });
    };

    // A fresh folder per attempt: whatever an earlier attempt left on this host is not trusted.
    const label = `${ctx?.info.workflowExecution?.workflowId ?? input.runId}-${ctx?.info.activityId ?? 'direct'}`;
    const work = path.join(trainWorkDir(), label.replace(/[^\w.-]/g, '_'));
    await rm(work, { recursive: true, force: true });
    await mkdir(path.join(work, 'checkpoints'), { recursive: true });
    const datasetFile = path.join(work, 'dataset.jsonl');
    await artifacts.getFile(input.dataset, datasetFile);

    const identity = trainingIdentity(config, input.dataset);
    if (!progress.checkpoint && input.continueFrom) {
      const earlier = continueFrom(
        input.continueFrom,
        await readCheckpointRecord(artifacts, input.continueFrom),
        identity,
      );
      if (earlier.continue) {
        progress.checkpoint = { step: earlier.step, manifest: earlier.manifest };
        progress.step = earlier.step;
        log?.info(
          `continuing the training of ${input.continueFrom} from its checkpoint at step ${earlier.step}`,
        );
      } else log?.info(`training starts at step 0: ${earlier.reason}`);
    }
    let resumeFrom: string | undefined;
    if (progress.checkpoint) {
      resumeFrom = path.join(work, 'checkpoints', `checkpoint-${progress.checkpoint.step}`);
      await getFolder(artifacts, progress.checkpoint.manifest, resumeFrom);
      progress.resumedFrom = [...progress.resumedFrom, progress.checkpoint.step];
      log?.info(`resuming training from the checkpoint at step ${progress.checkpoint.step}`, {
        step: progress.checkpoint.step,
      });
    }
    const jobFile = path.join(work, 'job.json');
    const job = trainerJob(config, {
      dataset: datasetFile,
      outputDir: work,
      tokenizerDir: qwen3TokenizerDir,
      resumeFrom,
      deepspeedConfig: path.join(trainerDir, 'configs', 'deepspeed-zero3.json'),
      fsdp: config.distributed === 'fsdp',
    });
    await writeFile(jobFile, JSON.stringify(job, null, 2));
    beat();

    const child = startTrainer(config, jobFile, devices);
    const stderrTail: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail.push(chunk.toString('utf8'));
      while (stderrTail.join('').length > 8192 && stderrTail.length > 1) stderrTail.shift();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );

    let started: Extract<TrainerEvent, { event: 'start' }> | undefined;
    let done: Extract<TrainerEvent, { event: 'done' }> | undefined;
    let failure: Extract<TrainerEvent, { event: 'error' }> | undefined;
    let stopped = false;
    const skipped: Array<{ id: string; tokens: number }> = [];
    const rates: number[] = [];
    // Checkpoints are stored one after another, while training goes on.
    let uploads: Promise<void> = Promise.resolve();
    const storeCheckpoint = (step: number, folder: string): void => {
      uploads = uploads.then(async () => {
        const manifest = await putFolder(artifacts, folder, 'checkpoint', step);
        progress.checkpoint = { step, manifest: manifest.id };
        // By name too, so a later run that resumes this one can continue from it.
        const workflowId = ctx?.info.workflowExecution?.workflowId;
        if (workflowId)
          await writeCheckpointRecord(artifacts, {
            workflowId,
            identity,
            step,
            manifest: manifest.id,
            writtenAt: new Date().toISOString(),
          });
        beat();
        log?.info(`checkpoint at step ${step} stored`, { step, manifest: manifest.id });
        await pruneCheckpoints(path.join(work, 'checkpoints'), step);
      });
    };

    const onEvent = (event: TrainerEvent): void => {
      switch (event.event) {
        case 'start':
          started = event;
          progress.phase = 'training';
          progress.plannedSteps = event.planned_steps;
          log?.info(
            event.resumed_from_step === null
              ? `training started at step 0: ${event.samples} samples, ${event.planned_steps} steps`
              : `training resumed at step ${event.resumed_from_step} of ${event.planned_steps}`,
            { resumedFromStep: event.resumed_from_step, samples: event.samples },
          );
          break;
        case 'log':
          Object.assign(progress, {
            step: event.step,
            epoch: event.epoch,
            loss: event.loss,
            learningRate: event.learning_rate ?? undefined,
            tokensPerSecond: event.tokens_per_s,
            tokensSeen: event.tokens_seen,
          });
          rates.push(event.tokens_per_s);
          break;
        case 'checkpoint':
          storeCheckpoint(event.step, event.dir);
          break;
        case 'skipped':
          skipped.push({ id: event.id, tokens: event.tokens });
          log?.warn(`dataset line ${event.id} skipped: ${event.tokens} tokens, ${event.reason}`);
          break;
        case 'stopped':
          stopped = true;
          break;
        case 'done':
          done = event;
          break;
        case 'error':
          failure = event;
          break;
      }
      beat();
    };
    const lines = createInterface({ input: child.stdout! });
    const linesClosed = new Promise<void>((resolve) => lines.once('close', resolve));
    lines.on('line', (line) => {
      const event = parseTrainerLine(line);
      if (event) onEvent(event);
    });

    const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
    const onCancel = (): void => {
      progress.phase = 'stopping';
      // Every rank (and torchrun) is told: they finish the step, checkpoint together and exit.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGTERM');
    };
    ctx?.cancellationSignal.addEventListener('abort', onCancel);
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    try {
      exit = await exited;
      await linesClosed;
      await uploads;
    } finally {
      clearInterval(timer);
      ctx?.cancellationSignal.removeEventListener('abort', onCancel);
      // Nothing of this attempt outlives it: torchrun's ranks included.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    }

    if (ctx?.cancellationSignal.aborted || stopped) {
      beat();
      const details: TrainStopped = {
        checkpoint: progress.checkpoint,
        step: progress.checkpoint?.step ?? 0,
      };
      log?.info(`training stopped; last checkpoint at step ${details.step}`, { ...details });
      throw new CancelledFailure('training cancelled; the last checkpoint is in the details', [details]);
    }
    // Under torchrun the exit status is torchrun's: rank 0's error event says it was bad input.
    if (exit.code === TrainerExit.badInput || failure?.kind === 'bad_input')
      throw invalid(failure?.message ?? `the trainer refused its input: ${stderrTail.join('').slice(-2000)}`);
    if (exit.code !== 0 || !done || !started) {
      throw ApplicationFailure.create({
        type: 'TrainerFailed',
        message: `the trainer exited with ${exit.signal ? `signal ${exit.signal}` : `status ${exit.code}`} at step ${progress.step}: ${stderrTail.join('').slice(-2000)}`,
      });
    }

    progress.phase = 'saving';
    beat();
    // training_args.bin pickles the run's own paths and times: the same weights would get another id.
    const model = await putFolder(artifacts, done.model_dir, 'model', done.step, ['training_args.bin']);
    const wallSeconds = progress.earlierSeconds + (Date.now() - attemptStarted) / 1000;
    log?.info(`training done at step ${done.step}; model stored`, { model: model.id });
    const history = done.history;
    const report: TrainReport = {
      runId: input.runId,
      preset: config.preset,
      model: config.model,
      distributed: config.distributed,
      recipe: config.recipe,
      device: started.device,
      gpus: config.gpus,
      parameters: started.parameters,
      lines: started.lines,
      samples: started.samples,
      tooLong: skipped,
      untrained: started.untrained,
      chatTemplateOverhead: started.chat_template_overhead,
      steps: done.step,
      tokensSeen: done.tokens_seen,
      trainedTokensPerEpoch: started.trained_tokens,
      wallSeconds,
      attempts: progress.attempts,
      resumedFrom: progress.resumedFrom,
      meanTokensPerSecond: rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : 0,
      ...(done.peak_rss_mb !== undefined ? { peakRssMb: done.peak_rss_mb } : {}),
      ...(typeof done.peak_gpu_mb === 'number' ? { peakGpuMb: done.peak_gpu_mb } : {}),
      ...(memory ? { estimatedGpuGiB: memory.perGpuGiB } : {}),
      ...(started.sharding ? { sharding: started.sharding } : {}),
      firstLoss: history[0]?.loss ?? done.train_loss,
      lastLoss: history[history.length - 1]?.loss ?? done.train_loss,
      gpuHourUsd: config.gpuHourUsd,
      costUsd: estimateCostUsd(wallSeconds, config.gpus, config.gpuHourUsd),
      history,
    };
    const charts = trainCharts(history);
    const reportRef = await artifacts.put(JSON.stringify(report, null, 2), 'application/json');
    const chartIds: Record<string, string> = {};
    for (const [name, svg] of Object.entries(charts))
      chartIds[name] = (await artifacts.put(svg, 'image/svg+xml')).id;

    let directory: string | undefined;
    if (input.output) {
      directory = path.join(input.output, input.runId, 'model');
      await rm(directory, { recursive: true, force: true });
      await cp(done.model_dir, directory, { recursive: true });
      await writeFile(path.join(directory, 'training-report.json'), JSON.stringify(report, null, 2));
      for (const [name, svg] of Object.entries(charts))
        await writeFile(path.join(directory, `training-${name}.svg`), svg);
    }
    await rm(work, { recursive: true, force: true });
    return {
      runId: input.runId,
      model: model.id,
      report: reportRef,
      charts: chartIds,
      steps: done.step,
      tokensSeen: done.tokens_seen,
      samples: started.samples,
      skippedTooLong: skipped.length,
      firstLoss: report.firstLoss,
      lastLoss: report.lastLoss,
      wallSeconds,
      costUsd: report.costUsd,
      resumedFrom: progress.resumedFrom,
      ...(directory ? { directory } : {}),
    };
  }

  return {
    async trainStudent(input: TrainStudentInput): Promise<TrainStudentResult> {
      let config: ResolvedTrainConfig;
      let memory: MemoryPlan | undefined;
      try {
        config = resolveTrainConfig(input.config);
        memory = await checkTrainingMemory(config);
      } catch (error) {
        if (error instanceof TrainConfigError) throw invalid(error.message);
        throw error;
      }
      const leased = await waitForGpus(lease, config.gpus);
      try {
        return await train(input, config, memory, leased.ids);
      } finally {
        leased.release();
      }
    },
  };
}

/**
 * Takes the GPUs the training needs from this host's lease, heartbeating while it waits. A
 * training larger than the host (a worker polling the wrong queue) is failed for another worker.
 */
async function waitForGpus(lease: GpuLease, gpus: number): Promise<LeasedGpus> {
  const ctx = activityContext();
  if (gpus > lease.total)
    throw ApplicationFailure.create({
      type: 'TooFewGpus',
      message: `this gpu-train worker has ${lease.total} GPU(s) (SERA_GPUS); the training needs ${gpus}`,
    });
  const now = lease.tryAcquire(gpus);
  if (now) return now;
  ctx?.log.info(`waiting for ${gpus} of this host's ${lease.total} GPU(s), taken by other trainings`);
  const beat = (): void => {
    const previous = ctx?.info.heartbeatDetails as TrainProgress | undefined;
    // Keep what a retry resumes from; only the phase says that this attempt waits.
    ctx?.heartbeat({ ...(previous ?? emptyProgress()), phase: 'waiting' });
  };
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  beat();
  try {
    return await lease.acquire(gpus, ctx?.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

function emptyProgress(): TrainProgress {
  return { phase: 'waiting', step: 0, elapsedSeconds: 0, earlierSeconds: 0, attempts: 0, resumedFrom: [] };
}

export type TrainActivities = ReturnType<typeof createTrainActivities>;

/** One process on one GPU (or the CPU); torchrun with a process per GPU otherwise. */
function startTrainer(config: ResolvedTrainConfig, jobFile: string, devices: string[]): ChildProcess {
  const script = path.join(trainerDir, 'sft_train.py');
  const args =
    config.gpus === 1
      ? [script, '--job', jobFile]
      : ['-m', 'torch.distributed.run', '--nproc_per_node', String(config.gpus), script, '--job', jobFile];
  return spawn(trainerPython(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: a cancel or the end of the attempt reaches every rank.
    detached: true,
    env: {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      SERA_EXIT_WITH_PARENT: '1',
      // Ranks under torchrun watch this worker, not torchrun: a killed worker takes them along.
      SERA_WATCH_PID: String(process.pid),
      TOKENIZERS_PARALLELISM: 'false',
      // The GPUs this worker leased to the training; other trainings on the host have their own.
      CUDA_VISIBLE_DEVICES: devices.join(','),
    },
  });
}

/** Keeps only the newest local checkpoint once an older one is safely stored. */
async function pruneCheckpoints(folder: string, keepStep: number): Promise<void> {
  for (const name of await readdir(folder)) {
    const step = Number(name.replace('checkpoint-', ''));
    if (name.startsWith('checkpoint-') && step < keepStep)
      await rm(path.join(folder, name), { recursive: true, force: true });
  }
}
