import { TINY_MODEL, type ResolvedTrainConfig } from './train-config';

/** The job file trainer/sft_train.py reads (docs/training.md): snake_case, as Python spells it. */
export interface TrainerJob {
  dataset: string;
  output_dir: string;
  model: { path: string } | { tiny: Record<string, number>; tokenizer: string };
  recipe: Record<string, unknown>;
  resume_from: string | null;
  deepspeed: string | null;
  /** Shard with PyTorch FSDP instead (one process per GPU under torchrun). */
  fsdp: boolean;
}

export interface JobPaths {
  dataset: string;
  outputDir: string;
  /** The Qwen3 tokenizer files the tiny student uses. */
  tokenizerDir: string;
  /** The checkpoint folder to resume from, if any. */
  resumeFrom?: string;
  /** The DeepSpeed config, when distributed is zero3. */
  deepspeedConfig?: string;
  fsdp?: boolean;
}

export function trainerJob(config: ResolvedTrainConfig, paths: JobPaths): TrainerJob {
  const r = config.recipe;
  const tiny = config.tinyModel;
  return {
    dataset: paths.dataset,
    output_dir: paths.outputDir,
    model:
      config.model === TINY_MODEL && tiny
        ? {
            tiny: {
              hidden_size: tiny.hiddenSize,
              intermediate_size: tiny.intermediateSize,
              layers: tiny.layers,
              heads: tiny.heads,
              kv_heads: tiny.kvHeads,
              head_dim: tiny.headDim,
              max_positions: tiny.maxPositions,
            },
            tokenizer: paths.tokenizerDir,
          }
        : { path: config.model },
    recipe: {
      epochs: r.epochs,
      max_steps: r.maxSteps,
      learning_rate: r.learningRate,
      scheduler: r.scheduler,
      warmup_ratio: r.warmupRatio,
      adam_beta1: r.adamBeta1,
      adam_beta2: r.adamBeta2,
      weight_decay: r.weightDecay,
      per_device_batch_size: r.perDeviceBatchSize,
      gradient_accumulation_steps: r.gradientAccumulationSteps,
      sequence_length: r.sequenceLength,
      dtype: r.dtype,
      gradient_checkpointing: r.gradientCheckpointing,
      offload_optimizer: r.offloadOptimizer,
      seed: r.seed,
      save_steps: r.saveSteps,
      logging_steps: r.loggingSteps,
    },
    resume_from: paths.resumeFrom ?? null,
    deepspeed: config.distributed === 'zero3' ? (paths.deepspeedConfig ?? null) : null,
    fsdp: config.distributed === 'fsdp',
  };
}
