import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MemoryPlan } from '../../core/train/memory-plan';
import { shapeFromHfConfig, type ModelShape } from '../../core/train/model-shape';
import { knownShape, refuseWhatCannotFit, type ResolvedTrainConfig } from '../../core/train/train-config';

/**
 * The memory arithmetic for the model this host would train, before any process starts: a model
 * folder is sized from its config.json (only this host can read it). Throws TrainConfigError with
 * the arithmetic when one GPU's share does not fit; undefined when the shape cannot be known.
 */
export async function checkTrainingMemory(config: ResolvedTrainConfig): Promise<MemoryPlan | undefined> {
  let shape: ModelShape | undefined = knownShape(config);
  if (!shape) {
    try {
      shape = shapeFromHfConfig(JSON.parse(await readFile(path.join(config.model, 'config.json'), 'utf8')));
    } catch {
      // Not a folder with a readable config.json (a hub id, or missing): the trainer says which.
      return undefined;
    }
  }
  return shape ? refuseWhatCannotFit(shape, config) : undefined;
}
