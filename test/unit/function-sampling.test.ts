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
});
