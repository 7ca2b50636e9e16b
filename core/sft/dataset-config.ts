import { z } from 'zod';
import { DatasetMixSchema } from './dataset-mix';
import { ANSWER_TEXT_RULES } from './hermes-format';

/**
 * How a run's samples become SFT data (SERA's postprocessing). Every field has the paper's
 * default; `threshold` defaults to the run's own soft-verification threshold.
 */
export const DatasetConfigSchema = z.strictObject({
  /** Build the dataset when the run's generation ends. */
  build: z.boolean().default(true),
  /** T2: verified rollout-2 trajectories; T1: rollout-1 trajectories (unverified); or both. */
  trajectories: z.enum(['T2', 'T1', 'T1+T2']).default('T2'),
  /** Recall a T2 trajectory needs. Default: the run's threshold. */
  threshold: z.number().min(0).max(1).optional(),
  /** Added + deleted lines of the trajectory's own patch. */
  maxChangedLines: z.number().int().positive().default(40),
  /** Optional: mean tokens of a tool response (the paper's optional filter used 600). */
  maxAvgToolResponseTokens: z.number().int().positive().optional(),
  /** Context of the student: conversations are cut to fit this many tokens of its chat template. */
  maxTokens: z.number().int().min(512).max(1_048_576).default(32_768),
  /**
   * A reasoning teacher's visible text beside its thinking: dropped, as the authors' pipeline
   * does (`keep_only_think`), or kept after the `<think>` block.
   */
  answerText: z.enum(ANSWER_TEXT_RULES).default('drop-beside-reasoning'),
  /** Keep at most this many samples, highest truncation ratio first. Default: all that pass. */
  size: z.number().int().positive().optional(),
  /** The student the trainer configs name (any Qwen3 checkpoint: a hub id or a local path). */
  baseModel: z.string().min(1).default('Qwen/Qwen3-32B'),
  /**
   * General data mixed in (docs/dataset.md, "Mixing general data"): α of the lines from the
   * repository, the rest drawn from other datasets in the export format. Absent: repository only.
   */
  mix: DatasetMixSchema.optional(),
});

export type DatasetConfigRequest = z.input<typeof DatasetConfigSchema>;
export type DatasetConfig = z.output<typeof DatasetConfigSchema>;
