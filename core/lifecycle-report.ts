import { barChart } from './charts';
import type { PairedComparison, SeedSummary } from './eval/stats';
import { describeComparison, describeSummary } from './eval/eval-report';
import type { LifecycleStage } from './lifecycle-stages';

/** What the final report of a specialization says, gathered from its stages' results. */
export interface LifecycleReportInput {
  runId: string;
  workflowId: string;
  stages: Array<{ stage: LifecycleStage; status: string; seconds: number; workflowId: string }>;
  environment?: { passed: boolean; tests?: string; image: string; commit: string };
  generation: {
    status: string;
    samples: number;
    finished: number;
    reused: number;
    accepted: number;
    rejectedByReason: Record<string, number>;
    tokens: number;
    costUsd: number;
  };
  dataset?: {
    lines: number;
    tokens: number;
    meanTruncationRatio: number;
    /** With general data mixed in (dataset.mix). */
    mix?: { alpha: number; repository: number; general: Array<{ name: string; lines: number }> };
  };
  training?: {
    steps: number;
    samples: number;
    firstLoss: number;
    lastLoss: number;
    costUsd: number;
    model: string;
  };
  evaluation?: {
    base?: { modelName: string; summary: SeedSummary };
    student: { modelName: string; summary: SeedSummary };
    comparison?: PairedComparison & { a: string; b: string };
  };
}

export interface LifecycleReport extends LifecycleReportInput {
  /** Wall time of the stages this run did itself (reused stages cost it nothing). */
  totalSeconds: number;
  /** Teacher calls plus training, as the stages priced them. */
  totalCostUsd: number;
  headline: string[];
}

const percent = (x: number): string => `${(100 * x).toFixed(1)} %`;

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function describeMix(mix: NonNullable<NonNullable<LifecycleReportInput['dataset']>['mix']>): string {
  const general = mix.general.map((g) => `${g.lines} from ${g.name}`).join(', ');
  return `mixed at α ${mix.alpha}: ${mix.repository} repository lines${general ? `, ${general}` : ''}`;
}

/** The report's numbers and the lines a person reads first (CLI, memo, report.md). */
export function buildLifecycleReport(input: LifecycleReportInput): LifecycleReport {
  const totalSeconds = input.stages
    .filter((s) => s.status === 'finished')
    .reduce((sum, s) => sum + s.seconds, 0);
  const totalCostUsd = input.generation.costUsd + (input.training?.costUsd ?? 0);
  const g = input.generation;
  const headline: string[] = [];
  if (input.environment)
    headline.push(
      `environment: ${input.environment.passed ? 'tests pass' : 'tests FAIL'}${input.environment.tests ? ` (${input.environment.tests})` : ''} at ${input.environment.commit.slice(0, 12)}`,
    );
  headline.push(
    `generation: ${g.finished}/${g.samples} samples${g.reused > 0 ? ` (${g.reused} reused)` : ''}, ${g.accepted} accepted, ${g.tokens} teacher tokens, $${g.costUsd.toFixed(4)}${g.status === 'completed' ? '' : ` (${g.status})`}`,
  );
  if (input.dataset)
    headline.push(
      `dataset: ${input.dataset.lines} lines, ${input.dataset.tokens} tokens, mean truncation ratio ${input.dataset.meanTruncationRatio.toFixed(3)}${input.dataset.mix ? `, ${describeMix(input.dataset.mix)}` : ''}`,
    );
  if (input.training)
    headline.push(
      `student: ${input.training.steps} steps on ${input.training.samples} samples, loss ${input.training.firstLoss.toFixed(3)} → ${input.training.lastLoss.toFixed(3)}`,
    );
  const evaluation = input.evaluation;
  if (evaluation?.base)
    headline.push(`base ${evaluation.base.modelName}: ${describeSummary(evaluation.base.summary)}`);
  if (evaluation)
    headline.push(`student ${evaluation.student.modelName}: ${describeSummary(evaluation.student.summary)}`);
  if (evaluation?.comparison) headline.push(`paired: ${describeComparison(evaluation.comparison)}`);
  headline.push(
    `wall time ${formatDuration(totalSeconds)}: ${input.stages
      .map((s) => `${s.stage} ${s.status === 'reused' ? 'reused' : formatDuration(s.seconds)}`)
      .join(', ')}; cost about $${totalCostUsd.toFixed(2)}`,
  );
  return { ...input, totalSeconds, totalCostUsd, headline };
}

/** Wall time per stage, and resolve rates of base and student with their spread over seeds (SVG). */
export function lifecycleCharts(report: LifecycleReport): Record<string, string> {
  const charts: Record<string, string> = {
    stageSeconds: barChart(
      `Run ${report.runId}: wall time per stage (a reused stage took this run no time)`,
      'stage',
      'seconds',
      report.stages.map((s) => ({
        label: s.status === 'reused' ? `${s.stage} (reused)` : s.stage,
        value: s.status === 'reused' ? 0 : s.seconds,
      })),
    ),
  };
  const evaluation = report.evaluation;
  if (evaluation) {
    const models = [
      ...(evaluation.base ? [{ who: 'base', ...evaluation.base }] : []),
      { who: 'student', ...evaluation.student },
    ];
    charts.resolveRates = barChart(
      `Run ${report.runId}: resolve rate, mean over ${evaluation.student.summary.seeds} seeds`,
      'model',
      'resolve rate (%)',
      models.map((m) => ({
        label: `${m.who}: ${percent(m.summary.mean)} ± ${percent(m.summary.std)}`,
        value: 100 * m.summary.mean,
      })),
    );
  }
  return charts;
}

/** report.md: the headline, then a table of the stages with their workflows and the plots' artifacts. */
export function lifecycleMarkdown(report: LifecycleReport, charts: Record<string, string>): string {
  return [
    `# Specialization ${report.runId}`,
    '',
    `Workflow \`${report.workflowId}\`.`,
    '',
    ...report.headline.map((l) => `- ${l}`),
    '',
    '| stage | status | wall time | workflow |',
    '| --- | --- | --- | --- |',
    ...report.stages.map(
      (s) => `| ${s.stage} | ${s.status} | ${formatDuration(s.seconds)} | \`${s.workflowId}\` |`,
    ),
    '',
    ...Object.entries(charts).map(([name, id]) => `- ${name}: artifact \`${id}\``),
    '',
  ].join('\n');
}
