import { z } from 'zod';
import { ModelSettingsSchema, RolloutLimitsSchema } from './agent/rollout-input';
import { TEMPLATE_COUNT } from './agent/instructions';
import { PROMPT_STYLES } from './agent/prompts';
import { JUDGE_STYLES } from './agent/side-prompts';
import { DatasetConfigSchema } from './sft/dataset-config';
import { RunEvaluationSchema } from './eval/eval-input';
import { resolveTrainConfig, TrainConfigError, TrainConfigSchema } from './train/train-config';
import { RunIdSchema, SandboxLimitsSchema, describeIssues, type ParseResult } from './environment-input';
import { EnvironmentRecipeSchema, recipeInput, type ImageRecipe } from './environment-recipe';
import { LanguageSettingSchema, languageList, type SourceLanguage } from './language-setting';

/**
 * The repository's environment: how its image is built (start, packages, toolchains, setup,
 * variables) and, with `testCommand`, its own tests, run once in a sandbox before generation
 * (specializeRepository only). Generation, the environment check and the evaluation's grading of
 * this repository all use the image this recipe builds.
 */
export const RunEnvironmentSchema = EnvironmentRecipeSchema.extend({
  /** SVG runs no tests, so by default failing tests are reported and the run goes on. */
  requireTestsPass: z.boolean().default(false),
});

/** Which files the function index reads (monorepos): globs relative to the repository. */
export const IndexFilesSchema = z.strictObject({
  include: z.array(z.string().min(1)).min(1).optional(),
  exclude: z.array(z.string().min(1)).optional(),
});

/**
 * Where the SERA authors' pipeline and the spec differ, the authors' behaviour is the default and
 * the spec's a choice here (docs/teacher.md has the whole table).
 */
export const ScaffoldSchema = z.strictObject({
  /**
   * authors: the task message asks to read, reproduce with a script, edit, rerun and think of
   * edge cases, and the first submit asks to remove the scripts and revert test files;
   * spec: a one-line task message and a review that only shows the diff.
   */
  prompts: z.enum(PROMPT_STYLES).default('authors'),
  /**
   * authors: the judge reads rollout 1's task message and steps and says whether the final change
   * is a valid fix aligned with the task; spec: it reads the patch and says whether it is meaningful.
   */
  judge: z.enum(JUDGE_STYLES).default('authors'),
  /** Rollout 1 attempts while the judge says "no" (fresh container, newly drawn template); 1: a "no" ends the sample. */
  rollout1Attempts: z.number().int().min(1).max(10).default(3),
  /** PR-writer calls while its answer has no output tags. */
  prTries: z.number().int().min(1).max(20).default(10),
  /** Demonstration issues shown to the PR writer, drawn from the pool per sample. */
  prDemonstrations: z.number().int().min(1).max(20).default(1),
});
export type ScaffoldSettings = z.output<typeof ScaffoldSchema>;

/**
 * A specialization run's whole configuration: the JSON given to
 * `temporal workflow start --type specializeRepository --input-file run.json` (the whole
 * lifecycle), to `--type svgRun` (generation and what follows it, no environment check) or to
 * `sera-flow run run.json`.
 */
export const RunConfigSchema = z.strictObject({
  runId: RunIdSchema,
  repository: z.strictObject({
    /** A git repository on the sandbox hosts, or a URL git can clone. */
    path: z.string().min(1),
    commit: z.string().min(1),
  }),
  /** The language(s) whose functions are changed. Absent: detected from the repository's files. */
  language: LanguageSettingSchema.optional(),
  /** Only functions in these files (include / exclude globs). */
  index: IndexFilesSchema.optional(),
  teacher: ModelSettingsSchema,
  /** Samples to attempt (each: rollout 1, judge, PR, rollout 2, verification). */
  samples: z.number().int().positive().max(1_000_000),
  concurrency: z.number().int().min(1).max(256).default(4),
  seed: z.number().int().default(0),
  /** Soft-verification recall threshold: 1.0 is "hard-soft", specialization runs used 0.5. */
  threshold: z.number().min(0).max(1).default(1),
  /** Instruction templates to draw from: 0 is generic, 1–50 name a bug category. Default: all 51. */
  templates: z
    .array(
      z
        .number()
        .int()
        .min(0)
        .max(TEMPLATE_COUNT - 1),
    )
    .min(1)
    .default(Array.from({ length: TEMPLATE_COUNT }, (_, i) => i)),
  /** Issue texts that set the PR descriptions' style. Default: the built-in ones. */
  demonstrations: z.array(z.string().min(1)).min(1).optional(),
  /** Or a file of them on the llm workers: plain text, issues separated by a line of three dashes. */
  demonstrationsFile: z.string().min(1).optional(),
  /** A directory (on the llm workers) where the run writes its manifest: accepted and rejected samples with their records. */
  output: z.string().min(1).optional(),
  functionCap: z.number().int().positive().default(5000),
  rolloutLimits: RolloutLimitsSchema.prefault({}),
  sandboxLimits: SandboxLimitsSchema.prefault({}),
  budget: z
    .strictObject({
      maxTokens: z.number().int().positive().optional(),
      maxCostUsd: z.number().positive().optional(),
    })
    .prefault({}),
  /** Judge calls per sample before an unreadable answer rejects it. */
  judgeTries: z.number().int().min(1).max(10).default(3),
  /** The scaffold around the rollouts: the authors' pipeline by default, the spec's where chosen. */
  scaffold: ScaffoldSchema.prefault({}),
  /** Continue-as-new after starting this many samples (keeps histories small). */
  /**
   * Samples a segment of svgRun starts before it continues as new. A sample adds about 8 events and
   * 5 KB to the segment's history (10,000-sample benchmark: 1,532 events and 989 KB at most for
   * 200); 500 keeps a segment near 4,000 events and 2.5 MB, under a tenth of Temporal's 50,000
   * events and 50 MB. The server's continueAsNewSuggested ends a segment sooner.
   */
  samplesPerContinue: z.number().int().min(1).max(500).default(200),
  heartbeatTimeoutSeconds: z.number().int().min(2).default(30),
  /**
   * The workflow id of an earlier run of the same workflow type with the same settings: its
   * finished stages (specializeRepository) or finished samples (svgRun) are reused, not made again.
   */
  resumeFrom: z.string().min(1).max(200).optional(),
  environment: RunEnvironmentSchema.optional(),
  /** The dataset stage that follows generation (SERA's filters, truncation and SFT export). */
  dataset: DatasetConfigSchema.prefault({}),
  /** SFT of the student on the dataset (gpu-train workers). Absent: the run stops at the dataset. */
  train: TrainConfigSchema.optional(),
  /** Evaluation of the trained student, and of the base model for comparison. Needs `train`. */
  evaluate: RunEvaluationSchema.optional(),
});

export type RunConfigRequest = z.input<typeof RunConfigSchema>;
export type RunConfig = z.output<typeof RunConfigSchema>;

export function parseRunConfig(raw: unknown): ParseResult<RunConfig> {
  const result = RunConfigSchema.safeParse(raw);
  if (result.success) {
    if (result.data.evaluate && !result.data.train)
      return { ok: false, message: 'invalid run config: evaluate: needs train (the student to evaluate)' };
    // The training preset with its changes is checked now, not hours later when training starts.
    if (result.data.train) {
      try {
        resolveTrainConfig(result.data.train);
      } catch (error) {
        if (error instanceof TrainConfigError)
          return { ok: false, message: `invalid run config: train: ${error.message}` };
        throw error;
      }
    }
    return { ok: true, value: result.data };
  }
  return { ok: false, message: `invalid run config: ${describeIssues(result.error)}` };
}

/** The configured languages as a list; empty when the index is to detect them. */
export function configuredLanguages(config: Pick<RunConfig, 'language'>): SourceLanguage[] {
  return languageList(config.language);
}

/** The image recipe of a run, as activity and child inputs carry it (see recipeInput). */
export function imageRecipeInput(config: Pick<RunConfig, 'environment'>): { recipe?: ImageRecipe } {
  return recipeInput(config.environment);
}
