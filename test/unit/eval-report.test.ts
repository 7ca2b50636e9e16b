import { describe, expect, it } from 'vitest';
import { absolutePaths } from '../../client/eval-commands';
import { EvaluateModelInputSchema, ServedCheckpointSchema } from '../../core/eval/eval-input';
import { buildEvalReport, compareReports, describeSummary } from '../../core/eval/eval-report';
import type { GradeRecord } from '../../core/eval/grading';
import { mapBounded } from '../../core/map-bounded';
import { vllmArgs } from '../../core/serve/engine-command';

const record = (instanceId: string, resolved: boolean): GradeRecord => ({
  instanceId,
  resolved,
  status: resolved ? 'resolved' : 'unresolved',
});

describe('evaluation report', () => {
  const ids = ['a', 'b', 'c', 'd'];
  const base = buildEvalReport('r', 'base', ids, [
    { name: 'seed-0', seed: 0, records: [record('a', true), record('b', false)] },
    { name: 'seed-1', seed: 1, records: [record('a', true), record('b', true)] },
    { name: 'seed-2', seed: 2, records: [record('a', false)] },
  ]);

  it('counts a missing record as unresolved and gives each instance its share of seeds', () => {
    expect(base.passes.map((p) => [p.resolved, p.total, p.rate])).toEqual([
      [1, 4, 0.25],
      [2, 4, 0.5],
      [0, 4, 0],
    ]);
    expect(base.perInstance).toEqual([
      { instanceId: 'a', resolvedBy: ['seed-0', 'seed-1'], rate: 2 / 3 },
      { instanceId: 'b', resolvedBy: ['seed-1'], rate: 1 / 3 },
      { instanceId: 'c', resolvedBy: [], rate: 0 },
      { instanceId: 'd', resolvedBy: [], rate: 0 },
    ]);
    expect(base.summary.mean).toBeCloseTo(0.25, 12);
    expect(base.summary.std).toBeCloseTo(0.25, 12);
    expect(describeSummary(base.summary)).toBe(
      '25.0 % ± 25.0 % (std over 3 seeds, stderr 14.4 %, SNR 1.00, not reliable: SNR < 2)',
    );
  });

  it('compares two models instance by instance', () => {
    const other = buildEvalReport('r', 'specialized', ids, [
      { name: 'seed-0', records: ids.map((i) => record(i, i !== 'd')) },
      { name: 'seed-1', records: ids.map((i) => record(i, i !== 'd')) },
      { name: 'seed-2', records: ids.map((i) => record(i, i === 'a' || i === 'c')) },
    ]);
    const c = compareReports(base, other);
    // per-instance differences: a 1 − 2/3, b 2/3 − 1/3, c 1 − 0, d 0
    expect(c.difference).toBeCloseTo((1 / 3 + 1 / 3 + 1 + 0) / 4, 12);
    expect(c).toMatchObject({ a: 'base', b: 'specialized', instances: 4, bBetter: 3, aBetter: 0 });
  });
});

describe('evaluation input and helpers', () => {
  it('needs at least 3 different seeds', () => {
    const base = {
      runId: 'r',
      modelName: 'm',
      model: { endpoint: { baseUrl: 'http://127.0.0.1:1/v1', model: 'x' } },
      instances: { path: '/x.jsonl' },
      environments: { 'o/r': { path: '/repo', testCommand: 'pytest' } },
    };
    expect(EvaluateModelInputSchema.safeParse({ ...base, seeds: [0, 1, 2] }).success).toBe(true);
    expect(EvaluateModelInputSchema.safeParse({ ...base, seeds: [0, 1] }).success).toBe(false);
    expect(EvaluateModelInputSchema.safeParse({ ...base, seeds: [0, 0, 1] }).success).toBe(false);
  });

  it('serves with the hermes tool parser, the context length and the seed', () => {
    const args = vllmArgs({
      modelDir: '/m',
      servedName: 'student',
      host: '127.0.0.1',
      port: 8500,
      maxModelLen: 32768,
      seed: 7,
      gpus: 1,
      extraArgs: ['--dtype', 'float32'],
    });
    expect(args.join(' ')).toBe(
      '-m vllm.entrypoints.openai.api_server --model /m --served-model-name student --host 127.0.0.1 --port 8500 --enable-auto-tool-choice --tool-call-parser hermes --max-model-len 32768 --seed 7 --dtype float32',
    );
  });

  it('spreads a model over its GPUs with tensor parallelism; the flag itself is refused in extraArgs', () => {
    const args = vllmArgs({
      modelDir: '/m',
      servedName: 'student',
      host: '0.0.0.0',
      port: 8501,
      maxModelLen: 32768,
      seed: 0,
      gpus: 4,
      extraArgs: [],
    });
    expect(args.join(' ')).toMatch(/--seed 0 --tensor-parallel-size 4$/);
    const served = (serve: Record<string, unknown>) =>
      ServedCheckpointSchema.safeParse({ checkpoint: { path: '/m' }, ...serve });
    expect(served({}).data).toMatchObject({ gpus: 1, workerWaitSeconds: 86_400 });
    expect(served({ extraArgs: ['--tensor-parallel-size', '2'] }).error?.issues[0]?.message).toMatch(
      /set gpus instead of --tensor-parallel-size/,
    );
    expect(served({ gpus: 16 }).success).toBe(false);
  });

  it('makes a config file’s paths absolute, relative to the file, and leaves URLs alone', () => {
    const out = absolutePaths(
      {
        instances: { path: 'set.jsonl' },
        environments: { 'o/r': { path: '../repo', testCommand: 't' }, 'o/s': { path: 'https://host/x.git' } },
        predictions: [
          { name: 'p', source: { path: 'p.jsonl' } },
          { name: 'g', source: 'gold' },
        ],
        model: { serve: { checkpoint: { path: 'model' } } },
      },
      '/cfg/dir',
    );
    expect(out).toEqual({
      instances: { path: '/cfg/dir/set.jsonl' },
      environments: { 'o/r': { path: '/cfg/repo', testCommand: 't' }, 'o/s': { path: 'https://host/x.git' } },
      predictions: [
        { name: 'p', source: { path: '/cfg/dir/p.jsonl' } },
        { name: 'g', source: 'gold' },
      ],
      model: { serve: { checkpoint: { path: '/cfg/dir/model' } } },
    });
  });

  it('mapBounded keeps at most `limit` calls in flight and the results in order', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, n * 3));
      inFlight -= 1;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });
});
