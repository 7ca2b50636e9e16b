import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeMixFiles } from '../../client/dataset-command';
import type { BuildDatasetInput, BuildDatasetResult } from '../../activities/dataset/build-dataset';
import { AGENT_TOOLS } from '../../core/agent/tools';
import type { Trajectory } from '../../core/agent/trajectory';
import { TaskQueues } from '../../core/queues';
import { renderChatml, toInferenceMessages, type InferenceMessage } from '../../core/sft/hermes-format';
import type { DatasetReport } from '../../core/sft/dataset-report';
import { qwen3CountTokens, renderQwen3Template } from '../../core/sft/qwen3';
import type { LedgerEntry } from '../../core/sft/sample-record';
import { proveSftLine, SftLineSchema, type SftLine } from '../../core/sft/sft-line';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { startTeacherServer, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunResult } from '../../workflows/svg-run';
import { applicationCause } from '../support/failures';
import { askReference } from '../support/reference';
import { specializeExample } from '../support/specialize';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

// Made on use: the test server's settings choose the artifact directory.
const store = (): LocalArtifactStore => new LocalArtifactStore(artifactsDir());
const text = async (id: string): Promise<string> => (await store().get(id)).toString('utf8');

/** The conversation a line comes from, read from the store by the provenance its dataset report gives. */
async function sourceOf(line: SftLine, report: DatasetReport): Promise<InferenceMessage[]> {
  const where = report.sources[line.id];
  if (!where) throw new Error(`the dataset report names no source for ${line.id}`);
  const trajectory = JSON.parse(await text(where.trajectory)) as Trajectory;
  return toInferenceMessages(trajectory.messages).slice(0, line.meta.sourceMessages);
}

async function linesOf(result: { dataset: { id: string } } | { artifact: string }): Promise<string[]> {
  const id = 'artifact' in result ? result.artifact : result.dataset.id;
  return (await text(id)).split('\n').filter(Boolean);
}

describe('the dataset stage on a real run of the example repository', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  let run: SvgRunResult;
  let runId: string;
  let workflowId: string;
  beforeAll(async () => {
    teacher = await startTeacherServer({ fidelity: 0.7 });
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: 'dataset-tests' });
    runId = uniqueRunId('data');
    workflowId = `sera-run-${runId}`;
    run = await specializeExample(workers.client, runId, teacher.url, {
      samples: 12,
      concurrency: 4,
      seed: 5,
      samplesPerContinue: 5,
    });
  }, 600_000);
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  const build = (
    input: Omit<BuildDatasetInput, 'runId' | 'runThreshold'>,
    id: string,
  ): Promise<BuildDatasetResult> =>
    workers.client.workflow.execute('buildDataset', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${workflowId}-${id}`,
      args: [{ runId, runThreshold: 1, ...input }],
    });

  it('the run builds a dataset of its accepted samples whose every line passes the format proof', async () => {
    expect(run.ledger.length).toBe(3); // 12 samples in segments of 5, 5 and 2
    expect(run.dataset).toBeDefined();
    const lines = await linesOf(run.dataset!);
    const acceptedIndexes: number[] = [];
    for (const chunk of run.ledger)
      for (const entry of JSON.parse(await text(chunk)) as LedgerEntry[])
        if (entry.accepted) acceptedIndexes.push(entry.index);
    expect(acceptedIndexes).toHaveLength(run.acceptedCount!);
    // Offline-teacher changes are small and short, so every accepted sample passes the filters.
    expect(lines.length).toBe(run.acceptedCount);
    expect(run.dataset!.lines).toBe(lines.length);
    expect(lines.length).toBeGreaterThan(0);
    const report = JSON.parse(await text(run.dataset!.report)) as DatasetReport;
    for (const raw of lines) {
      const line = SftLineSchema.parse(JSON.parse(raw));
      const source = await sourceOf(line, report);
      expect(proveSftLine(raw, source, AGENT_TOOLS, renderQwen3Template)).toEqual([]);
      expect(line.meta.tokens).toBe(qwen3CountTokens(renderChatml(line.messages)));
      expect(line.meta.source).toBe('T2');
      expect(acceptedIndexes).toContain(line.meta.index);
    }
    // The same lines, rendered by transformers from their sources, agree byte for byte.
    const sample = await Promise.all(lines.slice(0, 3).map((raw) => SftLineSchema.parse(JSON.parse(raw))));
    const reference = askReference({
      conversations: await Promise.all(
        sample.map(async (l) => ({ messages: await sourceOf(l, report), tools: AGENT_TOOLS })),
      ),
    });
    sample.forEach((l, i) => expect(renderChatml(l.messages)).toBe(reference.renders[i]));

    const funnel = report.funnel.T2!;
    expect(funnel.considered).toBe(12);
    expect(funnel.selected).toBe(lines.length);
    expect(funnel.considered - Object.values(funnel.rejected).reduce((a, b) => a + b, 0)).toBe(funnel.passed);
    const memo = await (await workers.client.workflow.getHandle(run.dataset!.workflowId).describe()).memo;
    expect(memo).toMatchObject({
      datasetArtifact: run.dataset!.artifact,
      reportArtifact: run.dataset!.report,
    });
  });

  it('reports and skips a corrupted or missing record, and keeps every other sample', async () => {
    const entries: LedgerEntry[] = [];
    for (const chunk of run.ledger) entries.push(...(JSON.parse(await text(chunk)) as LedgerEntry[]));
    const accepted = entries.filter((e) => e.accepted);
    expect(accepted.length).toBeGreaterThanOrEqual(2);
    const garbage = await store().put('{"runId": "x", "index": ', 'application/json');
    const broken = entries.map((e) =>
      e.index === accepted[0]!.index
        ? { ...e, record: garbage.id }
        : e.index === accepted[1]!.index
          ? { ...e, record: `sha256:${'0'.repeat(64)}` }
          : e,
    );
    const ledger = [(await store().put(JSON.stringify(broken), 'application/json')).id];
    const result = await build({ ledger, config: {} }, 'corrupt');
    expect(result.lines).toBe(accepted.length - 2);
    expect(result.problems).toBe(2);
    const report = JSON.parse(await text(result.report.id)) as DatasetReport;
    expect(report.problems.map((p) => p.index).sort()).toEqual(
      [accepted[0]!.index, accepted[1]!.index].sort(),
    );
    expect(report.problems[0]!.error).toMatch(/JSON|not a sample record|not in the store/);
    expect(report.funnel.T2!.rejected.unreadable_record).toBe(2);
  });

  it('mixes T1 and T2, cuts to a small context, ranks by truncation ratio and keeps the configured size', async () => {
    const result = await build(
      { ledger: run.ledger, config: { trajectories: 'T1+T2', maxTokens: 2500, size: 8 }, output: undefined },
      'mixed',
    );
    const lines = (await linesOf(result)).map((raw) => SftLineSchema.parse(JSON.parse(raw)));
    const report = JSON.parse(await text(result.report.id)) as DatasetReport;
    expect(Object.keys(report.sources).sort()).toEqual(lines.map((l) => l.id).sort());
    expect(lines.length).toBe(8);
    expect(new Set(lines.map((l) => l.meta.source))).toEqual(new Set(['T1', 'T2']));
    const ratios = lines.map((l) => l.meta.truncationRatio);
    expect(ratios).toEqual([...ratios].sort((a, b) => b - a));
    expect(ratios.some((r) => r < 1)).toBe(true);
    for (const l of lines) {
      expect(l.meta.tokens).toBeLessThanOrEqual(2500);
      expect(l.messages[l.messages.length - 1]!.role === 'assistant' || l.meta.truncationRatio === 1).toBe(
        true,
      );
      expect(
        proveSftLine(JSON.stringify(l), await sourceOf(l, report), AGENT_TOOLS, renderQwen3Template),
      ).toEqual([]);
    }
    expect(report.funnel.T1!.selected + report.funnel.T2!.selected).toBe(8);
    expect((report.funnel.T1!.rejected.over_size ?? 0) + (report.funnel.T2!.rejected.over_size ?? 0)).toBe(
      report.funnel.T1!.passed + report.funnel.T2!.passed - 8,
    );
  });

  it('mixes general data from another dataset and a JSONL file, refusing a file with a bad line first', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sera-mix-'));
    try {
      // The general data: the run's own dataset (as another run's would be) and a file of its lines.
      const general = await linesOf(run.dataset!);
      const file = path.join(dir, 'general.jsonl');
      writeFileSync(file, `${general[0]}\n${general[1]!.replace('"train":false', '"train":true')}\n`);
      const config = (alpha: number) => ({
        trajectories: 'T1' as const,
        mix: { alpha, sources: [{ artifact: run.dataset!.artifact }, { file }] },
      });
      const refused = await build(
        { ledger: run.ledger, config: await storeMixFiles(config(0.5)) },
        'mix-bad',
      ).catch((e: unknown) => e);
      expect(applicationCause(refused)).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
      expect(applicationCause(refused).message).toMatch(
        /^dataset\.mix\.sources\[1\] \(.*general\.jsonl\): 1 of 2 lines fail the format proof: line 2: message 0 \(system\) has train=true/,
      );

      writeFileSync(file, `${general[0]}\n`);
      const result = await build({ ledger: run.ledger, config: await storeMixFiles(config(0.5)) }, 'mix');
      const lines = (await linesOf(result)).map((raw) => SftLineSchema.parse(JSON.parse(raw)));
      const report = JSON.parse(await text(result.report.id)) as DatasetReport;
      expect(report.mix!.lines).toBe(lines.length);
      expect(report.mix!.repository.taken).toBe(Math.round(0.5 * report.mix!.lines));
      expect(lines.filter((l) => l.meta.source === 'T1')).toHaveLength(report.mix!.repository.taken);
      expect(report.mix!.sources.map((s) => s.available)).toEqual([general.length, 1]);
      expect(report.mix!.sources.reduce((n, s) => n + s.taken, 0)).toBe(
        lines.length - report.mix!.repository.taken,
      );
      expect(result.mix?.general.map((g) => g.name)).toEqual([run.dataset!.artifact, file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad dataset config with a clear, non-retryable error', async () => {
    const refused = await build(
      { ledger: run.ledger, config: { maxChangedLines: -1 } as never },
      'bad',
    ).catch((e: unknown) => e);
    expect(applicationCause(refused)).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(applicationCause(refused).message).toContain('invalid dataset config: maxChangedLines');
    const handle = workers.client.workflow.getHandle(`${workflowId}-bad`);
    const history = await handle.fetchHistory();
    const failure = JSON.stringify(history.events?.filter((e) => e.activityTaskFailedEventAttributes));
    expect(failure).toContain('invalid dataset config: maxChangedLines');
    expect(history.events?.filter((e) => e.activityTaskStartedEventAttributes).length).toBe(1);
  });
});
