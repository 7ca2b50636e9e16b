import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import type { PairedComparison } from '../../core/eval/stats';
import {
  buildLifecycleReport,
  lifecycleCharts,
  lifecycleMarkdown,
  type LifecycleReportInput,
} from '../../core/lifecycle-report';

export interface LifecycleReportOutputs {
  report: ArtifactRef;
  markdown: ArtifactRef;
  /** SVG plots by name: wall time per stage, resolve rates of base and student. */
  charts: Record<string, string>;
  headline: string[];
  /** Where the files were written too, when the run has an output directory. */
  directory?: string;
}

export function createLifecycleReportActivities(deps: { artifacts: ArtifactStore }) {
  return {
    /**
     * The specialization's final report: report.json, report.md and plots, content-addressed (a
     * retry writes the same), and copied under `<output>/<runId>/report/` when an output is given.
     */
    async writeLifecycleReport(input: {
      report: Omit<LifecycleReportInput, 'evaluation'> & {
        evaluation?: Omit<NonNullable<LifecycleReportInput['evaluation']>, 'comparison'>;
      };
      /** The paired comparison's artifact, from the evaluation stage. */
      comparison?: string;
      output?: string;
    }): Promise<LifecycleReportOutputs> {
      const evaluation = input.report.evaluation && {
        ...input.report.evaluation,
        ...(input.comparison
          ? {
              comparison: JSON.parse(
                (await deps.artifacts.get(input.comparison)).toString('utf8'),
              ) as PairedComparison & { a: string; b: string },
            }
          : {}),
      };
      const report = buildLifecycleReport({ ...input.report, evaluation });
      const svgs = lifecycleCharts(report);
      const charts: Record<string, string> = {};
      for (const [name, svg] of Object.entries(svgs))
        charts[name] = (await deps.artifacts.put(svg, 'image/svg+xml')).id;
      const json = JSON.stringify({ ...report, charts }, null, 2);
      const markdown = lifecycleMarkdown(report, charts);
      let directory: string | undefined;
      if (input.output) {
        directory = path.join(input.output, report.runId, 'report');
        await mkdir(directory, { recursive: true });
        await writeFile(path.join(directory, 'report.json'), json);
        await writeFile(path.join(directory, 'report.md'), markdown);
        for (const [name, svg] of Object.entries(svgs))
          await writeFile(path.join(directory, `${name}.svg`), svg);
      }
      return {
        report: await deps.artifacts.put(json, 'application/json'),
        markdown: await deps.artifacts.put(markdown, 'text/markdown'),
        charts,
        headline: report.headline,
        directory,
      };
    },
  };
}

export type LifecycleReportActivities = ReturnType<typeof createLifecycleReportActivities>;
