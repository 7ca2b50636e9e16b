import { z } from 'zod';
import { MAX_GPUS_PER_HOST } from '../gpu-queues';
import { describePlan, memoryPlan, type MemoryPlan } from './memory-plan';
import { KNOWN_SHAPES, tinyShape, type ModelShape } from './model-shape';

/** The training recipe: what the trainer does with the dataset. Every field is checked before anything starts. */
export const RecipeSchema = z.strictObject({
  epochs: z.number().int().positive(),
  /** Stop after this many optimizer steps even if epochs remain (null: run every epoch). */
  maxSteps: z.number().int().positive().nullable(),
  learningRate: z.number().positive().max(1),
  scheduler: z.enum(['cosine', 'linear', 'constant', 'constant_with_warmup']),
  /** Share of the steps spent warming the learning rate up, in [0, 1). */
  warmupRatio: z.number().min(0).lt(1),
  adamBeta1: z.number().min(0).lt(1),
  adamBeta2: z.number().min(0).lt(1),
  weightDecay: z.number().min(0),
  perDeviceBatchSize: z.number().int().positive(),
  gradientAccumulationSteps: z.number().int().positive(),
  /** Tokens per sample; a longer sample is skipped and reported, never cut. */
  sequenceLength: z.number().int().positive(),
  /** bf16 mixed precision on a GPU; fp32 on the CPU. */
  dtype: z.enum(['bf16', 'fp32']),
  gradientCheckpointing: z.boolean(),
  /** Keep the fp32 master weights and Adam's moments in host memory (ZeRO-3 or FSDP only). */
  offloadOptimizer: z.boolean(),
  seed: z.number().int().min(0),
  /** A checkpoint every this many steps: what a retry after a crash resumes from. */
  saveSteps: z.number().int().positive(),
  loggingSteps: z.number().int().positive(),
});
export type Recipe = z.output<typeof RecipeSchema>;

/** Qwen3's architecture at toy size, random weights: the student for a machine without weights. */
export const TinyQwen3Schema = z.strictObject({
  hiddenSize: z.number().int().positive(),
  intermediateSize: z.number().int().positive(),
  layers: z.number().int().positive(),
  heads: z.number().int().positive(),
  kvHeads: z.number().int().positive(),
  /** 64: the smallest head size vLLM's CPU attention kernels serve. */
  headDim: z.number().int().positive(),
  maxPositions: z.number().int().positive(),
});
export type TinyQwen3 = z.output<typeof TinyQwen3Schema>;

export const TINY_QWEN3: TinyQwen3 = {
  hiddenSize: 128,
  intermediateSize: 384,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  headDim: 64,
  maxPositions: 32_768,
};

/** The model name that means "build the tiny Qwen3 from its config". */
export const TINY_MODEL = 'tiny-qwen3';

export interface Preset {
  model: string;
  recipe: Recipe;
  distributed: Distributed;
  gpus: number;
  description: string;
}

export const DISTRIBUTED = ['none', 'zero3', 'fsdp'] as const;
export type Distributed = (typeof DISTRIBUTED)[number];

/**
 * The paper's recipe (SERA-SPEC "Training"): Qwen3-32B, 32K context, 3 epochs, 1e-5 cosine, ZeRO-3,
 * sized for one node of 8 GPUs of 80 GiB: 32B fits there only with the optimizer state in host
 * memory (docs/training.md has the arithmetic).
 */
const PAPER: Preset = {
  description: "the paper's recipe, for GPUs",
  model: 'Qwen/Qwen3-32B',
  distributed: 'zero3',
  gpus: 8,
  recipe: {
    epochs: 3,
    maxSteps: null,
    learningRate: 1e-5,
    scheduler: 'cosine',
    warmupRatio: 0.19,
    adamBeta1: 0.9,
    adamBeta2: 0.95,
    weightDecay: 0.01,
    perDeviceBatchSize: 1,
    gradientAccumulationSteps: 8,
    sequenceLength: 32_768,
    dtype: 'bf16',
    gradientCheckpointing: true,
    offloadOptimizer: true,
    seed: 0,
    saveSteps: 50,
    loggingSteps: 1,
  },
};

/**
 * The same recipe shape for a CPU and a random tiny Qwen3: a learning rate a random model learns
 * from in a few steps, fp32, small accumulation, frequent checkpoints.
 */
const TINY: Preset = {
  description: 'a tiny random Qwen3 on the CPU',
  model: TINY_MODEL,
  distributed: 'none',
  gpus: 1,
  recipe: {
    ...PAPER.recipe,
    learningRate: 1e-3,
    gradientAccumulationSteps: 2,
    dtype: 'fp32',
    gradientCheckpointing: false,
    offloadOptimizer: false,
    saveSteps: 10,
  },
};

export const PRESETS = { paper: PAPER, tiny: TINY } as const;
export type PresetName = keyof typeof PRESETS;

/** What a user writes: a preset, and any recipe fields that differ from it. */
export const TrainConfigSchema = z.strictObject({
  preset: z.enum(['paper', 'tiny']).default('tiny'),
  /** A local folder in Hugging Face layout, a hub id the GPU host can reach, or `tiny-qwen3`. Default: the preset's. */
  model: z.string().min(1).optional(),
  /** The tiny student's architecture, when model is tiny-qwen3. */
  tinyModel: TinyQwen3Schema.partial().optional(),
  recipe: RecipeSchema.partial().optional(),
  /** Multi-GPU sharding through accelerate (DeepSpeed ZeRO-3 or FSDP). Default: the preset's. */
  distributed: z.enum(DISTRIBUTED).optional(),
  /** GPUs the trainer runs on, for the launch and the cost estimate. Default: the preset's. */
  gpus: z.number().int().positive().optional(),
  /**
   * How long the training may wait for a gpu-train worker with enough GPUs to take it (each
   * attempt), before it fails saying which queue had none.
   */
  workerWaitSeconds: z.number().int().positive().default(86_400),
  /** Memory of one GPU: a recipe whose arithmetic does not fit is refused before it starts. */
  gpuMemoryGiB: z.number().positive().default(80),
  /** Price of one GPU-hour, for the report's cost estimate. */
  gpuHourUsd: z.number().min(0).default(2.5),
  /** A silent trainer counts as lost after this long; Temporal then retries it from the last checkpoint. */
  heartbeatTimeoutSeconds: z.number().int().min(5).max(3600).default(60),
  /** How many times a lost or crashed trainer is started again (bad input is never retried). */
  maxAttempts: z.number().int().positive().default(10),
});
export type TrainConfigRequest = z.input<typeof TrainConfigSchema>;

/** A config with its preset applied: everything the trainer needs, checked. */
export interface ResolvedTrainConfig {
  preset: PresetName;
  model: string;
  tinyModel?: TinyQwen3;
  recipe: Recipe;
  distributed: Distributed;
  gpus: number;
  gpuMemoryGiB: number;
  workerWaitSeconds: number;
  gpuHourUsd: number;
  heartbeatTimeoutSeconds: number;
  maxAttempts: number;
}

export class TrainConfigError extends Error {}

function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Applies the preset and checks the result; a TrainConfigError names every wrong field. */
export function resolveTrainConfig(request: unknown): ResolvedTrainConfig {
  const parsed = TrainConfigSchema.safeParse(request ?? {});
  if (!parsed.success)
    throw new TrainConfigError(`invalid training config: ${describeIssues(parsed.error, '')}`);
  const config = parsed.data;
  const preset = PRESETS[config.preset];
  const recipe = RecipeSchema.safeParse({ ...preset.recipe, ...config.recipe });
  if (!recipe.success)
    throw new TrainConfigError(
      `invalid training config: preset ${config.preset} with these changes: ${describeIssues(recipe.error, 'recipe')}`,
    );
  const model = config.model ?? preset.model;
  if (model !== TINY_MODEL && config.tinyModel)
    throw new TrainConfigError(
      `invalid training config: tinyModel is only for model ${TINY_MODEL}, not ${model}`,
    );
  const distributed = config.distributed ?? preset.distributed;
  if (distributed !== 'none' && recipe.data.dtype !== 'bf16')
    throw new TrainConfigError(`invalid training config: distributed ${distributed} needs dtype bf16`);
  const gpus = config.gpus ?? preset.gpus;
  if (gpus > MAX_GPUS_PER_HOST)
    throw new TrainConfigError(
      `invalid training config: gpus ${gpus} is more than one host holds (${MAX_GPUS_PER_HOST}); training across several hosts is not built yet`,
    );
  if (distributed === 'none' && recipe.data.offloadOptimizer)
    throw new TrainConfigError(
      'invalid training config: recipe.offloadOptimizer needs distributed zero3 or fsdp',
    );
  const resolved: ResolvedTrainConfig = {
    preset: config.preset,
    model,
    ...(model === TINY_MODEL ? { tinyModel: { ...TINY_QWEN3, ...config.tinyModel } } : {}),
    recipe: recipe.data,
    distributed,
    gpus,
    gpuMemoryGiB: config.gpuMemoryGiB,
    workerWaitSeconds: config.workerWaitSeconds,
    gpuHourUsd: config.gpuHourUsd,
    heartbeatTimeoutSeconds: config.heartbeatTimeoutSeconds,
    maxAttempts: config.maxAttempts,
  };
  const shape = knownShape(resolved);
  if (shape) refuseWhatCannotFit(shape, resolved);
  return resolved;
}

/** The model's shape when it is known without its files: the tiny student or a published hub id. */
export function knownShape(config: ResolvedTrainConfig): ModelShape | undefined {
  if (config.tinyModel) return tinyShape(config.tinyModel);
  return KNOWN_SHAPES[config.model];
}

/** Throws a TrainConfigError carrying the arithmetic when one GPU's share does not fit its memory. */
export function refuseWhatCannotFit(shape: ModelShape, config: ResolvedTrainConfig): MemoryPlan {
  const plan = memoryPlan(shape, config);
  if (!plan.fits)
    throw new TrainConfigError(
      `invalid training config: ${config.model} with this recipe on ${config.gpus} GPU(s) of ${config.gpuMemoryGiB} GiB cannot fit: ${describePlan(plan)}. Use more GPUs, distributed zero3 or fsdp, recipe.gradientCheckpointing, recipe.offloadOptimizer or a shorter recipe.sequenceLength`,
    );
  return plan;
}
