import { describe, expect, it } from 'vitest';
import { capFunctions, isTestPath, planSample, type IndexedFunction } from '../../core/function-sampling';

const fns: IndexedFunction[] = Array.from({ length: 50 }, (_, i) => ({
  name: `f${i}`,
  file: `m${i % 5}.py`,
  line: i + 1,
}));

describe('function sampling', () => {
  it('recognizes test paths', () => {
    for (const p of [
      'tests/a.py',
      'pkg/test/x.py',
      'pkg/test_x.py',
      'a/b_test.py',
      'conftest.py',
      'src/testing/u.js',
    ]) {
      expect(isTestPath(p)).toBe(true);
    }
    for (const p of ['pkg/more.py', 'pkg/attest.py', 'latest/x.py']) expect(isTestPath(p)).toBe(false);
  });

  it('caps deterministically by seed', () => {
    expect(capFunctions(fns, 10, 1)).toEqual(capFunctions(fns, 10, 1));
    expect(capFunctions(fns, 10, 1)).not.toEqual(capFunctions(fns, 10, 2));
    expect(capFunctions(fns, 100, 1)).toHaveLength(50);
  });

  it('plans the same sample for the same seed and index', () => {
    expect(planSample(fns, [0, 13, 48], 7, 3)).toEqual(planSample(fns, [0, 13, 48], 7, 3));
    const templates = new Set(
      Array.from({ length: 40 }, (_, i) => planSample(fns, [0, 13, 48], 7, i).template),
    );
    expect([...templates].sort((a, b) => a - b)).toEqual([0, 13, 48]);
  });

  it('asks for every function once before any repeats', () => {
    const uses = (count: number, seed: number): Map<string, number> => {
      const counts = new Map<string, number>();
      for (let i = 0; i < count; i += 1) {
        const name = planSample(fns, [0], seed, i).function.name;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      return counts;
    };
    const once = uses(fns.length, 7);
    expect(once.size).toBe(fns.length);
    expect([...once.values()].every((n) => n === 1)).toBe(true);
    const twice = uses(2 * fns.length, 7);
    expect(twice.size).toBe(fns.length);
    expect([...twice.values()].every((n) => n === 2)).toBe(true);
  });

  it('orders the functions by seed, afresh for each pass', () => {
    const order = (seed: number, from: number): string[] =>
      Array.from({ length: fns.length }, (_, i) => planSample(fns, [0], seed, from + i).function.name);
    expect(order(7, 0)).toEqual(order(7, 0));
    expect(order(7, 0)).not.toEqual(order(8, 0));
    expect(order(7, 0)).not.toEqual(order(7, fns.length));
  });
});
