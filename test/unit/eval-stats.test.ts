import { describe, expect, it } from 'vitest';
import { comparePaired, summarizeSeeds } from '../../core/eval/stats';

describe('summarizeSeeds', () => {
  it('gives mean, sample std, standard error and SNR as computed by hand', () => {
    const s = summarizeSeeds([0.2, 0.3, 0.4]);
    expect(s.mean).toBeCloseTo(0.3, 12);
    expect(s.std).toBeCloseTo(0.1, 12); // sqrt((0.01 + 0 + 0.01) / 2)
    expect(s.stderr).toBeCloseTo(0.1 / Math.sqrt(3), 12);
    expect(s.snr).toBeCloseTo(3, 9);
    expect(s.reliable).toBe(true);
  });

  it('flags a spread as large as the signal, and seeds that agree have no SNR', () => {
    expect(summarizeSeeds([0.0, 0.1, 0.2])).toMatchObject({ reliable: false });
    expect(summarizeSeeds([0, 0, 0])).toMatchObject({ std: 0, snr: null, reliable: false });
    expect(summarizeSeeds([0.5, 0.5, 0.5])).toMatchObject({ snr: null, reliable: true });
  });
});

describe('comparePaired', () => {
  it('pairs by instance and reports the difference with its uncertainty', () => {
    const a = new Map([
      ['i1', 0],
      ['i2', 1 / 3],
      ['i3', 1],
    ]);
    const b = new Map([
      ['i1', 1 / 3],
      ['i2', 1 / 3],
      ['i3', 1],
      ['i4', 1],
    ]);
    const c = comparePaired(a, b, summarizeSeeds([0.1, 0.2, 0.3]), summarizeSeeds([0.2, 0.3, 0.4]));
    expect(c.instances).toBe(3);
    expect(c.difference).toBeCloseTo(1 / 9, 12);
    // diffs 1/3, 0, 0: std = sqrt(1/27), stderr = std / sqrt(3) = 1/9
    expect(c.stderr).toBeCloseTo(1 / 9, 12);
    expect(c.ci95[0]).toBeCloseTo(1 / 9 - 1.96 / 9, 12);
    // 0.1 over sqrt(0.1² + 0.1²)
    expect(c.snr).toBeCloseTo(0.1 / Math.sqrt(0.02), 9);
    expect(c).toMatchObject({ reliable: false, bBetter: 1, aBetter: 0 });
  });

  it('refuses two evaluations with no instance in common', () => {
    const s = summarizeSeeds([0, 0, 0]);
    expect(() => comparePaired(new Map([['a', 1]]), new Map([['b', 1]]), s, s)).toThrow(/no instance/);
  });
});
