import { logXChart, type StyledSeries } from '../charts';
import {
  fitScalingLaw,
  predictRate,
  projectTarget,
  ScalingInputError,
  type Projection,
  type ScalingFit,
} from './scaling-fit';

/** What x is: training samples in the run's dataset, or what its teacher cost (dollars or tokens). */
export const X_QUANTITIES = ['samples', 'cost', 'tokens'] as const;
export type XQuantity = (typeof X_QUANTITIES)[number];

const FIELD = { samples: 'samples', cost: 'costUsd', tokens: 'tokens' } as const;
const AXIS: Record<XQuantity, string> = {
  samples: 'training samples',
  cost: 'teacher cost (USD)',
  tokens: 'teacher tokens',
};

/** One finished run (or evaluation, or hand-typed point): what it cost and how well its model did. */
export interface MeasuredPoint {
  label: string;
  /** The workflow it was read from; absent for a hand-typed point. */
  workflowId?: string;
  /** Training samples: the lines of the run's SFT dataset. */
  samples?: number;
  /** The teacher's cost over the run's generation. */
  costUsd?: number;
  tokens?: number;
  /** Mean resolve rate over the evaluation's seeds, 0 to 1. */
  rate: number;
  seeds?: number;
  std?: number;
}

export interface ScalingResult {
  x: XQuantity;
  points: MeasuredPoint[];
  fit: ScalingFit;
  projection?: Projection & {
    /** The projected x in every quantity the points carry, at their pooled rate per unit of x. */
    needed?: Partial<Record<XQuantity, number>>;
  };
}

/** A point whose x is known by other means (typed by hand, or given for an evaluation outside a run). */
export function pointAt(x: XQuantity, value: number, rate: number, label: string): MeasuredPoint {
  return { label, [FIELD[x]]: value, rate };
}

export function xOf(point: MeasuredPoint, x: XQuantity): number {
  const value = point[FIELD[x]];
  if (value === undefined)
    throw new ScalingInputError(`${point.label} records no ${AXIS[x]}: choose another x`);
  if (!(value > 0))
    throw new ScalingInputError(
      `${point.label} has ${AXIS[x]} ${value}: x must be positive${x !== 'samples' ? ' (a free teacher costs nothing: use --x samples)' : ''}`,
    );
  return value;
}

/** Total of `other` over total of `x` across the points that carry both: e.g. dollars per sample. */
function pooledRate(points: MeasuredPoint[], x: XQuantity, other: XQuantity): number | undefined {
  const both = points.filter((p) => (p[FIELD[other]] ?? 0) > 0 && (p[FIELD[x]] ?? 0) > 0);
  if (both.length === 0) return undefined;
  const sum = (q: XQuantity): number => both.reduce((s, p) => s + (p[FIELD[q]] ?? 0), 0);
  return sum(other) / sum(x);
}

/** Fits the points and, with a target rate, projects the samples and cost it needs. */
export function fitScalingPoints(points: MeasuredPoint[], x: XQuantity, target?: number): ScalingResult {
  const xs = points.map((p) => xOf(p, x));
  const fit = fitScalingLaw(
    xs,
    points.map((p) => p.rate),
  );
  if (target === undefined) return { x, points, fit };
  const projection = projectTarget(fit, target, Math.max(...xs));
  if (!projection.reachable) return { x, points, fit, projection };
  const needed: Partial<Record<XQuantity, number>> = { [x]: projection.x };
  for (const other of X_QUANTITIES) {
    const rate = other === x ? undefined : pooledRate(points, x, other);
    if (rate !== undefined) needed[other] = projection.x * rate;
  }
  return { x, points, fit, projection: { ...projection, needed } };
}

const percent = (v: number): string => `${(100 * v).toFixed(1)} %`;

function amount(q: XQuantity, v: number): string {
  if (q === 'cost') return `$${v < 100 ? v.toFixed(2) : Math.round(v).toLocaleString('en-US')}`;
  return `${Math.round(v).toLocaleString('en-US')} ${q}`;
}

/** A number for a label: three significant digits, thousands grouped. */
function roughly(v: number): string {
  return v >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3)));
}

export function describeFit(fit: ScalingFit): string {
  const quality = fit.r2 < 0.95 ? ' (R² < 0.95: a poor fit)' : '';
  const edge = fit.bAtEdge ? '; b is at the end of the searched range, so c is poorly determined' : '';
  return `y = ${fit.c.toFixed(4)} − ${fit.a.toPrecision(4)}·x^(−${fit.b.toFixed(4)}), R² = ${fit.r2.toFixed(4)} over ${fit.points} points${quality}${edge}`;
}

export function describeProjection(result: ScalingResult): string | undefined {
  const p = result.projection;
  if (!p) return undefined;
  if (!p.reachable) return `target ${percent(p.target)}: unreachable, ${p.reason}`;
  const needed = Object.entries(p.needed ?? {})
    .map(([q, v]) => amount(q as XQuantity, v))
    .join(', ');
  const smallest = Math.min(...result.points.map((point) => xOf(point, result.x)));
  const where =
    p.x < smallest
      ? 'below the smallest run, an extrapolation'
      : p.beyondLargest <= 1
        ? 'within the measured range'
        : `${p.beyondLargest.toFixed(1)}× the largest run, an extrapolation`;
  return `target ${percent(p.target)}: needs about ${needed} (${where})`;
}

/** The plot: the runs, the fitted curve, the asymptote and the projection to the target. */
export function scalingChart(result: ScalingResult, xLabel = AXIS[result.x]): string {
  const { fit, points, projection } = result;
  const xs = points.map((p) => xOf(p, result.x));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  // The curve runs to the projected x when it is reachable within a sensible stretch.
  const end = projection?.reachable && projection.x > xMax ? Math.min(projection.x, xMax * 1000) : xMax;
  const curve: Array<[number, number]> = Array.from({ length: 80 }, (_, i) => {
    const x = xMin * (end / xMin) ** (i / 79);
    return [x, Math.max(0, predictRate(fit, x))];
  });
  const series: StyledSeries[] = [
    {
      label: 'runs',
      style: 'points',
      points: points.map((p, i) => [xs[i] as number, p.rate]),
    },
    { label: `fit, R² = ${fit.r2.toFixed(3)}`, style: 'line', points: curve },
  ];
  if (fit.c <= 1)
    series.push({
      label: `asymptote c = ${fit.c.toFixed(3)}`,
      style: 'dashed',
      points: [
        [xMin, fit.c],
        [end, fit.c],
      ],
    });
  if (projection?.reachable && projection.x <= end)
    series.push({
      label: `target ${percent(projection.target)} at x ≈ ${roughly(projection.x)}`,
      style: 'dashed',
      points: [
        [Math.min(xMin, projection.x), projection.target],
        [projection.x, projection.target],
        [projection.x, 0],
      ],
    });
  return logXChart(
    `resolve rate y = c − a·x^(−b): c = ${fit.c.toFixed(3)}, a = ${fit.a.toPrecision(3)}, b = ${fit.b.toFixed(3)}`,
    xLabel,
    'resolve rate (mean over seeds)',
    series,
  );
}

/** report.md: the points, the fit, its quality and the projection, in words a reader can check. */
export function scalingMarkdown(
  result: ScalingResult,
  plot: { file: string } | { artifact: string },
): string {
  const cell = (v: number | undefined, digits = 0): string =>
    v === undefined ? '' : digits ? v.toFixed(digits) : String(v);
  const lines = [
    '# Scaling from runs',
    '',
    `x: ${AXIS[result.x]}; y: mean resolve rate over the evaluation's seeds.`,
    '',
    '| point | samples | teacher cost (USD) | teacher tokens | resolve rate | seeds | std |',
    '| ----- | ------: | -----------------: | -------------: | -----------: | ----: | --: |',
    ...result.points.map(
      (p) =>
        `| ${p.label} | ${cell(p.samples)} | ${cell(p.costUsd, 4)} | ${cell(p.tokens)} | ${percent(p.rate)} | ${cell(p.seeds)} | ${p.std === undefined ? '' : percent(p.std)} |`,
    ),
    '',
    `Fit: ${describeFit(result.fit)}.`,
    '',
    'c is the rate the curve approaches as x grows; a and b say how fast it gets there. The fit',
    'takes b on a grid refined by golden-section search, and c and a by least squares for each b.',
  ];
  const projection = describeProjection(result);
  if (projection) lines.push('', `Projection: ${projection}.`);
  lines.push(
    '',
    'file' in plot ? `![scaling curve](${plot.file})` : `Plot: artifact \`${plot.artifact}\``,
    '',
  );
  return lines.join('\n');
}
