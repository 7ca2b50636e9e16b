import { z } from 'zod';
import { stableJson } from '../lifecycle-stages';
import type { ResolvedTrainConfig } from './train-config';

/*
 * A training that stopped midway (its run failed or was cancelled) left its last checkpoint in the
 * artifact store. A later run that resumes the earlier one starts its training from that
 * checkpoint, but only when it trains the same thing: the same dataset, model and recipe on the
 * same number of processes. Anything else (a new seed, another learning rate, more GPUs) starts
 * at step 0, because the checkpoint's optimizer, scheduler and data order belong to the other.
 */

/** What must be equal for a checkpoint of one training to continue another. */
export function trainingIdentity(config: ResolvedTrainConfig, dataset: string): string {
  return stableJson({
    dataset,
    model: config.model,
    tinyModel: config.tinyModel ?? null,
    recipe: config.recipe,
    distributed: config.distributed,
    gpus: config.gpus,
  });
}

/** The record a training keeps of its last stored checkpoint (docs/formats.md, "Training checkpoint record"). */
export const CheckpointRecordSchema = z.object({
  /** The training workflow that stored it. */
  workflowId: z.string(),
  identity: z.string(),
  step: z.number().int().positive(),
  /** The checkpoint folder's manifest in the artifact store. */
  manifest: z.string(),
  writtenAt: z.string(),
});
export type CheckpointRecord = z.infer<typeof CheckpointRecordSchema>;

export type ContinueDecision =
  { continue: true; step: number; manifest: string } | { continue: false; reason: string };

/** Whether a training of `identity` may start from the earlier training's record, and why not. */
export function continueFrom(
  earlier: string,
  record: { value: unknown } | undefined,
  identity: string,
): ContinueDecision {
  if (!record) return { continue: false, reason: `${earlier} stored no checkpoint` };
  const parsed = CheckpointRecordSchema.safeParse(record.value);
  if (!parsed.success)
    return { continue: false, reason: `the checkpoint record of ${earlier} is not readable` };
  if (parsed.data.identity !== identity)
    return {
      continue: false,
      reason: `${earlier} trained another dataset, model, recipe or number of processes`,
    };
  return { continue: true, step: parsed.data.step, manifest: parsed.data.manifest };
}
