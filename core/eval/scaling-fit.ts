/**
 * The scaling law of a specialization: resolve rate y against x (training samples, or what the
 * teacher cost) follows y = c − a·x^(−b) with a, b > 0, rising towards the asymptote c. Pure: the
 * fit, its R² and the x a target rate needs.
 */

/** Three parameters: fewer points (or fewer different x) fit some curve exactly and say nothing. */
export const MIN_SCALING_POINTS = 3;

/** The range of b searched; a best b at either end means the data do not pin the curve down. */
export const B_RANGE: readonly [number, number] = [0.01, 5];
const GRID_STEPS = 150;

/** Bad input to a scaling fit: the message says what is wrong and why. */
export class ScalingInputError extends Error {
  override name = 'ScalingInputError';
}

export interface ScalingFit {
  /** y = c − a·x^(−b) */
  a: number;
  b: number;
  c: number;
  r2: number;
  points: number;
  /** The best b lies at an end of B_RANGE: c and the projection are poorly determined. */
  bAtEdge: boolean;
}

export type Projection =
  | { target: number; reachable: true; x: number; beyondLargest: number }
  | { target: number; reachable: false; reason: string };

function checkPoints(xs: readonly number[], ys: readonly number[]): void {
  if (xs.length !== ys.length) throw new ScalingInputError('x and y differ in length');
  if (xs.length < MIN_SCALING_POINTS)
    throw new ScalingInputError(
      `a scaling fit needs at least ${MIN_SCALING_POINTS} points, got ${xs.length}: y = c − a·x^(−b) has three parameters, so fewer points fit a curve exactly and tell nothing`,
    );
  xs.forEach((x, i) => {
    if (!Number.isFinite(x) || x <= 0)
      throw new ScalingInputError(`point ${i + 1}: x must be a positive number, got ${x}`);
  });
  ys.forEach((y, i) => {
    if (!Number.isFinite(y)) throw new ScalingInputError(`point ${i + 1}: y must be a number, got ${y}`);
  });
  const distinct = new Set(xs).size;
  if (distinct === 1)
    throw new ScalingInputError(
      `all ${xs.length} points have the same x (${xs[0]}): a curve over x needs points at different x`,
    );
  if (distinct < MIN_SCALING_POINTS)
    throw new ScalingInputError(
      `the points have only ${distinct} different x values: three parameters need at least ${MIN_SCALING_POINTS}`,
    );
}

interface LinearFit {
  sse: number;
  /** a of the normalized x (x over its largest value); ≤ 0 means y does not rise with x. */
  aNorm: number;
  c: number;
}

/**
 * For a fixed b the model is linear in c and a: y = c − a·u with u = (x/s)^(−b), s the largest x
 * (so u lies in [1, ∞) whatever the units of x). A falling slope is clamped to a = 0 (flat).
 */
function linearFitFor(ts: readonly number[], ys: readonly number[], b: number): LinearFit {
  const u = ts.map((t) => t ** -b);
  const n = ys.length;
  const mu = u.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let suu = 0;
  let suy = 0;
  let syy = 0;
  for (let i = 0; i < n; i += 1) {
    const du = (u[i] as number) - mu;
    const dy = (ys[i] as number) - my;
    suu += du * du;
    suy += du * dy;
    syy += dy * dy;
  }
  const slope = suu > 0 ? suy / suu : 0;
  if (slope >= 0) return { sse: syy, aNorm: 0, c: my };
  return { sse: Math.max(0, syy - slope * suy), aNorm: -slope, c: my - slope * mu };
}

/**
 * Least-squares fit of y = c − a·x^(−b), a, b > 0: b on a log-spaced grid over B_RANGE, refined by
 * golden-section search between the best point's neighbours; c and a by linear least squares.
 */
export function fitScalingLaw(xs: readonly number[], ys: readonly number[]): ScalingFit {
  checkPoints(xs, ys);
  const n = ys.length;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  const sst = ys.reduce((s, y) => s + (y - my) ** 2, 0);
  if (sst <= 1e-15 * Math.max(1, my * my))
    throw new ScalingInputError(
      `all ${n} points have the same resolve rate (${my}): a rising curve cannot be fitted`,
    );
  const scale = Math.max(...xs);
  const ts = xs.map((x) => x / scale);
  const [lo, hi] = B_RANGE;
  const grid = Array.from({ length: GRID_STEPS + 1 }, (_, i) => lo * (hi / lo) ** (i / GRID_STEPS));
  const fits = grid.map((b) => linearFitFor(ts, ys, b));
  let best = 0;
  fits.forEach((f, i) => {
    if (f.sse < (fits[best] as LinearFit).sse) best = i;
  });
  if ((fits[best] as LinearFit).aNorm <= 0)
    throw new ScalingInputError(
      'the resolve rate does not rise with x across these points: no curve y = c − a·x^(−b) with a, b > 0 fits them',
    );
  // Golden-section search on log b between the grid's neighbours of the best point.
  let left = Math.log(grid[Math.max(0, best - 1)] as number);
  let right = Math.log(grid[Math.min(GRID_STEPS, best + 1)] as number);
  const sseAt = (logB: number): number => linearFitFor(ts, ys, Math.exp(logB)).sse;
  const ratio = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 80 && right - left > 1e-12; i += 1) {
    const m1 = right - ratio * (right - left);
    const m2 = left + ratio * (right - left);
    if (sseAt(m1) <= sseAt(m2)) right = m2;
    else left = m1;
  }
  let b = Math.exp((left + right) / 2);
  let fit = linearFitFor(ts, ys, b);
  // The refinement never does worse than the grid point it started from.
  if (fit.sse > (fits[best] as LinearFit).sse || fit.aNorm <= 0) {
    b = grid[best] as number;
    fit = fits[best] as LinearFit;
  }
  return {
    a: fit.aNorm * scale ** b,
    b,
    c: fit.c,
    r2: 1 - fit.sse / sst,
    points: n,
    bAtEdge: best === 0 || best === GRID_STEPS,
  };
}

export function predictRate(fit: Pick<ScalingFit, 'a' | 'b' | 'c'>, x: number): number {
  return fit.c - fit.a * x ** -fit.b;
}

/**
 * The x at which the fitted curve reaches `target`: x = (a / (c − target))^(1/b). A target at or
 * above the asymptote c is never reached, however large x grows.
 */
export function projectTarget(
  fit: Pick<ScalingFit, 'a' | 'b' | 'c'>,
  target: number,
  largestX: number,
): Projection {
  if (!Number.isFinite(target))
    throw new ScalingInputError(`the target rate must be a number, got ${target}`);
  if (target >= fit.c)
    return {
      target,
      reachable: false,
      reason: `the target ${target} is at or above the fitted asymptote c = ${fit.c.toFixed(4)}: the curve never reaches it, however large x grows`,
    };
  const x = (fit.a / (fit.c - target)) ** (1 / fit.b);
  return { target, reachable: true, x, beyondLargest: x / largestX };
}
