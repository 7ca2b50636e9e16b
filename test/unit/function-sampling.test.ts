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

  // The draws below are written out: a run resumed on another worker or version must pick the
  // same functions for the same seed. They were checked against a separate implementation of
  // FNV-1a, mulberry32 and Fisher–Yates (core/teacher/random.ts's documented algorithms).
  it('caps by seed, keeping file and line order', () => {
    const names = (list: IndexedFunction[]): string => list.map((f) => f.name).join(' ');
    expect(names(capFunctions(fns, 10, 1))).toBe('f40 f1 f31 f22 f42 f47 f3 f19 f34 f39');
    expect(names(capFunctions(fns, 10, 2))).toBe('f15 f30 f45 f11 f46 f27 f8 f28 f43 f44');
    // Under the cap: every function, sorted by file then line.
    const all = capFunctions(fns, 100, 1);
    expect(all).toHaveLength(50);
    expect(all.slice(0, 3)).toEqual([
      { name: 'f0', file: 'm0.py', line: 1 },
      { name: 'f5', file: 'm0.py', line: 6 },
      { name: 'f10', file: 'm0.py', line: 11 },
    ]);
  });

  it('plans a sample from its seed and index', () => {
    expect(planSample(fns, [0, 13, 48], 7, 3)).toEqual({
      index: 3,
      function: { name: 'f20', file: 'm0.py', line: 21 },
      template: 0,
    });
    expect(Array.from({ length: 10 }, (_, i) => planSample(fns, [0, 13, 48], 7, i).template)).toEqual([
      13, 48, 13, 0, 0, 48, 13, 48, 48, 0,
    ]);
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
    expect(order(7, 0).slice(0, 12).join(' ')).toBe('f19 f23 f10 f20 f37 f49 f44 f29 f9 f35 f17 f21');
    expect(order(7, 0)).not.toEqual(order(8, 0));
    expect(order(7, 0)).not.toEqual(order(7, fns.length));
  });
});
