import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../core/run-config';
import { resolveTrainConfig, TrainConfigError } from '../../core/train/train-config';
import { parseTrainerLine, EVENT_PREFIX } from '../../core/train/trainer-events';
import { trainerJob } from '../../core/train/trainer-job';
import { estimateCostUsd, trainCharts } from '../../core/train/train-report';

const paths = { dataset: '/d.jsonl', outputDir: '/out', tokenizerDir: '/tok', deepspeedConfig: '/ds.json' };

describe('training presets', () => {
  it("the paper preset is the paper's recipe (SERA-SPEC, Training)", () => {
    const config = resolveTrainConfig({ preset: 'paper' });
    expect(config.model).toBe('Qwen/Qwen3-32B');
    expect(config.distributed).toBe('zero3');
    expect(config.recipe).toMatchObject({
      epochs: 3,
      learningRate: 1e-5,
      scheduler: 'cosine',
      adamBeta1: 0.9,
      adamBeta2: 0.95,
      weightDecay: 0.01,
      warmupRatio: 0.19,
      sequenceLength: 32_768,
      dtype: 'bf16',
    });
  });

  it('the tiny preset builds a Qwen3 with head size 64 on the CPU, and is the default', () => {
    const config = resolveTrainConfig(undefined);
    expect(config.preset).toBe('tiny');
    expect(config.model).toBe('tiny-qwen3');
    expect(config.tinyModel).toEqual({
      hiddenSize: 128,
      intermediateSize: 384,
      layers: 2,
      heads: 2,
      kvHeads: 1,
      headDim: 64,
      maxPositions: 32_768,
    });
    expect(config.recipe.dtype).toBe('fp32');
    expect(config.distributed).toBe('none');
  });

  it('changes apply over the preset and are checked with it', () => {
    const config = resolveTrainConfig({
      preset: 'paper',
      recipe: { epochs: 1, sequenceLength: 8192 },
      gpus: 8,
    });
    expect(config.recipe.epochs).toBe(1);
    expect(config.recipe.sequenceLength).toBe(8192);
    // The rest is the paper preset's.
    expect(config.recipe).toMatchObject({ learningRate: 1e-5, scheduler: 'cosine', warmupRatio: 0.19 });
    expect(config.gpus).toBe(8);
  });

  it.each([
    [{ preset: 'huge' }, /preset/],
    [{ recipe: { learningRat: 1e-5 } }, /recipe.*learningRat/],
    [{ recipe: { warmupRatio: 1 } }, /recipe\.warmupRatio/],
    [{ recipe: { epochs: 0 } }, /recipe\.epochs/],
    [{ recipe: { scheduler: 'exponential' } }, /recipe\.scheduler/],
    [{ tinyModel: { headDim: 64, depth: 3 } }, /tinyModel.*depth/],
    [{ model: '/models/qwen3-8b', tinyModel: { layers: 4 } }, /tinyModel is only for model tiny-qwen3/],
    [{ distributed: 'zero3' }, /distributed zero3 needs dtype bf16/],
    [{ colour: 'blue' }, /colour/],
  ])('refuses %j, naming the field', (request, message) => {
    expect(() => resolveTrainConfig(request)).toThrow(TrainConfigError);
    expect(() => resolveTrainConfig(request)).toThrow(message);
  });

  it('a run config with a wrong training recipe is refused before the run starts', () => {
    const base = {
      runId: 'r',
      repository: { path: '/r', commit: 'main' },
      teacher: { baseUrl: 'http://127.0.0.1:1/v1', model: 'm' },
      samples: 1,
    };
    const parsed = parseRunConfig({ ...base, train: { recipe: { epochs: -1 } } });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(/train\.recipe\.epochs/);
    // Fields that are each fine but wrong together are caught too, with the preset applied.
    const together = parseRunConfig({ ...base, train: { distributed: 'zero3' } });
    expect(together.ok).toBe(false);
    if (!together.ok) expect(together.message).toMatch(/train: .*distributed zero3 needs dtype bf16/);
    expect(parseRunConfig({ ...base, train: { preset: 'tiny' } }).ok).toBe(true);
    const without = parseRunConfig(base);
    expect(without.ok && without.value.train).toBeUndefined();
  });
});

describe('the trainer job file', () => {
  it('spells the recipe for Python and names the tiny model with its tokenizer', () => {
    const job = trainerJob(resolveTrainConfig({ recipe: { maxSteps: 5 } }), paths);
    expect(job.model).toEqual({
      tiny: {
        hidden_size: 128,
        intermediate_size: 384,
        layers: 2,
        heads: 2,
        kv_heads: 1,
        head_dim: 64,
        max_positions: 32_768,
      },
      tokenizer: '/tok',
    });
    expect(job.recipe).toMatchObject({
      max_steps: 5,
      learning_rate: 1e-3,
      warmup_ratio: 0.19,
      sequence_length: 32_768,
    });
    expect(job.deepspeed).toBeNull();
    expect(job.resume_from).toBeNull();
  });

  it('a model on disk is a path; ZeRO-3 names the DeepSpeed config; a resume names the checkpoint', () => {
    const job = trainerJob(resolveTrainConfig({ preset: 'paper', model: '/models/Qwen3-8B' }), {
      ...paths,
      resumeFrom: '/out/checkpoints/checkpoint-50',
    });
    expect(job.model).toEqual({ path: '/models/Qwen3-8B' });
    expect(job.deepspeed).toBe('/ds.json');
    expect(job.fsdp).toBe(false);
    expect(job.resume_from).toBe('/out/checkpoints/checkpoint-50');
    expect(trainerJob(resolveTrainConfig({ preset: 'paper', distributed: 'fsdp' }), paths)).toMatchObject({
      deepspeed: null,
      fsdp: true,
    });
  });
});

describe('trainer events', () => {
  it('reads prefixed JSON lines and ignores everything else', () => {
    const log = {
      event: 'log',
      step: 3,
      max_steps: 12,
      epoch: 0.5,
      loss: 9.5,
      learning_rate: 1e-3,
      tokens_seen: 100,
      tokens_per_s: 50,
    };
    expect(parseTrainerLine(`${EVENT_PREFIX}${JSON.stringify(log)}`)).toMatchObject({
      event: 'log',
      step: 3,
      loss: 9.5,
    });
    expect(parseTrainerLine("{'loss': '9.5'}")).toBeUndefined();
    expect(parseTrainerLine(`${EVENT_PREFIX}{not json`)).toBeUndefined();
    expect(
      parseTrainerLine(`${EVENT_PREFIX}${JSON.stringify({ event: 'log', step: 'three' })}`),
    ).toBeUndefined();
    expect(parseTrainerLine(`${EVENT_PREFIX}${JSON.stringify({ event: 'unknown' })}`)).toBeUndefined();
  });
});

describe('the training report', () => {
  it('estimates cost as wall hours times GPUs times the price', () => {
    expect(estimateCostUsd(7200, 8, 2.5)).toBeCloseTo(40);
    expect(estimateCostUsd(0, 8, 2.5)).toBe(0);
  });

  it('plots the loss curve and the learning-rate schedule', () => {
    const charts = trainCharts([
      { step: 1, loss: 12, learning_rate: 0 },
      { step: 2, loss: 10, learning_rate: 1e-3 },
    ]);
    expect(charts.loss).toContain('<svg');
    expect(charts.loss).toContain('Training loss');
    expect(charts.learningRate).toContain('Learning-rate schedule');
    expect(charts.loss.match(/<circle/g)).toHaveLength(2);
  });
});
