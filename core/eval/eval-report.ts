import { barChart } from '../charts';
import type { GradeRecord, GradeStatus } from './grading';
import { comparePaired, summarizeSeeds, type PairedComparison, type SeedSummary } from './stats';

/** One solving (or grading) pass over the instances: a seed of the model, or a predictions file. */
export interface EvalPass {
  name: string;
  seed?: number;
  records: GradeRecord[];
}

export interface PassSummary {
  name: string;
  seed?: number;
  resolved: number;
  total: number;
  rate: number;
  statuses: Partial<Record<GradeStatus, number>>;
}

/** What an evaluation found, for people and for comparisons: report.json. */
export interface EvalReport {
  runId: string;
  modelName: string;
  instances: string[];
  passes: PassSummary[];
  /** Over the passes: mean, std, stderr, SNR of the resolve rate. */
  summary: SeedSummary;
  /** Per instance: which passes resolved it, and the share of passes that did. */
  perInstance: Array<{ instanceId: string; resolvedBy: string[]; rate: number }>;
}

export function buildEvalReport(
  runId: string,
  modelName: string,
  instances: string[],
  passes: EvalPass[],
): EvalReport {
  if (passes.length === 0) throw new Error('an evaluation report needs at least one pass');
  const summaries = passes.map((pass): PassSummary => {
    const statuses: Partial<Record<GradeStatus, number>> = {};
    for (const r of pass.records) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const resolved = pass.records.filter((r) => r.resolved).length;
    // An instance without a record (no prediction) counts as unresolved.
    const total = instances.length;
    return {
      name: pass.name,
      seed: pass.seed,
      resolved,
      total,
      rate: total ? resolved / total : 0,
      statuses,
    };
  });
  const perInstance = instances.map((instanceId) => {
    const resolvedBy = passes
      .filter((p) => p.records.some((r) => r.instanceId === instanceId && r.resolved))
      .map((p) => p.name);
    return { instanceId, resolvedBy, rate: resolvedBy.length / passes.length };
  });
  return {
    runId,
    modelName,
    instances,
    passes: summaries,
    summary: summarizeSeeds(summaries.map((s) => s.rate)),
    perInstance,
  };
}

/** Base (a) against specialized (b) on the instances both evaluated. */
export function compareReports(a: EvalReport, b: EvalReport): PairedComparison & { a: string; b: string } {
  const rates = (r: EvalReport): Map<string, number> =>
    new Map(r.perInstance.map((i) => [i.instanceId, i.rate]));
  return { a: a.modelName, b: b.modelName, ...comparePaired(rates(a), rates(b), a.summary, b.summary) };
}

const percent = (x: number): string => `${(100 * x).toFixed(1)} %`;

export function describeSummary(s: SeedSummary): string {
  const snr = s.snr === null ? 'no spread between seeds' : `SNR ${s.snr.toFixed(2)}`;
  const verdict = s.reliable ? '' : s.snr === null ? ', nothing resolved' : ', not reliable: SNR < 2';
  return `${percent(s.mean)} ± ${percent(s.std)} (std over ${s.seeds} seeds, stderr ${percent(s.stderr)}, ${snr}${verdict})`;
}

export function describeComparison(c: PairedComparison & { a: string; b: string }): string {
  const snr = c.snr === null ? 'no spread' : `SNR ${c.snr.toFixed(2)}`;
  return `${c.b} − ${c.a}: ${c.difference >= 0 ? '+' : ''}${percent(c.difference)} (95 % CI ${percent(c.ci95[0])} … ${percent(c.ci95[1])}, paired over ${c.instances} instances; ${c.bBetter} better, ${c.aBetter} worse; ${snr}${c.reliable ? '' : ', not reliable: SNR < 2'})`;
}

/** Resolve rate per pass and per instance, as SVG. */
export function evalCharts(report: EvalReport): Record<'perSeed' | 'perInstance', string> {
  return {
    perSeed: barChart(
      `${report.modelName}: resolve rate per seed (mean ${percent(report.summary.mean)} ± ${percent(report.summary.std)})`,
      'seed',
      'resolved share',
      report.passes.map((p) => ({ label: p.name, value: p.rate })),
    ),
    perInstance: barChart(
      `${report.modelName}: share of seeds that resolve each instance`,
      'instance',
      'share of seeds',
      report.perInstance.map((i) => ({ label: i.instanceId, value: i.rate })),
    ),
  };
}
