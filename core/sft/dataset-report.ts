import { barChart } from '../charts';
import type { DatasetConfig } from './dataset-config';
import type { SftLine } from './sft-line';

export interface Histogram {
  /** bins + 1 edges; bin i holds values in [edges[i], edges[i+1]), the last one closed. */
  edges: number[];
  counts: number[];
}

export function histogram(values: number[], min: number, max: number, bins: number): Histogram {
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + i * width);
  const counts = Array.from({ length: bins }, () => 0);
  for (const v of values) {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((v - min) / width)));
    counts[bin]! += 1;
  }
  return { edges, counts };
}

/** What happened to one kind of trajectory (T1 or T2) on its way into the dataset. */
export interface Funnel {
  considered: number;
  rejected: Record<string, number>;
  /** Passed every filter and fitted the context. */
  passed: number;
  /** Chosen for the dataset (the best truncation ratios, up to the configured size). */
  selected: number;
}

export interface DatasetReport {
  runId: string;
  config: DatasetConfig & { threshold: number };
  samples: number;
  funnel: Partial<Record<'T1' | 'T2', Funnel>>;
  /** Records or trajectories that could not be read: reported, skipped, never fatal. */
  problems: Array<{ index: number; record?: string; error: string }>;
  /**
   * Where each line comes from, by line id: the sample record and the trajectory. Kept here, not
   * in the lines, so train.jsonl's bytes depend on what the model learns from and nothing else.
   */
  sources: Record<string, { record: string; trajectory: string }>;
  /** With general data mixed in: the share asked for and what each source gave. */
  mix?: MixReport;
  /** The lines of train.jsonl (repository and general alike, when mixed). */
  dataset: {
    lines: number;
    tokens: { total: number; mean: number; median: number; max: number };
    truncated: number;
    meanTruncationRatio: number;
  };
  distributions: {
    tokens: Histogram;
    truncationRatio: Histogram;
    /** Over every T2 trajectory that had a recall, kept or not. */
    recall: Histogram;
    changedLines: Histogram;
    bugCategories: Record<string, number>;
  };
}

/** What one side of the mix gave: lines proven (available), lines taken, and their tokens. */
export interface MixShare {
  available: number;
  taken: number;
  tokens: number;
}

export interface MixReport {
  alpha: number;
  seed: number;
  /** Lines asked for (`mix.size`, or the repository dataset's count) and lines written. */
  requested: number;
  lines: number;
  /** Repository lines / lines written: α up to rounding. */
  repositoryShare: number;
  /** Why fewer lines than asked were written, when they were. */
  shortfall?: string;
  repository: MixShare;
  sources: Array<MixShare & { name: string; artifact: string }>;
}

function median(sorted: number[]): number {
  if (sorted.length === 0) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarizeDataset(
  lines: SftLine[],
  recalls: number[],
  config: DatasetConfig & { threshold: number },
): Pick<DatasetReport, 'dataset' | 'distributions'> {
  const tokens = lines.map((l) => l.meta.tokens).sort((a, b) => a - b);
  const total = tokens.reduce((a, b) => a + b, 0);
  const ratios = lines.map((l) => l.meta.truncationRatio);
  const categories: Record<string, number> = {};
  for (const l of lines) categories[l.meta.bugCategory] = (categories[l.meta.bugCategory] ?? 0) + 1;
  return {
    dataset: {
      lines: lines.length,
      tokens: {
        total,
        mean: lines.length ? total / lines.length : 0,
        median: median(tokens),
        max: tokens[tokens.length - 1] ?? 0,
      },
      truncated: ratios.filter((r) => r < 1).length,
      meanTruncationRatio: ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : 0,
    },
    distributions: {
      tokens: histogram(tokens, 0, config.maxTokens, 16),
      truncationRatio: histogram(ratios, 0, 1, 10),
      recall: histogram(recalls, 0, 1, 10),
      changedLines: histogram(
        lines.map((l) => l.meta.changedLines),
        0,
        config.maxChangedLines,
        Math.min(config.maxChangedLines, 10),
      ),
      bugCategories: categories,
    },
  };
}

function histogramBars(h: Histogram, digits: number): Array<{ label: string; value: number }> {
  return h.counts.map((value, i) => ({
    label: `${h.edges[i]!.toFixed(digits)}–${h.edges[i + 1]!.toFixed(digits)}`,
    value,
  }));
}

/** Lines and tokens from each side of a mix, as bars. */
function mixChart(mix: MixReport): string {
  const sides = [{ name: 'repository', ...mix.repository }, ...mix.sources];
  return barChart(
    `Lines in the mix by source (α ${mix.alpha}, ${mix.lines} lines)`,
    '',
    'lines',
    sides.map((s) => ({ label: `${s.name} (${s.tokens} tokens)`, value: s.taken })),
  );
}

/** The report's figures as SVG files, by file name (`mix.svg` only when general data is mixed in). */
export function datasetCharts(report: DatasetReport): Record<string, string> {
  const funnelBars = Object.entries(report.funnel).flatMap(([source, f]) => [
    { label: `${source} considered`, value: f.considered },
    ...Object.entries(f.rejected)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => ({ label: `${source} ${reason}`, value: n })),
    { label: `${source} passed`, value: f.passed },
    { label: `${source} selected`, value: f.selected },
  ]);
  const d = report.distributions;
  return {
    'funnel.svg': barChart(
      `Samples through the filters (run ${report.runId})`,
      '',
      'trajectories',
      funnelBars,
    ),
    'tokens.svg': barChart(
      `Tokens per sample (Qwen3 chat template), ${report.dataset.lines} samples`,
      'tokens',
      'samples',
      histogramBars(d.tokens, 0),
    ),
    'truncation-ratio.svg': barChart(
      `Truncation ratio (kept / original messages), mean ${report.dataset.meanTruncationRatio.toFixed(3)}`,
      'ratio',
      'samples',
      histogramBars(d.truncationRatio, 1),
    ),
    'recall.svg': barChart(
      `Soft-verification recall of rollout 2 (threshold ${report.config.threshold})`,
      'recall',
      'trajectories',
      histogramBars(d.recall, 1),
    ),
    'changed-lines.svg': barChart(
      `Changed lines per patch (limit ${report.config.maxChangedLines})`,
      'added + deleted lines',
      'samples',
      histogramBars(d.changedLines, 0),
    ),
    'bug-categories.svg': barChart(
      'Bug categories of the kept samples',
      '',
      'samples',
      Object.entries(d.bugCategories)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([label, value]) => ({ label, value })),
    ),
    ...(report.mix ? { 'mix.svg': mixChart(report.mix) } : {}),
  };
}
