import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import {
  buildEvalReport,
  compareReports,
  describeComparison,
  describeSummary,
  evalCharts,
  type EvalReport,
} from '../../core/eval/eval-report';
import type { GradeRecord } from '../../core/eval/grading';
import type { GradeResult } from './activities';

export interface GradedPass {
  name: string;
  seed?: number;
  /** Graded predictions; a record without a patch (the agent changed nothing) counts as empty. */
  results: Array<
    GradeRecord &
      Partial<Pick<GradeResult, 'patch' | 'log' | 'droppedTestFiles'>> & {
        /** How the agent's run ended, when the patch came from solving. */
        agent?: { exitStatus: string; detail?: string; turns: number; trajectory?: string };
      }
  >;
}

export interface EvalOutputs {
  report: ArtifactRef;
  /** One SWE-bench predictions file (JSONL) per pass, by pass name. */
  predictions: Record<string, string>;
  /** Every graded prediction with its status, reason, test tallies and log artifact (JSONL). */
  log: ArtifactRef;
  charts: Record<string, string>;
  summary: EvalReport['summary'];
  headline: string;
}

/**
 * Writes an evaluation's outputs from its graded passes: predictions files in SWE-bench's format,
 * the per-instance log, report.json and its plots. Content-addressed, so a retry writes the same.
 */
export function createEvalReportActivities(deps: { artifacts: ArtifactStore }) {
  const { artifacts } = deps;
  return {
    async writeEvalReport(input: {
      runId: string;
      modelName: string;
      instanceIds: string[];
      passes: GradedPass[];
      /** seeds: passes of one model (a mean over them means something); systems: unrelated files. */
      passKind: 'seeds' | 'systems';
    }): Promise<EvalOutputs> {
      const predictions: Record<string, string> = {};
      const logLines: string[] = [];
      for (const pass of input.passes) {
        const lines: string[] = [];
        for (const result of pass.results) {
          const patch = result.patch ? (await artifacts.get(result.patch.id)).toString('utf8') : '';
          lines.push(
            JSON.stringify({
              instance_id: result.instanceId,
              model_name_or_path: input.modelName,
              model_patch: patch,
            }),
          );
          const { patch: patchRef, log, ...grade } = result;
          logLines.push(
            JSON.stringify({ pass: pass.name, seed: pass.seed, ...grade, patch: patchRef?.id, log: log?.id }),
          );
        }
        predictions[pass.name] = (await artifacts.put(lines.join('\n') + '\n', 'application/x-ndjson')).id;
      }
      const report = buildEvalReport(
        input.runId,
        input.modelName,
        input.instanceIds,
        input.passes.map((p) => ({ name: p.name, seed: p.seed, records: p.results })),
      );
      const charts = evalCharts(report);
      const chartRefs: Record<string, string> = {};
      for (const [name, svg] of Object.entries(charts))
        chartRefs[name] = (await artifacts.put(svg, 'image/svg+xml')).id;
      return {
        report: await artifacts.put(JSON.stringify(report, null, 2), 'application/json'),
        predictions,
        log: await artifacts.put(logLines.join('\n') + '\n', 'application/x-ndjson'),
        charts: chartRefs,
        summary: report.summary,
        headline:
          input.passKind === 'seeds'
            ? `${input.modelName}: ${describeSummary(report.summary)} over ${input.instanceIds.length} instances`
            : report.passes.map((p) => `${p.name}: ${p.resolved}/${p.total} resolved`).join('; '),
      };
    },

    /** The paired comparison of two evaluations (base, then the other), stored and described. */
    async compareEvalReports(input: {
      base: string;
      other: string;
    }): Promise<{ comparison: ArtifactRef; headline: string }> {
      const read = async (id: string): Promise<EvalReport> =>
        JSON.parse((await artifacts.get(id)).toString('utf8')) as EvalReport;
      const comparison = compareReports(await read(input.base), await read(input.other));
      return {
        comparison: await artifacts.put(JSON.stringify(comparison, null, 2), 'application/json'),
        headline: describeComparison(comparison),
      };
    },
  };
}

export type EvalReportActivities = ReturnType<typeof createEvalReportActivities>;
