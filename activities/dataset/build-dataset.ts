import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { AGENT_TOOLS } from '../../core/agent/tools';
import type { Trajectory } from '../../core/agent/trajectory';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { decideCandidate, rankByTruncationRatio, type TrajectorySource } from '../../core/sft/candidates';
import { DatasetConfigSchema, type DatasetConfigRequest } from '../../core/sft/dataset-config';
import {
  describeBadSource,
  drawMix,
  mixReport,
  mixSourceLabel,
  planMix,
  proveGeneralSource,
  type DatasetMix,
  type ProvenGeneralLine,
} from '../../core/sft/dataset-mix';
import {
  datasetCharts,
  summarizeDataset,
  type DatasetReport,
  type Funnel,
  type MixReport,
} from '../../core/sft/dataset-report';
import { qwen3CountTokens, renderQwen3Template } from '../../core/sft/qwen3';
import { SampleRecordSchema, type SampleRecord } from '../../core/sft/sample-record';
import { readLedger } from '../common/ledger';
import { proveSftLine, type SftLine } from '../../core/sft/sft-line';
import { axolotlConfig, CHATML_TRAINING_TEMPLATE, trlConfig } from '../../core/sft/trainer-configs';
import { activityContext } from '../common/activity-context';

export interface BuildDatasetInput {
  runId: string;
  /** Artifact ids of the run's ledger chunks (JSON arrays of LedgerEntry). */
  ledger: string[];
  config: DatasetConfigRequest;
  /** The run's soft-verification threshold: the default for the dataset's. */
  runThreshold: number;
  /** A directory on this worker to copy the dataset's files into (`<output>/<runId>/dataset/`). */
  output?: string;
}

export interface BuildDatasetResult {
  runId: string;
  lines: number;
  tokens: number;
  meanTruncationRatio: number;
  problems: number;
  dataset: ArtifactRef;
  report: ArtifactRef;
  charts: Record<string, string>;
  axolotl: ArtifactRef;
  trl: ArtifactRef;
  trainingTemplate: ArtifactRef;
  /** Where the files were copied, when an output directory was given. */
  directory?: string;
  /** With general data mixed in: α and the lines each side gave (the report has the rest). */
  mix?: { alpha: number; repository: number; general: Array<{ name: string; lines: number }> };
}

/** A general source whose every line passed the format proof. */
interface GeneralSource {
  name: string;
  artifact: string;
  lines: ProvenGeneralLine[];
}

const TEMPLATE_FILE = 'chatml-train.jinja';

/**
 * The dataset stage: every sample of a run through SERA's filters and truncation, exported as
 * JSONL in the student's hermes format, each line proven, with a report, its charts and trainer
 * configs. A record or trajectory that cannot be read is reported and skipped. Outputs are
 * content-addressed, so a retry writes the same artifacts again.
 */
export function createDatasetActivities(deps: { artifacts: ArtifactStore }) {
  const json = async (id: string): Promise<unknown> =>
    JSON.parse((await deps.artifacts.get(id)).toString('utf8')) as unknown;

  const invalid = (message: string): ApplicationFailure =>
    ApplicationFailure.create({ type: ErrorTypes.InvalidInput, message, nonRetryable: true });

  /**
   * Reads every general source and proves each line before any repository work: a source with a
   * line that fails the format proof fails the stage, naming the source and its lines.
   */
  async function readGeneralSources(mix: DatasetMix, maxTokens: number): Promise<GeneralSource[]> {
    const sources: GeneralSource[] = [];
    for (const [i, source] of mix.sources.entries()) {
      const label = mixSourceLabel(source, i);
      // Workflows carry no paths: the client stores a file as an artifact before starting one.
      if ('file' in source)
        throw invalid(
          `${label}: a file source must be stored as an artifact before the workflow starts (the CLI does this); give { artifact: "sha256:…" }`,
        );
      let content: string;
      try {
        content = (await deps.artifacts.get(source.artifact)).toString('utf8');
      } catch (error) {
        if (error instanceof ApplicationFailure && error.type === ErrorTypes.ArtifactMissing)
          throw ApplicationFailure.create({
            type: ErrorTypes.ArtifactMissing,
            message: `${label}: ${error.message}`,
            nonRetryable: true,
          });
        throw error;
      }
      const proven = await proveGeneralSource(
        content,
        maxTokens,
        renderQwen3Template,
        qwen3CountTokens,
        async (linesRead) => {
          activityContext()?.heartbeat({ generalSource: label, linesRead });
          await setImmediate(); // lets the heartbeat go out during a long source
        },
      );
      if (proven.bad.length > 0) throw invalid(describeBadSource(label, proven.bad, proven.total));
      if (proven.total === 0) throw invalid(`${label}: the dataset has no lines`);
      sources.push({
        name: source.name ?? source.artifact,
        artifact: source.artifact,
        lines: proven.lines,
      });
    }
    return sources;
  }

  return {
    async exportDataset(input: BuildDatasetInput): Promise<BuildDatasetResult> {
      const parsed = DatasetConfigSchema.safeParse(input.config);
      if (!parsed.success) {
        throw ApplicationFailure.create({
          type: ErrorTypes.InvalidInput,
          message: `invalid dataset config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
          nonRetryable: true,
        });
      }
      const config = { ...parsed.data, threshold: parsed.data.threshold ?? input.runThreshold };
      const general = config.mix ? await readGeneralSources(config.mix, config.maxTokens) : [];
      const sources: TrajectorySource[] =
        config.trajectories === 'T1+T2' ? ['T2', 'T1'] : [config.trajectories];

      const entries = await readLedger(deps.artifacts, input.ledger);

      const funnel: Partial<Record<TrajectorySource, Funnel>> = {};
      for (const s of sources) funnel[s] = { considered: 0, rejected: {}, passed: 0, selected: 0 };
      const reject = (source: TrajectorySource, reason: string): void => {
        const f = funnel[source]!;
        f.rejected[reason] = (f.rejected[reason] ?? 0) + 1;
      };
      const problems: DatasetReport['problems'] = [];
      const recalls: number[] = [];
      const kept: Array<{
        meta: SftLine['meta'];
        line: string;
        id: string;
        source: { record: string; trajectory: string };
      }> = [];

      let done = 0;
      for (const entry of entries) {
        done += 1;
        activityContext()?.heartbeat({ done, total: entries.length });
        for (const s of sources) funnel[s]!.considered += 1;
        if (!entry.record) {
          for (const s of sources) reject(s, entry.reason ?? 'sample_failed');
          continue;
        }
        let record: SampleRecord;
        try {
          const result = SampleRecordSchema.safeParse(await json(entry.record));
          if (!result.success)
            throw new Error(
              `not a sample record: ${result.error.issues[0]?.path.join('.')} ${result.error.issues[0]?.message}`,
            );
          record = result.data;
        } catch (error) {
          problems.push({ index: entry.index, record: entry.record, error: (error as Error).message });
          for (const s of sources) reject(s, 'unreadable_record');
          continue;
        }
        if (record.verification?.recall !== undefined) recalls.push(record.verification.recall);

        for (const source of sources) {
          // T2 needs a sample the run accepted, or one it turned down only for its recall (the
          // dataset's threshold may be lower). T1 needs a rollout 1 whose patch was not a duplicate.
          const rollout = source === 'T2' ? record.rollout2 : record.rollout1;
          const usable =
            source === 'T2'
              ? entry.accepted || entry.reason === 'recall_below_threshold'
              : entry.reason !== 'duplicate_patch';
          if (!usable || !rollout) {
            reject(source, `sample_${entry.reason ?? 'without_rollout'}`);
            continue;
          }
          let messages: Trajectory['messages'];
          let patch = '';
          try {
            messages = ((await json(rollout.trajectory.id)) as Trajectory).messages;
            if (!Array.isArray(messages)) throw new Error('the trajectory has no messages');
            if (rollout.patch) patch = (await deps.artifacts.get(rollout.patch.id)).toString('utf8');
          } catch (error) {
            problems.push({
              index: entry.index,
              record: entry.record,
              error: `${source}: ${(error as Error).message}`,
            });
            reject(source, 'unreadable_trajectory');
            continue;
          }
          const decision = decideCandidate(
            {
              record,
              source,
              trajectoryId: rollout.trajectory.id,
              exitStatus: rollout.exitStatus,
              messages,
              patch,
            },
            config,
            AGENT_TOOLS,
            qwen3CountTokens,
          );
          if (decision.kind === 'rejected') {
            reject(source, decision.reason);
            continue;
          }
          const line = JSON.stringify(decision.line);
          const flaws = proveSftLine(line, decision.inference, AGENT_TOOLS, renderQwen3Template);
          if (flaws.length > 0) {
            problems.push({
              index: entry.index,
              record: entry.record,
              error: `${source} format proof: ${flaws.join('; ')}`,
            });
            reject(source, 'format_proof_failed');
            continue;
          }
          funnel[source]!.passed += 1;
          kept.push({
            meta: decision.line.meta,
            line,
            id: decision.line.id,
            source: { record: entry.record!, trajectory: rollout.trajectory.id },
          });
        }
      }

      const ranked = rankByTruncationRatio(kept);
      const selected = config.size === undefined ? ranked : ranked.slice(0, config.size);
      // What train.jsonl holds, in order: the selected lines, or the mix of them with general lines.
      let written: Array<{ text: string; meta: SftLine['meta'] }> = selected.map((s) => ({
        text: s.line,
        meta: s.meta,
      }));
      let repositoryTaken = selected;
      let mix: MixReport | undefined;
      if (config.mix) {
        const available = general.reduce((n, g) => n + g.lines.length, 0);
        const plan = planMix(config.mix.alpha, selected.length, available, config.mix.size);
        // General lines carry the token count made here, not the one their meta claims.
        const generalLines = general.map((g) =>
          g.lines.map((l) => ({ text: l.text, meta: { ...l.line.meta, tokens: l.tokens } })),
        );
        const mixed = drawMix(plan, written, generalLines, config.mix.seed);
        repositoryTaken = selected.slice(0, plan.repository);
        written = mixed.map((m) => m.item);
        mix = mixReport(
          config.mix,
          plan,
          mixed,
          general.map((g) => ({ name: g.name, artifact: g.artifact, available: g.lines.length })),
        );
      }
      for (const s of repositoryTaken) funnel[s.meta.source]!.selected += 1;
      for (const s of ranked.slice(selected.length)) reject(s.meta.source, 'over_size');
      for (const s of selected.slice(repositoryTaken.length)) reject(s.meta.source, 'mix_share');

      const work = await mkdtemp(path.join(tmpdir(), 'sera-dataset-'));
      try {
        const file = path.join(work, 'train.jsonl');
        const out = createWriteStream(file);
        for (const w of written) if (!out.write(`${w.text}\n`)) await once(out, 'drain');
        out.end();
        await once(out, 'finish');
        const dataset = await deps.artifacts.putFile(file, 'application/jsonl');

        const lines = written.map((w) => ({ meta: w.meta }) as SftLine);
        const report: DatasetReport = {
          runId: input.runId,
          config,
          samples: entries.length,
          funnel,
          problems,
          sources: Object.fromEntries(repositoryTaken.map((s) => [s.id, s.source])),
          ...(mix ? { mix } : {}),
          ...summarizeDataset(lines, recalls, config),
        };
        const charts: Record<string, string> = {};
        const files: Record<string, string | Buffer> = {};
        for (const [name, svg] of Object.entries(datasetCharts(report))) {
          charts[name] = (await deps.artifacts.put(svg, 'image/svg+xml')).id;
          files[path.join('plots', name)] = svg;
        }
        const reportText = JSON.stringify(
          { ...report, dataset: { ...report.dataset, artifact: dataset.id }, charts },
          null,
          2,
        );
        const axolotl = axolotlConfig(config, 'train.jsonl');
        const trl = trlConfig(config, 'train.jsonl', TEMPLATE_FILE);
        const result: BuildDatasetResult = {
          runId: input.runId,
          lines: written.length,
          tokens: report.dataset.tokens.total,
          meanTruncationRatio: report.dataset.meanTruncationRatio,
          problems: problems.length,
          dataset,
          report: await deps.artifacts.put(reportText, 'application/json'),
          charts,
          axolotl: await deps.artifacts.put(axolotl, 'application/yaml'),
          trl: await deps.artifacts.put(trl, 'application/yaml'),
          trainingTemplate: await deps.artifacts.put(CHATML_TRAINING_TEMPLATE, 'text/plain'),
          ...(mix
            ? {
                mix: {
                  alpha: mix.alpha,
                  repository: mix.repository.taken,
                  general: mix.sources.map((g) => ({ name: g.name, lines: g.taken })),
                },
              }
            : {}),
        };
        if (input.output) {
          const dir = path.join(input.output, input.runId, 'dataset');
          await mkdir(path.join(dir, 'plots'), { recursive: true });
          await copyFile(file, path.join(dir, 'train.jsonl'));
          Object.assign(files, {
            'report.json': reportText,
            'axolotl.yaml': axolotl,
            'trl-sft.yaml': trl,
            [TEMPLATE_FILE]: CHATML_TRAINING_TEMPLATE,
          });
          for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
          result.directory = dir;
        }
        return result;
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  };
}

export type DatasetActivities = ReturnType<typeof createDatasetActivities>;
