import { z } from 'zod';
import { MAX_GPUS_PER_HOST } from '../gpu-queues';
import { ModelSettingsSchema, RolloutLimitsSchema } from '../agent/rollout-input';
import { HostStartTimeoutSchema, RunIdSchema, SandboxLimitsSchema } from '../environment-input';
import { EnvironmentRecipeSchema } from '../environment-recipe';
import { LanguageSettingSchema } from '../language-setting';

/**
 * How to build and test one repository of the instances file (SWE-bench's per-repo "specs"): an
 * environment recipe (core/environment-recipe.ts), with the test command required.
 */
export const RepoEnvironmentSchema = EnvironmentRecipeSchema.extend({
  /** A git repository on the sandbox hosts (a local path or a URL) holding every base_commit. */
  path: z.string().min(1),
  /**
   * The repository's language(s), named in the solving agent's prompt as in the training data
   * ("a Go repository"). Absent: the prompt says "a repository".
   */
  language: LanguageSettingSchema.optional(),
  /** Run once in the fresh container after the patches are applied; empty for none. */
  installCommand: z.string().default(''),
  /** The test command; the runner's report flags (and, by scope, the test patch's files) are appended. */
  testCommand: z.string().min(1),
});
export type RepoEnvironment = z.output<typeof RepoEnvironmentSchema>;

/** A file on the worker hosts, or an artifact already in the store. */
export const FileSourceSchema = z.union([
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ artifact: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'an artifact id (sha256:…)') }).strict(),
]);
export type FileSource = z.output<typeof FileSourceSchema>;

const Common = {
  runId: RunIdSchema,
  instances: FileSourceSchema,
  /** Keyed by the instances' `repo` field. */
  environments: z.record(z.string(), RepoEnvironmentSchema),
  /** Only these instances, when given. */
  instanceIds: z.array(z.string().min(1)).optional(),
  /** Containers graded (or solved) at once. */
  concurrency: z.number().int().min(1).max(256).default(2),
  limits: SandboxLimitsSchema.prefault({}),
  heartbeatTimeoutSeconds: z.number().int().min(2).max(600).default(30),
};

/** Grades existing predictions (gold patches, another system's output) without solving. */
export const GradePredictionsInputSchema = z.strictObject({
  ...Common,
  /** A grading whose host's queue waits this long moves to another host (patch eval-moves-hosts). */
  hostStartTimeoutSeconds: HostStartTimeoutSchema,
  predictions: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/),
        /** A predictions file, or "gold" (the instances' own patches) or "empty" (no patch at all). */
        source: z.union([FileSourceSchema, z.enum(['gold', 'empty'])]),
      }),
    )
    .min(1),
});
export type GradePredictionsRequest = z.input<typeof GradePredictionsInputSchema>;
export type GradePredictionsInput = z.output<typeof GradePredictionsInputSchema>;

/** A checkpoint the gpu-serve queue serves for the evaluation's length. */
export const ServedCheckpointSchema = z.strictObject({
  checkpoint: FileSourceSchema,
  /** The model name the server answers to. */
  servedName: z.string().min(1).default('student'),
  maxModelLen: z.number().int().min(256).default(32_768),
  /** Extra engine flags, e.g. ["--dtype", "float32"] for a CPU. */
  extraArgs: z
    .array(z.string())
    .default([])
    .refine(
      (args) => !args.some((a) => a === '-tp' || a.startsWith('--tensor-parallel-size')),
      'set gpus instead of --tensor-parallel-size: it also routes the engine to a worker with that many GPUs',
    ),
  /** GPUs the engine spreads the model over (tensor parallelism); routes it to a worker that has them. */
  gpus: z.number().int().min(1).max(MAX_GPUS_PER_HOST).default(1),
  /** How long the engine may wait for a gpu-serve worker with enough GPUs (each attempt). */
  workerWaitSeconds: z.number().int().positive().default(86_400),
  /** How long the engine may take to answer its first health check. */
  startupTimeoutSeconds: z.number().int().positive().default(900),
  /** How soon a silent server (its worker gone) is started again elsewhere. */
  heartbeatTimeoutSeconds: z.number().int().min(5).max(600).default(60),
});
export type ServedCheckpoint = z.output<typeof ServedCheckpointSchema>;

export const EvaluationModelSchema = z.union([
  z.object({ endpoint: ModelSettingsSchema }).strict(),
  z.object({ serve: ServedCheckpointSchema, settings: ModelSettingsSchema.partial().prefault({}) }).strict(),
]);

export const EvaluateModelInputSchema = z.strictObject({
  ...Common,
  /** Names this model in predictions files (`model_name_or_path`) and reports. */
  modelName: z.string().min(1),
  model: EvaluationModelSchema,
  /** One solving run per seed; the spec asks for at least 3. */
  seeds: z
    .array(z.number().int().min(0))
    .min(3, 'at least 3 seeds: one seed cannot tell a result from noise')
    .refine((s) => new Set(s).size === s.length, 'seeds must differ'),
  /** Per-instance step and time limits of the agent. */
  solve: RolloutLimitsSchema.prefault({ maxModelCalls: 40, wallClockSeconds: 1800 }),
  /** A solving or grading task whose host's queue waits this long moves to another host (patch eval-moves-hosts). */
  hostStartTimeoutSeconds: HostStartTimeoutSchema,
});
export type EvaluateModelRequest = z.input<typeof EvaluateModelInputSchema>;
export type EvaluateModelInput = z.output<typeof EvaluateModelInputSchema>;

/** Builds an instances file from a git repository and a list of changes (`buildEvalSet`). */
export const BuildEvalSetInputSchema = z.strictObject({
  runId: RunIdSchema,
  repository: z.strictObject({
    /** A git repository on the sandbox hosts. */
    path: z.string().min(1),
    /** The instances' `repo` field, e.g. "owner/name". */
    name: z.string().min(1),
  }),
  /** Each change: the repository at `base`, changed up to `commit`. */
  pairs: z.array(z.strictObject({ base: z.string().min(1), commit: z.string().min(1) })).min(1),
  environment: RepoEnvironmentSchema.omit({ path: true }),
  concurrency: z.number().int().min(1).max(64).default(2),
  limits: SandboxLimitsSchema.prefault({}),
  heartbeatTimeoutSeconds: z.number().int().min(2).max(600).default(30),
  /** A build whose host's queue waits this long starts again on another host (patch eval-moves-hosts). */
  hostStartTimeoutSeconds: HostStartTimeoutSchema,
});
export type BuildEvalSetRequest = z.input<typeof BuildEvalSetInputSchema>;
export type BuildEvalSetInput = z.output<typeof BuildEvalSetInputSchema>;

/**
 * `evaluate` in a run config: after training, the student (served on gpu-serve) and, when given,
 * the base model (an endpoint) are evaluated on the same instances and seeds, then compared.
 */
export const RunEvaluationSchema = z.strictObject({
  ...Common,
  runId: RunIdSchema.optional(),
  seeds: EvaluateModelInputSchema.shape.seeds.default([0, 1, 2]),
  solve: RolloutLimitsSchema.prefault({ maxModelCalls: 40, wallClockSeconds: 1800 }),
  /** The model the student started from, as an OpenAI-compatible endpoint. */
  base: ModelSettingsSchema.optional(),
  /** How the student is served: everything but the checkpoint, which the training stage gives. */
  serve: ServedCheckpointSchema.omit({ checkpoint: true }).prefault({}),
  settings: ModelSettingsSchema.partial().prefault({}),
});
export type RunEvaluation = z.output<typeof RunEvaluationSchema>;
