import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../core/environment-input';
import { parseRunConfig } from '../../core/run-config';
import { DatasetConfigSchema } from '../../core/sft/dataset-config';
import { resolveTrainConfig, TrainConfigSchema } from '../../core/train/train-config';

const minimal = {
  runId: 'r1',
  repository: { path: '/src/repo', commit: 'main' },
  teacher: { baseUrl: 'http://127.0.0.1:8400/v1', model: 'm' },
  samples: 10,
};

/** The message a rejected config gets, or "ok". */
function messageOf(raw: unknown): string {
  const parsed = parseRunConfig(raw);
  return parsed.ok ? 'ok' : parsed.message;
}

describe('configs reject keys they do not know, naming them', () => {
  it('the dataset settings', () => {
    const parsed = DatasetConfigSchema.safeParse({ trajectories: 'T1', sizee: 100 });
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(describeIssues(parsed.error)).toBe('(root): Unrecognized key: "sizee"');
    expect(messageOf({ ...minimal, dataset: { maxChangedLine: 10 } })).toContain(
      'dataset: Unrecognized key: "maxChangedLine"',
    );
  });

  it('the training settings, at every level', () => {
    expect(() => resolveTrainConfig({ modle: 'tiny-qwen3' })).toThrow('(root): Unrecognized key: "modle"');
    expect(() => resolveTrainConfig({ recipe: { epohcs: 2 } })).toThrow('recipe: Unrecognized key: "epohcs"');
    expect(() => resolveTrainConfig({ tinyModel: { layer: 2 } })).toThrow(
      'tinyModel: Unrecognized key: "layer"',
    );
    expect(messageOf({ ...minimal, train: { preset: 'tiny', step: 3 } })).toContain(
      'train: Unrecognized key: "step"',
    );
  });

  it('still take what they themselves made (a parsed config is parsed again by the workers)', () => {
    const dataset = DatasetConfigSchema.parse({ trajectories: 'T1+T2', size: 5 });
    expect(DatasetConfigSchema.parse(dataset)).toEqual(dataset);
    const train = TrainConfigSchema.parse({ preset: 'tiny', recipe: { maxSteps: 4 } });
    expect(resolveTrainConfig(train).recipe.maxSteps).toBe(4);
    const run = parseRunConfig({ ...minimal, dataset: { size: 5 }, train: { preset: 'tiny' } });
    expect(run.ok).toBe(true);
    if (run.ok) expect(messageOf(run.value)).toBe('ok');
  });
});
