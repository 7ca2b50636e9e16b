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
import { parseInstances } from '../../core/eval/instances';
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
 * A graded prediction as the per-instance log has it: artifacts by id (the previews a reference
 * carries are left out), so grades are stored and carried at a fraction of their size.
 */
export type LoggedGrade = Omit<GradedPass['results'][number], 'patch' | 'log'> & {
  patch?: string;
  log?: string;
};

/** One solving run's grade in a stored chunk: `index` is the instance's place in the instances file. */
export interface StoredGrade {
  seed: number;
  index: number;
  grade: LoggedGrade;
}

export function loggedGrade(result: GradedPass['results'][number]): LoggedGrade {
  const { patch, log, ...grade } = result;
  return { ...grade, patch: patch?.id, log: log?.id };
}

/** Reads grade chunks (JSONL of StoredGrade) into one pass per seed, each in the instances' order. */
export function passesFromChunks(
  chunks: readonly string[],
  seeds: readonly number[],
): Array<{ name: string; seed: number; results: LoggedGrade[] }> {
  const bySeed = new Map<number, Map<number, LoggedGrade>>(seeds.map((seed) => [seed, new Map()]));
  for (const text of chunks)
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const stored = JSON.parse(line) as StoredGrade;
      const pass = bySeed.get(stored.seed);
      // A run graded twice (never expected: a continuation starts after the last finished run) counts once.
      if (pass && !pass.has(stored.index)) pass.set(stored.index, stored.grade);
    }
  return seeds.map((seed) => ({
    name: `seed-${seed}`,
    seed,
    results: [...(bySeed.get(seed) ?? new Map<number, LoggedGrade>()).entries()]
      .sort(([a], [b]) => a - b)
      .map(([, grade]) => grade),
  }));
}

/**
 * Writes an evaluation's outputs from its graded passes: predictions files in SWE-bench's format,
 * the per-instance log, report.json and its plots. Content-addressed, so a retry writes the same.
 */
async function writeOutputs(
  artifacts: ArtifactStore,
  input: {
    runId: string;
    modelName: string;
    instanceIds: string[];
    passes: Array<{ name: string; seed?: number; results: LoggedGrade[] }>;
    passKind: 'seeds' | 'systems';
  },
): Promise<EvalOutputs> {
  const predictions: Record<string, string> = {};
  const logLines: string[] = [];
  for (const pass of input.passes) {
    const lines: string[] = [];
    for (const result of pass.results) {
      const patch = result.patch ? (await artifacts.get(result.patch)).toString('utf8') : '';
      lines.push(
        JSON.stringify({
          instance_id: result.instanceId,
          model_name_or_path: input.modelName,
          model_patch: patch,
        }),
      );
      const { patch: patchId, log, ...grade } = result;
      logLines.push(JSON.stringify({ pass: pass.name, seed: pass.seed, ...grade, patch: patchId, log }));
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
}

/** Evaluation outputs, from graded passes given inline or from grade chunks in the store. */
export function createEvalReportActivities(deps: { artifacts: ArtifactStore }) {
  const { artifacts } = deps;
  return {
    /** The outputs from passes given whole (grading predictions; evaluations started before grade chunks). */
    async writeEvalReport(input: {
      runId: string;
      modelName: string;
      instanceIds: string[];
      passes: GradedPass[];
      /** seeds: passes of one model (a mean over them means something); systems: unrelated files. */
      passKind: 'seeds' | 'systems';
    }): Promise<EvalOutputs> {
      return writeOutputs(artifacts, {
        ...input,
        passes: input.passes.map((p) => ({
          name: p.name,
          seed: p.seed,
          results: p.results.map(loggedGrade),
        })),
      });
    },

    /** Stores a chunk of an evaluation's grades (JSONL); the workflow keeps only the reference. */
    async storeGradeChunk(input: { grades: StoredGrade[] }): Promise<ArtifactRef> {
      return artifacts.put(
        input.grades.map((g) => JSON.stringify(g)).join('\n') + '\n',
        'application/x-ndjson',
      );
    },

    /**
     * The outputs of an evaluation over seeds from its grade chunks: the instances (and their
     * order) come from the stored instances file, so no payload grows with the evaluation.
     */
    async writeEvalReportFromChunks(input: {
      runId: string;
      modelName: string;
      instances: ArtifactRef;
      seeds: number[];
      gradeChunks: string[];
    }): Promise<EvalOutputs> {
      const instanceIds = parseInstances((await artifacts.get(input.instances.id)).toString('utf8')).map(
        (i) => i.instance_id,
      );
      const chunks: string[] = [];
      for (const id of input.gradeChunks) chunks.push((await artifacts.get(id)).toString('utf8'));
      return writeOutputs(artifacts, {
        runId: input.runId,
        modelName: input.modelName,
        instanceIds,
        passes: passesFromChunks(chunks, input.seeds),
        passKind: 'seeds',
      });
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
