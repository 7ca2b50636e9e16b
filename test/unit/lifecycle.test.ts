import { describe, expect, it } from 'vitest';
import {
  buildLifecycleReport,
  formatDuration,
  lifecycleCharts,
  lifecycleMarkdown,
} from '../../core/lifecycle-report';
import {
  baseEvaluationKey,
  datasetKey,
  generationKey,
  reusableStage,
  stableJson,
  studentEvaluationKey,
  trainingKey,
  unfinishedGeneration,
  type StageRecord,
} from '../../core/lifecycle-stages';
import { parseRunConfig, type RunConfig, type RunConfigRequest } from '../../core/run-config';

const request: RunConfigRequest = {
  runId: 'r1',
  repository: { path: '/src/repo', commit: 'main' },
  teacher: { baseUrl: 'http://127.0.0.1:8400/v1', model: 'm' },
  samples: 10,
  train: { preset: 'tiny' },
  evaluate: {
    instances: { path: '/sets/x.jsonl' },
    environments: { 'o/r': { path: '/src/r', testCommand: 'pytest' } },
    base: { baseUrl: 'http://h/v1', model: 'base' },
  },
};

function parsed(changes: Partial<RunConfigRequest> = {}): RunConfig {
  const result = parseRunConfig({ ...request, ...changes });
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

describe('stage keys', () => {
  it('write equal settings the same way whatever their key order', () => {
    expect(stableJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"e":3,"f":2}]},"b":1}',
    );
  });

  it('change the generation key with what changes the samples, not with how they are made', () => {
    const key = generationKey(parsed());
    expect(generationKey(parsed({ concurrency: 17, output: '/out', samplesPerContinue: 5 }))).toBe(key);
    expect(generationKey(parsed({ seed: 1 }))).not.toBe(key);
    expect(generationKey(parsed({ samples: 11 }))).not.toBe(key);
    expect(
      generationKey(parsed({ teacher: { baseUrl: 'http://127.0.0.1:8400/v1', model: 'other' } })),
    ).not.toBe(key);
  });

  it('chain the later stages through the artifacts they read', () => {
    const config = parsed();
    expect(datasetKey(config, ['sha256:a'])).not.toBe(datasetKey(config, ['sha256:b']));
    expect(trainingKey(config, 'sha256:d1')).not.toBe(trainingKey(config, 'sha256:d2'));
    expect(studentEvaluationKey(config, 'sha256:m1')).not.toBe(studentEvaluationKey(config, 'sha256:m2'));
    expect(trainingKey(parsed({ train: { preset: 'tiny', recipe: { maxSteps: 3 } } }), 'sha256:d1')).not.toBe(
      trainingKey(config, 'sha256:d1'),
    );
  });

  it('keep the base model’s evaluation when only how the student is served changes', () => {
    const served = parsed({ evaluate: { ...request.evaluate!, serve: { maxModelLen: 2048 } } });
    expect(baseEvaluationKey(served)).toBe(baseEvaluationKey(parsed()));
    expect(studentEvaluationKey(served, 'sha256:m')).not.toBe(studentEvaluationKey(parsed(), 'sha256:m'));
    const otherSeeds = parsed({ evaluate: { ...request.evaluate!, seeds: [4, 5, 6] } });
    expect(baseEvaluationKey(otherSeeds)).not.toBe(baseEvaluationKey(parsed()));
  });
});

describe('reusing an earlier run’s stages', () => {
  const record = (stage: StageRecord['stage'], status: StageRecord['status'], key: string): StageRecord => ({
    stage,
    status,
    key,
    workflowId: `w-${stage}`,
    seconds: 3,
    result: { stage },
  });
  const earlier = [
    record('environment', 'finished', 'k-env'),
    record('generation', 'started', 'k-gen'),
    record('dataset', 'reused', 'k-data'),
  ];

  it('takes a finished or reused stage only when its key is the same', () => {
    expect(reusableStage(earlier, 'environment', 'k-env')?.result).toEqual({ stage: 'environment' });
    expect(reusableStage(earlier, 'environment', 'k-other')).toBeUndefined();
    expect(reusableStage(earlier, 'dataset', 'k-data')?.workflowId).toBe('w-dataset');
    expect(reusableStage(earlier, 'generation', 'k-gen')).toBeUndefined();
    expect(reusableStage(undefined, 'environment', 'k-env')).toBeUndefined();
  });

  it('finds an unfinished generation with the same settings, whose samples can be taken', () => {
    expect(unfinishedGeneration(earlier, 'k-gen')?.workflowId).toBe('w-generation');
    expect(unfinishedGeneration(earlier, 'k-other')).toBeUndefined();
  });
});

describe('the final report', () => {
  const summary = (mean: number, std: number) => ({
    seeds: 3,
    mean,
    std,
    stderr: std / Math.sqrt(3),
    snr: std > 0 ? mean / std : null,
    reliable: std > 0 && mean / std >= 2,
  });
  const report = buildLifecycleReport({
    runId: 'r1',
    workflowId: 'sera-run-r1',
    stages: [
      { stage: 'environment', status: 'reused', seconds: 12, workflowId: 'old-env' },
      { stage: 'generation', status: 'finished', seconds: 120, workflowId: 'w-svg' },
      { stage: 'training', status: 'finished', seconds: 30, workflowId: 'w-train' },
    ],
    environment: { passed: true, tests: '663 passed', image: 'img', commit: '0123456789abcdef' },
    generation: {
      status: 'completed',
      samples: 20,
      finished: 20,
      reused: 4,
      accepted: 9,
      rejectedByReason: {},
      tokens: 1000,
      costUsd: 0.5,
    },
    training: { steps: 6, samples: 9, firstLoss: 3, lastLoss: 1.5, costUsd: 0.25, model: 'sha256:m' },
    evaluation: {
      base: { modelName: 'base', summary: summary(0.2, 0.1) },
      student: { modelName: 's', summary: summary(0.4, 0) },
    },
  });

  it('counts the wall time and cost of the stages this run did', () => {
    expect(report.totalSeconds).toBe(150);
    expect(report.totalCostUsd).toBeCloseTo(0.75, 10);
    expect(report.headline).toContain('environment: tests pass (663 passed) at 0123456789ab');
    expect(report.headline).toContain(
      'generation: 20/20 samples (4 reused), 9 accepted, 1000 teacher tokens, $0.5000',
    );
    expect(report.headline.at(-1)).toBe(
      'wall time 2.5 min: environment reused, generation 2.0 min, training 30 s; cost about $0.75',
    );
  });

  it('shows a mixed dataset’s α and where its lines came from', () => {
    const mixed = buildLifecycleReport({
      ...report,
      dataset: {
        lines: 10,
        tokens: 5000,
        meanTruncationRatio: 1,
        mix: { alpha: 0.7, repository: 7, general: [{ name: 'general.jsonl', lines: 3 }] },
      },
    });
    expect(mixed.headline).toContain(
      'dataset: 10 lines, 5000 tokens, mean truncation ratio 1.000, mixed at α 0.7: 7 repository lines, 3 from general.jsonl',
    );
    expect(lifecycleMarkdown(mixed, {})).toContain(
      'mixed at α 0.7: 7 repository lines, 3 from general.jsonl',
    );
  });

  it('says how long in the unit a person reads', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(600)).toBe('10.0 min');
    expect(formatDuration(7200)).toBe('2.0 h');
  });

  it('draws the stage times and both models’ resolve rates, and lists the stages in report.md', () => {
    const charts = lifecycleCharts(report);
    expect(Object.keys(charts).sort()).toEqual(['resolveRates', 'stageSeconds']);
    expect(charts.stageSeconds).toContain('environment (reused)');
    expect(charts.resolveRates).toContain('base: 20.0 % ± 10.0 %');
    expect(charts.resolveRates).toContain('student: 40.0 % ± 0.0 %');
    const markdown = lifecycleMarkdown(report, { stageSeconds: 'sha256:c' });
    expect(markdown).toContain('| generation | finished | 2.0 min | `w-svg` |');
    expect(markdown).toContain('- stageSeconds: artifact `sha256:c`');
  });
});
