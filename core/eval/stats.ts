/**
 * The numbers an evaluation reports. Resolve rates are fractions in [0, 1]. SNR is the signal over
 * the seed-to-seed noise: for one model its mean over its standard deviation, for a comparison the
 * difference of means over the combined standard deviation. Below 2 a result is not reliable.
 */
export const RELIABLE_SNR = 2;

export interface SeedSummary {
  seeds: number;
  mean: number;
  /** Sample standard deviation (n − 1). */
  std: number;
  stderr: number;
  /** null when the seeds agree exactly (no spread to compare with). */
  snr: number | null;
  reliable: boolean;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('mean of no values');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

function snrOf(signal: number, noise: number): number | null {
  if (noise === 0) return null;
  return Math.abs(signal) / noise;
}

/** Reliable when the spread is small next to the signal; a zero spread with a zero signal is not. */
function isReliable(snr: number | null, signal: number): boolean {
  return snr === null ? signal !== 0 : snr >= RELIABLE_SNR;
}

export function summarizeSeeds(rates: readonly number[]): SeedSummary {
  const m = mean(rates);
  const std = sampleStd(rates);
  const snr = snrOf(m, std);
  return {
    seeds: rates.length,
    mean: m,
    std,
    stderr: std / Math.sqrt(rates.length),
    snr,
    reliable: isReliable(snr, m),
  };
}

export interface PairedComparison {
  /** B minus A, in resolve rate. */
  difference: number;
  /** Per-instance paired standard error of the difference and its 95 % interval. */
  stderr: number;
  ci95: [number, number];
  /** The difference over the two models' combined seed noise. */
  snr: number | null;
  reliable: boolean;
  instances: number;
  /** Instances B resolves more often than A, and the other way round. */
  bBetter: number;
  aBetter: number;
}

/**
 * Compares two models on the same instances. `a` and `b` map instance id to its resolve rate over
 * that model's seeds; only instances both have are compared.
 */
export function comparePaired(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
  seedsA: SeedSummary,
  seedsB: SeedSummary,
): PairedComparison {
  const ids = [...a.keys()].filter((id) => b.has(id)).sort();
  if (ids.length === 0) throw new Error('the two evaluations share no instance');
  const diffs = ids.map((id) => (b.get(id) ?? 0) - (a.get(id) ?? 0));
  const difference = mean(diffs);
  const stderr = sampleStd(diffs) / Math.sqrt(diffs.length);
  const snr = snrOf(seedsB.mean - seedsA.mean, Math.sqrt(seedsA.std ** 2 + seedsB.std ** 2));
  return {
    difference,
    stderr,
    ci95: [difference - 1.96 * stderr, difference + 1.96 * stderr],
    snr,
    reliable: isReliable(snr, seedsB.mean - seedsA.mean),
    instances: ids.length,
    bBetter: diffs.filter((d) => d > 0).length,
    aBetter: diffs.filter((d) => d < 0).length,
  };
}
