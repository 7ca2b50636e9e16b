import { describe, expect, it } from 'vitest';
import { continueFrom, trainingIdentity } from '../../core/train/continue-training';
import { resolveTrainConfig } from '../../core/train/train-config';

const tiny = resolveTrainConfig({ preset: 'tiny', recipe: { maxSteps: 12, seed: 3 } });
const DATASET = `sha256:${'a'.repeat(64)}`;
const record = (identity: string) => ({
  value: {
    workflowId: 'sera-run-x-train',
    identity,
    step: 8,
    manifest: `sha256:${'b'.repeat(64)}`,
    writtenAt: '2026-12-07T21:00:00.000Z',
  },
});

describe('continuing an earlier training from its last checkpoint', () => {
  it('continues when dataset, model, recipe and processes are the same', () => {
    const identity = trainingIdentity(tiny, DATASET);
    expect(continueFrom('sera-run-x-train', record(identity), identity)).toEqual({
      continue: true,
      step: 8,
      manifest: `sha256:${'b'.repeat(64)}`,
    });
  });

  it('ignores what does not change the training: heartbeat timeout, attempts, cost per GPU hour', () => {
    const other = resolveTrainConfig({
      preset: 'tiny',
      recipe: { maxSteps: 12, seed: 3 },
      heartbeatTimeoutSeconds: 30,
      maxAttempts: 2,
      gpuHourUsd: 9,
    });
    expect(trainingIdentity(other, DATASET)).toBe(trainingIdentity(tiny, DATASET));
  });

  it('starts at step 0 for another seed, dataset or number of processes, saying why', () => {
    const stored = record(trainingIdentity(tiny, DATASET));
    for (const identity of [
      trainingIdentity(resolveTrainConfig({ preset: 'tiny', recipe: { maxSteps: 12, seed: 4 } }), DATASET),
      trainingIdentity(tiny, `sha256:${'c'.repeat(64)}`),
      trainingIdentity({ ...tiny, gpus: 2 }, DATASET),
    ])
      expect(continueFrom('sera-run-x-train', stored, identity)).toEqual({
        continue: false,
        reason: 'sera-run-x-train trained another dataset, model, recipe or number of processes',
      });
  });

  it('starts at step 0 when the earlier training stored no checkpoint or an unreadable record', () => {
    const identity = trainingIdentity(tiny, DATASET);
    expect(continueFrom('sera-run-x-train', undefined, identity)).toEqual({
      continue: false,
      reason: 'sera-run-x-train stored no checkpoint',
    });
    expect(continueFrom('sera-run-x-train', { value: { step: 'eight' } }, identity)).toEqual({
      continue: false,
      reason: 'the checkpoint record of sera-run-x-train is not readable',
    });
  });
});
