import { describe, expect, it } from 'vitest';
import { pointOfEvaluation, pointOfRun } from '../../activities/eval/scaling';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEvalSource, readScalingPoints } from '../../client/eval-commands';
import { fitScalingLaw, predictRate, projectTarget, ScalingInputError } from '../../core/eval/scaling-fit';
import {
  describeProjection,
  fitScalingPoints,
  pointAt,
  scalingChart,
  scalingMarkdown,
  type MeasuredPoint,
} from '../../core/eval/scaling-report';

// y = 0.6 − 5·x^(−0.5): 10 % at 100 samples, rising towards 60 %.
const TRUE = { a: 5, b: 0.5, c: 0.6 };
const SAMPLES = [100, 200, 400, 800, 1600, 3200];
const exact = SAMPLES.map((x) => predictRate(TRUE, x));
/** Fixed, zero-mean wiggles of about one point of resolve rate. */
const NOISE = [0.008, -0.01, 0.006, -0.004, 0.009, -0.009];

/** Runs at those sizes whose teacher cost 2 cents and 1,500 tokens a sample. */
function runs(rates: number[]): MeasuredPoint[] {
  return SAMPLES.map((samples, i) => ({
    label: `run-${samples}`,
    samples,
    costUsd: samples * 0.02,
    tokens: samples * 1500,
    rate: rates[i] as number,
  }));
}

describe('fitScalingLaw', () => {
  it('recovers a, b and c of exact points, with R² of 1', () => {
    const fit = fitScalingLaw(SAMPLES, exact);
    expect(fit.a).toBeCloseTo(TRUE.a, 3);
    expect(fit.b).toBeCloseTo(TRUE.b, 5);
    expect(fit.c).toBeCloseTo(TRUE.c, 6);
    expect(fit.r2).toBeCloseTo(1, 9);
    expect(fit.bAtEdge).toBe(false);
  });

  it('comes close on noisy points, with R² below 1', () => {
    const fit = fitScalingLaw(
      SAMPLES,
      exact.map((y, i) => y + (NOISE[i] as number)),
    );
    expect(fit.b).toBeGreaterThan(0.3);
    expect(fit.b).toBeLessThan(0.8);
    expect(Math.abs(fit.c - TRUE.c)).toBeLessThan(0.06);
    expect(fit.a).toBeGreaterThan(0);
    expect(fit.r2).toBeGreaterThan(0.98);
    expect(fit.r2).toBeLessThan(1);
    // The least-squares curve is closer to the points than the true one.
    const sse = (f: { a: number; b: number; c: number }): number =>
      SAMPLES.reduce(
        (s, x, i) => s + (predictRate(f, x) - ((exact[i] as number) + (NOISE[i] as number))) ** 2,
        0,
      );
    expect(sse(fit)).toBeLessThanOrEqual(sse(TRUE));
  });

  it('does not depend on the units of x', () => {
    const inSamples = fitScalingLaw(SAMPLES, exact);
    const inDollars = fitScalingLaw(
      SAMPLES.map((x) => x * 0.02),
      exact,
    );
    expect(inDollars.b).toBeCloseTo(inSamples.b, 5);
    expect(inDollars.c).toBeCloseTo(inSamples.c, 6);
    expect(inDollars.r2).toBeCloseTo(1, 9);
  });

  it('says when b lies at the end of its range (a curve growing like log x)', () => {
    const fit = fitScalingLaw(
      SAMPLES,
      SAMPLES.map((x) => 0.05 * Math.log(x)),
    );
    expect(fit.bAtEdge).toBe(true);
  });

  it('refuses fewer than three points, naming how many and why', () => {
    const error = (() => {
      try {
        fitScalingLaw([100, 200], [0.1, 0.2]);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ScalingInputError);
    expect(error?.message).toMatch(/at least 3 points, got 2/);
    expect(error?.message).toMatch(/three parameters/);
  });

  it('refuses points at one x, at two different x, with a non-positive x, flat or falling', () => {
    expect(() => fitScalingLaw([100, 100, 100], [0.1, 0.2, 0.3])).toThrow(
      /all 3 points have the same x \(100\)/,
    );
    expect(() => fitScalingLaw([100, 100, 200, 200], [0.1, 0.12, 0.2, 0.22])).toThrow(/only 2 different x/);
    expect(() => fitScalingLaw([0, 100, 200], [0.1, 0.2, 0.3])).toThrow(/point 1: x must be a positive/);
    expect(() =>
      fitScalingLaw(
        SAMPLES,
        SAMPLES.map(() => 0.3),
      ),
    ).toThrow(/same resolve rate/);
    expect(() => fitScalingLaw(SAMPLES, [...exact].reverse())).toThrow(/does not rise/);
  });
});

describe('projection to a target rate', () => {
  it('finds the x where the curve reaches the target', () => {
    // (5 / (0.6 − 0.5))^(1/0.5) = 2,500 samples.
    const projection = projectTarget(TRUE, 0.5, 3200);
    expect(projection.reachable).toBe(true);
    if (!projection.reachable) return;
    expect(projection.x).toBeCloseTo(2500, 6);
    expect(predictRate(TRUE, projection.x)).toBeCloseTo(0.5, 12);
    expect(projection.beyondLargest).toBeCloseTo(2500 / 3200, 9);
  });

  it('gives the samples, dollars and tokens a target needs, from the runs', () => {
    const result = fitScalingPoints(runs(exact), 'samples', 0.55);
    // (5 / 0.05)^2 = 10,000 samples, at 2 cents and 1,500 tokens each.
    expect(result.projection?.reachable).toBe(true);
    expect(result.projection?.needed?.samples).toBeCloseTo(10_000, 0);
    expect(result.projection?.needed?.cost).toBeCloseTo(200, 2);
    expect(result.projection?.needed?.tokens).toBeCloseTo(15_000_000, -2);
    expect(describeProjection(result)).toMatch(
      /needs about 10,000 samples, \$200, 15,000,000 tokens \(3\.1× the largest run/,
    );
    const byCost = fitScalingPoints(runs(exact), 'cost', 0.55);
    expect(byCost.projection?.needed?.cost).toBeCloseTo(200, 2);
    expect(byCost.projection?.needed?.samples).toBeCloseTo(10_000, 0);
  });

  it('calls a projection inside the runs measured, and one below the smallest run an extrapolation', () => {
    // 10 % is the first run's rate; 5 % lies below it (x = 5² / 0.55² ≈ 83 samples).
    expect(describeProjection(fitScalingPoints(runs(exact), 'samples', 0.3))).toContain(
      'within the measured range',
    );
    expect(describeProjection(fitScalingPoints(runs(exact), 'samples', 0.05))).toContain(
      'below the smallest run, an extrapolation',
    );
  });

  it('says a target at or above the asymptote is unreachable', () => {
    const result = fitScalingPoints(runs(exact), 'samples', 0.7);
    expect(result.projection?.reachable).toBe(false);
    expect(describeProjection(result)).toMatch(/unreachable.*at or above the fitted asymptote c = 0\.6000/);
    expect(projectTarget(TRUE, 0.6, 3200).reachable).toBe(false);
  });

  it('refuses cost as x when the teacher cost nothing', () => {
    const free = runs(exact).map((p) => ({ ...p, costUsd: 0 }));
    expect(() => fitScalingPoints(free, 'cost')).toThrow(/run-100 has teacher cost \(USD\) 0.*--x samples/);
    const untracked = runs(exact).map(({ tokens: _t, ...p }) => p);
    expect(() => fitScalingPoints(untracked, 'tokens')).toThrow(/run-100 records no teacher tokens/);
  });
});

describe('scaling report', () => {
  it('plots the runs, the curve, the asymptote and the projection, and tabulates them', () => {
    const result = fitScalingPoints(runs(exact), 'samples', 0.5);
    const svg = scalingChart(result);
    expect(svg).toMatch(/^<svg/);
    expect(svg.match(/<circle /g)).toHaveLength(SAMPLES.length);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(2);
    expect(svg).toContain('training samples (log scale)');
    expect(svg).toContain('target 50.0 % at x ≈ 2,500');
    const markdown = scalingMarkdown(result, { file: 'scaling.svg' });
    expect(markdown).toContain('| run-800 | 800 | 16.0000 | 1200000 | 42.3 % |');
    expect(markdown).toMatch(/Projection: target 50.0 %: needs about 2,500 samples/);
    expect(markdown).toContain('![scaling curve](scaling.svg)');
  });

  it('refuses a hand-typed rate outside 0 to 1 (a percentage), naming the point', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sera-points-')), 'points.json');
    writeFileSync(
      file,
      JSON.stringify([
        { x: 100, y: 0.1 },
        { x: 200, y: 45 },
      ]),
    );
    expect(() => readScalingPoints(file)).toThrow('point 2 has y 45: y is a resolve rate from 0 to 1');
  });

  it('takes hand-typed points as the chosen quantity', () => {
    const typed = SAMPLES.map((x, i) => pointAt('cost', x, exact[i] as number, `p${i}`));
    expect(fitScalingPoints(typed, 'cost').fit.c).toBeCloseTo(0.6, 6);
  });
});

describe('points from finished workflows', () => {
  const summary = { seeds: 3, mean: 0.4, std: 0.1, stderr: 0.06, snr: 4, reliable: true };
  const specialization = {
    runId: 'ufo-800',
    dataset: { lines: 800 },
    generation: { costUsd: 16, tokens: 1_200_000 },
    evaluation: { student: { summary, workflowId: 'sera-run-ufo-800-eval-student' } },
  };

  it("reads a run's dataset lines, teacher cost and its student's mean rate", () => {
    expect(pointOfRun('sera-run-ufo-800', 'specializeRepository', specialization)).toEqual({
      label: 'ufo-800',
      workflowId: 'sera-run-ufo-800',
      samples: 800,
      costUsd: 16,
      tokens: 1_200_000,
      rate: 0.4,
      seeds: 3,
      std: 0.1,
    });
    const svg = {
      runId: 'r',
      dataset: { lines: 50 },
      costUsd: 1,
      tokens: 9,
      evaluation: { student: { summary } },
    };
    expect(pointOfRun('svg-r', 'svgRun', svg)).toMatchObject({
      samples: 50,
      costUsd: 1,
      tokens: 9,
      rate: 0.4,
    });
  });

  it('names a run that was not evaluated, and an evaluation without a rate', () => {
    const { evaluation: _e, ...unevaluated } = specialization;
    expect(() => pointOfRun('sera-run-x', 'specializeRepository', unevaluated)).toThrow(
      /run sera-run-x has no resolve rate: its student was not evaluated/,
    );
    expect(() => pointOfEvaluation('eval-y', {}, { x: 'samples', given: 10 })).toThrow(
      /evaluation eval-y has no resolve rate/,
    );
  });

  it("takes an evaluation's x from its run, or as given", () => {
    const run = { runId: 'ufo-800', samples: 800, costUsd: 16, tokens: 1 };
    expect(pointOfEvaluation('e1', { summary }, { run })).toMatchObject({ samples: 800, rate: 0.4 });
    expect(pointOfEvaluation('e2', { summary }, { x: 'samples', given: 300 })).toMatchObject({
      label: 'e2',
      samples: 300,
      rate: 0.4,
    });
    expect(parseEvalSource('eval-abc=300')).toEqual({ workflowId: 'eval-abc', x: 300 });
    expect(parseEvalSource('eval-abc')).toEqual({ workflowId: 'eval-abc' });
    expect(() => parseEvalSource('eval-abc=zero')).toThrow(/positive number/);
  });
});
