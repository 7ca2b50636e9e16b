import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTrainingMemory } from '../../activities/train/memory-check';
import { memoryPlan } from '../../core/train/memory-plan';
import { KNOWN_SHAPES, parameterCount, shapeFromHfConfig, tinyShape } from '../../core/train/model-shape';
import { PRESETS, resolveTrainConfig, TINY_QWEN3, TrainConfigError } from '../../core/train/train-config';

const QWEN3_8B_CONFIG = {
  architectures: ['Qwen3ForCausalLM'],
  head_dim: 128,
  hidden_size: 4096,
  intermediate_size: 12288,
  model_type: 'qwen3',
  num_attention_heads: 32,
  num_hidden_layers: 36,
  num_key_value_heads: 8,
  tie_word_embeddings: false,
  vocab_size: 151936,
};

describe('parameter counts', () => {
  it('match the published sizes and the trainer’s own count', () => {
    // The trainer counted these two (docs/training.md): 19.8 M and 596 M.
    expect(parameterCount(tinyShape(TINY_QWEN3))).toBeCloseTo(19.8e6, -5);
    expect(parameterCount(KNOWN_SHAPES['Qwen/Qwen3-0.6B']!)).toBeCloseTo(596e6, -6);
    expect(parameterCount(KNOWN_SHAPES['Qwen/Qwen3-8B']!) / 1e9).toBeCloseTo(8.19, 2);
    expect(parameterCount(KNOWN_SHAPES['Qwen/Qwen3-32B']!) / 1e9).toBeCloseTo(32.76, 2);
  });

  it('a config.json gives the same shape; a config without those fields gives none', () => {
    expect(shapeFromHfConfig(QWEN3_8B_CONFIG)).toEqual(KNOWN_SHAPES['Qwen/Qwen3-8B']);
    expect(shapeFromHfConfig({ model_type: 'mystery' })).toBeUndefined();
  });
});

describe('the memory arithmetic against measured peaks', () => {
  // One H200, Qwen3-0.6B's shape, bf16, 1 × 2 on examples/sft-dataset.jsonl, whose longest line
  // is 4,323 tokens: peak allocated 20,440 MiB, and 11,451 MiB with gradient checkpointing.
  const shape = KNOWN_SHAPES['Qwen/Qwen3-0.6B']!;
  const recipe = {
    perDeviceBatchSize: 1,
    sequenceLength: 4323,
    dtype: 'bf16' as const,
    offloadOptimizer: false,
  };
  const plan = (gradientCheckpointing: boolean) =>
    memoryPlan(shape, {
      recipe: { ...recipe, gradientCheckpointing },
      distributed: 'none',
      gpus: 1,
      gpuMemoryGiB: 141,
    }).perGpuGiB * 1024;

  it('without gradient checkpointing: within 10 % of the measured peak', () => {
    expect(Math.abs(plan(false) - 20_440) / 20_440).toBeLessThan(0.1);
  });

  it('with gradient checkpointing: not below the measured peak, and at most 30 % above it', () => {
    expect(plan(true)).toBeGreaterThanOrEqual(11_451);
    expect(plan(true)).toBeLessThan(11_451 * 1.3);
  });
});

describe('a recipe that cannot fit is refused before it starts, with the arithmetic', () => {
  it('the paper preset fits one node of 8 GPUs of 80 GiB (32B with the optimizer state offloaded)', () => {
    const config = resolveTrainConfig({ preset: 'paper' });
    expect(config).toMatchObject({ model: 'Qwen/Qwen3-32B', gpus: 8, gpuMemoryGiB: 80 });
    expect(config.recipe.offloadOptimizer).toBe(true);
    expect(() =>
      resolveTrainConfig({ preset: 'paper', model: 'Qwen/Qwen3-8B', recipe: { offloadOptimizer: false } }),
    ).not.toThrow();
  });

  it('32B on 8 GPUs without offload is refused, naming every part of the sum', () => {
    const attempt = () => resolveTrainConfig({ preset: 'paper', recipe: { offloadOptimizer: false } });
    expect(attempt).toThrow(TrainConfigError);
    expect(attempt).toThrow(/Qwen\/Qwen3-32B .* 8 GPU\(s\) of 80 GiB cannot fit/);
    expect(attempt).toThrow(/model states 61 GiB \(32\.76 B parameters × 16 bytes/);
    expect(attempt).toThrow(/activations .* logits .* overhead .* does not fit in 80 GiB/);
    expect(attempt).toThrow(/recipe\.offloadOptimizer/);
    // The same recipe fits GPUs with more memory.
    expect(() =>
      resolveTrainConfig({ preset: 'paper', recipe: { offloadOptimizer: false }, gpuMemoryGiB: 141 }),
    ).not.toThrow();
  });

  it('a single GPU for the paper preset is refused; the tiny student fits the default GPU', () => {
    expect(() => resolveTrainConfig({ preset: 'paper', gpus: 1 })).toThrow(/does not fit in 80 GiB/);
    expect(resolveTrainConfig({}).model).toBe('tiny-qwen3');
  });

  it('offloading needs a sharded optimizer', () => {
    expect(() => resolveTrainConfig({ recipe: { offloadOptimizer: true } })).toThrow(
      /offloadOptimizer needs distributed zero3 or fsdp/,
    );
  });

  it('a model folder is sized from its config.json on the training host', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'sera-model-'));
    await writeFile(path.join(folder, 'config.json'), JSON.stringify(QWEN3_8B_CONFIG));
    const onOne = resolveTrainConfig({
      preset: 'paper',
      model: folder,
      gpus: 1,
      recipe: { offloadOptimizer: false },
    });
    await expect(checkTrainingMemory(onOne)).rejects.toThrow(/8\.19 B parameters .* does not fit in 80 GiB/);
    const onEight = resolveTrainConfig({
      preset: 'paper',
      model: folder,
      recipe: { offloadOptimizer: false },
    });
    const plan = await checkTrainingMemory(onEight);
    expect(plan?.fits).toBe(true);
    expect(plan?.parameters).toBe(parameterCount(KNOWN_SHAPES['Qwen/Qwen3-8B']!));
    // A folder without a config.json is left to the trainer, which names what is missing.
    expect(await checkTrainingMemory({ ...onEight, model: path.join(folder, 'nope') })).toBeUndefined();
  });

  it('the presets themselves are consistent', () => {
    expect(PRESETS.tiny.gpus).toBe(1);
    expect(PRESETS.paper.distributed).toBe('zero3');
  });
});
