import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatasetActivities, type BuildDatasetInput } from '../../activities/dataset/build-dataset';
import type { ChatMessage } from '../../core/agent/trajectory';
import { AGENT_TOOLS } from '../../core/agent/tools';
import { decideCandidate } from '../../core/sft/candidates';
import { DatasetConfigSchema } from '../../core/sft/dataset-config';
import {
  describeBadSource,
  drawMix,
  mixReport,
  planMix,
  proveGeneralLine,
  proveGeneralSource,
} from '../../core/sft/dataset-mix';
import { datasetCharts, type DatasetReport } from '../../core/sft/dataset-report';
import { pythonJsonDumps } from '../../core/sft/python-json';
import { qwen3CountTokens, renderQwen3Template } from '../../core/sft/qwen3';
import { SampleRecordSchema, type LedgerEntry } from '../../core/sft/sample-record';
import { SftLineSchema, type SftLine } from '../../core/sft/sft-line';
import { RunConfigSchema } from '../../core/run-config';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { assistant, conversation, tool } from '../support/sft';

const PATCH = 'diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n-    a = 1\n+    a = 2\n';
const config = { ...DatasetConfigSchema.parse({}), threshold: 1 };

function record(runId: string, index: number) {
  return SampleRecordSchema.parse({
    runId,
    index,
    plan: { template: index % 51, function: { name: 'f', file: 'm.py' } },
    accepted: true,
    verification: { recall: 1 },
  });
}

/** A line exactly as the dataset stage exports it. */
function exportedLine(
  runId: string,
  index: number,
  messages = conversation(`OBSERVATION:\nfile${index}.py\n`),
) {
  const decision = decideCandidate(
    {
      record: record(runId, index),
      source: 'T2',
      trajectoryId: 'sha256:t',
      exitStatus: 'submitted',
      messages,
      patch: PATCH,
    },
    config,
    AGENT_TOOLS,
    qwen3CountTokens,
  );
  if (decision.kind !== 'kept') throw new Error(`rejected: ${decision.reason}`);
  return decision.line;
}

const prove = (text: string, maxTokens = 32_768) =>
  proveGeneralLine(text, maxTokens, renderQwen3Template, qwen3CountTokens);
const flawsOf = (text: string, maxTokens?: number): string[] => {
  const result = prove(text, maxTokens);
  return 'flaws' in result ? result.flaws : [];
};

describe('the format proof of a general line', () => {
  it('proves lines the dataset stage exports, whole and cut, and counts their tokens', () => {
    const whole = exportedLine('g', 1);
    const long = conversation('word '.repeat(3000));
    const cutDecision = decideCandidate(
      {
        record: record('g', 2),
        source: 'T2',
        trajectoryId: 'sha256:t',
        exitStatus: 'submitted',
        messages: long,
        patch: PATCH,
      },
      { ...config, maxTokens: 2000 },
      AGENT_TOOLS,
      qwen3CountTokens,
    );
    if (cutDecision.kind !== 'kept') throw new Error('the long conversation was not kept');
    expect(cutDecision.line.meta.truncationRatio).toBeLessThan(1);
    for (const line of [whole, cutDecision.line]) {
      const result = prove(JSON.stringify(line));
      expect(result).toHaveProperty('proven');
      if ('proven' in result) expect(result.proven.tokens).toBe(line.meta.tokens);
    }
  });

  it('proves a line with other tools than the agent’s, and a plain chat line with none', () => {
    const other = {
      type: 'function',
      function: { name: 'search', description: 'Search the web.', parameters: {} },
    };
    const messages: ChatMessage[] = [
      { role: 'user', content: 'What is 2 + 2?' },
      assistant('Search it.', ['search', { q: '2 + 2' }]),
      tool('4'),
      assistant('It is 4.'),
    ];
    const line = exportedLine('g', 3, messages);
    // The exporter always writes the agent's tools; swap them for another tool set by hand.
    const withOther = {
      ...line,
      messages: line.messages.map((m, i) =>
        i === 0
          ? {
              ...m,
              content: m.content.replace(
                /<tools>[\s\S]*<\/tools>/,
                `<tools>\n${pythonJsonDumps(other)}\n</tools>`,
              ),
            }
          : m,
      ),
    };
    expect(flawsOf(JSON.stringify(withOther))).toEqual([]);
    const chat: SftLine = {
      id: 'chat-1',
      messages: [
        { role: 'system', content: 'Be brief.', train: false },
        { role: 'user', content: 'Hi', train: false },
        { role: 'assistant', content: '<think>\n\n</think>\n\nHello.', train: true },
      ],
      meta: { ...line.meta },
    };
    expect(flawsOf(JSON.stringify(chat))).toEqual([]);
    // Without the empty think block the template would write, the last turn is not the template's.
    const bare = {
      ...chat,
      messages: [...chat.messages.slice(0, 2), { ...chat.messages[2]!, content: 'Hello.' }],
    };
    expect(flawsOf(JSON.stringify(bare)).join()).toMatch(/chat template rendering/);
  });

  it('names what is wrong with a line that is not what the template writes', () => {
    const line = exportedLine('g', 4);
    const text = JSON.stringify(line);
    const edit = (change: (l: SftLine) => void): string => {
      const copy = JSON.parse(text) as SftLine;
      change(copy);
      return JSON.stringify(copy);
    };
    expect(flawsOf(text.slice(0, -3)).join()).toMatch(/^not JSON/);
    expect(flawsOf(JSON.stringify({ id: 'x', messages: line.messages })).join()).toMatch(
      /not the export format: meta/,
    );
    expect(flawsOf(edit((l) => (l.messages[1]!.train = true))).join()).toMatch(
      /message 1 \(user\) has train=true/,
    );
    // Compact arguments are not what vLLM hands back nor what the template writes.
    const compact = edit((l) => {
      l.messages[2]!.content = l.messages[2]!.content.replace('{"command": "ls"}', '{"command":"ls"}');
    });
    expect(compact).not.toBe(text);
    expect(flawsOf(compact).join()).toMatch(/chatml text differs/);
    const broken = edit((l) => {
      l.messages[2]!.content = l.messages[2]!.content.replace('{"command": "ls"}', '{"command": ');
    });
    expect(flawsOf(broken).join()).toMatch(/message 2: tool call 1 is not JSON/);
    const afterCalls = edit((l) => (l.messages[2]!.content += '\nand more'));
    expect(flawsOf(afterCalls).join()).toMatch(/message 2: text after its tool calls/);
    const badTool = edit(
      (l) => (l.messages[0]!.content = l.messages[0]!.content.replace('{"type": "function"', '{type')),
    );
    expect(flawsOf(badTool).join()).toMatch(/tool 1 in the system turn is not JSON/);
    expect(flawsOf(text, line.meta.tokens - 1).join()).toMatch(
      new RegExp(`${line.meta.tokens} tokens, more than the context \\(maxTokens ${line.meta.tokens - 1}\\)`),
    );
  });

  it('names a source and its first ten bad lines by number, blank lines skipped but counted', async () => {
    const good = JSON.stringify(exportedLine('g', 5));
    const rows = [good, '', 'not json', good];
    for (let i = 0; i < 11; i += 1) rows.push('{"id": "x"}');
    const content = `${rows.join('\n')}\n`;
    const result = await proveGeneralSource(content, 32_768, renderQwen3Template, qwen3CountTokens);
    expect(result.total).toBe(14);
    expect(result.lines).toHaveLength(2);
    expect(result.bad.map((b) => b.line)).toEqual([3, ...Array.from({ length: 11 }, (_, i) => i + 5)]);
    const message = describeBadSource(
      'dataset.mix.sources[1] (file general.jsonl)',
      result.bad,
      result.total,
    );
    expect(message).toMatch(
      /^dataset\.mix\.sources\[1\] \(file general\.jsonl\): 12 of 14 lines fail the format proof \(first 10 shown\): line 3: not JSON/,
    );
    expect(message).toContain('line 13: not the export format');
    expect(message).not.toContain('line 14');
  });
});

describe('the mix arithmetic', () => {
  it('keeps the repository dataset’s size unless a size is given, round(α·size) of it from the repository', () => {
    expect(planMix(0.5, 10, 100)).toMatchObject({ requested: 10, total: 10, repository: 5, general: 5 });
    expect(planMix(0.3, 10, 100, 7)).toMatchObject({ total: 7, repository: 2, general: 5 });
    expect(planMix(0.5, 10, 100, 5)).toMatchObject({ repository: 3, general: 2 }); // 2.5 rounds up
    expect(planMix(1, 10, 0)).toMatchObject({ total: 10, repository: 10, general: 0 });
    expect(planMix(0, 10, 100, 40)).toMatchObject({ total: 40, repository: 0, general: 40 });
    expect(planMix(0.5, 10, 100).shortfall).toBeUndefined();
  });

  it('shrinks the total, keeping α, when a side has too few lines, and says which', () => {
    const generalShort = planMix(0.5, 10, 3);
    // 7 lines: round(3.5) = 4 from the repository and 3 general, the most both sides can fill.
    expect(generalShort).toMatchObject({ requested: 10, total: 7, repository: 4, general: 3 });
    expect(generalShort.shortfall).toMatch(/general sources have 3 proven lines/);
    const repositoryShort = planMix(0.75, 10, 100, 20);
    expect(repositoryShort).toMatchObject({ total: 13, repository: 10, general: 3 });
    expect(repositoryShort.shortfall).toMatch(/repository dataset has 10 lines, α 0.75 of 20 needs 15/);
    expect(planMix(0, 5, 0)).toMatchObject({ total: 0, repository: 0, general: 0 });
  });

  it('takes the best-ranked repository lines, draws general ones by the seed, and shuffles by the seed', () => {
    const repository = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const sources = [
      Array.from({ length: 20 }, (_, i) => `a${i}`),
      Array.from({ length: 20 }, (_, i) => `b${i}`),
    ];
    const plan = planMix(0.4, repository.length, 40, 20);
    const mixed = drawMix(plan, repository, sources, 7);
    expect(mixed).toHaveLength(20);
    expect(
      mixed
        .filter((m) => m.from === 'repository')
        .map((m) => m.item)
        .sort(),
    ).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'].sort());
    const general = mixed.filter((m) => m.from !== 'repository');
    expect(general).toHaveLength(12);
    expect(new Set(general.map((m) => m.item)).size).toBe(12);
    for (const m of general) expect(m.item.startsWith(m.from === 0 ? 'a' : 'b')).toBe(true);
    expect(drawMix(plan, repository, sources, 7)).toEqual(mixed);
    const other = drawMix(plan, repository, sources, 8);
    expect(other.map((m) => m.item)).not.toEqual(mixed.map((m) => m.item));
    // Shuffled: the repository lines are not simply first.
    expect(mixed.slice(0, 8).every((m) => m.from === 'repository')).toBe(false);
  });

  it('reports lines and tokens of each side, and draws them as a chart', () => {
    const plan = planMix(0.5, 2, 3, 4);
    const line = (tokens: number) => ({ meta: { tokens } });
    const mixed = drawMix(plan, [line(100), line(200)], [[line(10)], [line(20), line(30)]], 1);
    const mix = DatasetConfigSchema.parse({
      mix: { alpha: 0.5, sources: [{ artifact: `sha256:${'a'.repeat(64)}` }] },
    }).mix!;
    const report = mixReport(mix, plan, mixed, [
      { name: 'other-run', artifact: 'sha256:a', available: 1 },
      { name: 'general.jsonl', artifact: 'sha256:b', available: 2 },
    ]);
    expect(report.repository).toEqual({ available: 2, taken: 2, tokens: 300 });
    expect(report.sources.reduce((n, s) => n + s.taken, 0)).toBe(2);
    expect(report.sources.reduce((n, s) => n + s.tokens, 0)).toBe(
      mixed.filter((m) => m.from !== 'repository').reduce((n, m) => n + m.item.meta.tokens, 0),
    );
    expect(report).toMatchObject({ alpha: 0.5, seed: 0, requested: 4, lines: 4, repositoryShare: 0.5 });
    const charts = datasetCharts({
      runId: 'r',
      config: { ...config, mix },
      samples: 2,
      funnel: {},
      problems: [],
      sources: {},
      mix: report,
      dataset: {
        lines: 4,
        tokens: { total: 0, mean: 0, median: 0, max: 0 },
        truncated: 0,
        meanTruncationRatio: 1,
      },
      distributions: {
        tokens: { edges: [0, 1], counts: [0] },
        truncationRatio: { edges: [0, 1], counts: [0] },
        recall: { edges: [0, 1], counts: [0] },
        changedLines: { edges: [0, 1], counts: [0] },
        bugCategories: {},
      },
    });
    expect(charts['mix.svg']).toContain('general.jsonl');
    expect(charts['mix.svg']).toContain('α 0.5');
  });

  it('takes the mix in dataset and run configs, and nothing changes without one', () => {
    expect(DatasetConfigSchema.parse({})).not.toHaveProperty('mix');
    const artifact = `sha256:${'0'.repeat(64)}`;
    const run = RunConfigSchema.parse({
      runId: 'r',
      repository: { path: '/r', commit: 'HEAD' },
      teacher: { baseUrl: 'http://127.0.0.1:1/v1', model: 'm' },
      samples: 1,
      dataset: { mix: { alpha: 0.25, sources: [{ artifact }, { file: 'general.jsonl' }], size: 100 } },
    });
    expect(run.dataset.mix).toEqual({
      alpha: 0.25,
      sources: [{ artifact }, { file: 'general.jsonl' }],
      size: 100,
      seed: 0,
    });
    const refused = (mix: unknown) => !DatasetConfigSchema.safeParse({ mix }).success;
    expect(refused({ alpha: 1.5, sources: [{ artifact }] })).toBe(true);
    expect(refused({ alpha: 0.5, sources: [] })).toBe(true);
    expect(refused({ alpha: 0.5, sources: [{ artifact: 'sha256:abc' }] })).toBe(true);
    expect(refused({ alpha: 0.5, sources: [{ artifact, file: 'x' }] })).toBe(true);
  });
});

describe('the dataset stage with general data mixed in', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sera-mix-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const store = new LocalArtifactStore(root);
  const activities = createDatasetActivities({ artifacts: store });

  /** A run of `samples` accepted samples, stored as the run would store them. */
  async function ledgerOf(runId: string, samples: number): Promise<string[]> {
    const entries: LedgerEntry[] = [];
    for (let index = 0; index < samples; index += 1) {
      const trajectory = await store.put(
        JSON.stringify({ messages: conversation(`OBSERVATION:\nfile${index}.py\n`) }),
        'application/json',
      );
      const patch = await store.put(PATCH, 'text/x-diff');
      const rec = await store.put(
        JSON.stringify({
          ...record(runId, index),
          rollout2: { exitStatus: 'submitted', trajectory, patch },
        }),
        'application/json',
      );
      entries.push({ index, record: rec.id, accepted: true });
    }
    return [(await store.put(JSON.stringify(entries), 'application/json')).id];
  }
  const generalText = (n: number) =>
    `${Array.from({ length: n }, (_, i) => JSON.stringify(exportedLine('general', 100 + i))).join('\n')}\n`;
  const build = async (ledger: string[], cfg: BuildDatasetInput['config']) =>
    activities.exportDataset({ runId: 'repo', ledger, config: cfg, runThreshold: 1 });
  const lines = async (id: string) =>
    (await store.get(id))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => SftLineSchema.parse(JSON.parse(l)));

  it('writes α of the lines from the repository and the rest from the sources, shuffled, every line proven', async () => {
    const ledger = await ledgerOf('repo', 6);
    const plain = await build(ledger, {});
    const general = await store.put(generalText(8), 'application/x-ndjson');
    const mix = { alpha: 0.5, sources: [{ artifact: general.id, name: 'general.jsonl' }], seed: 3 };
    const result = await build(ledger, { mix });
    expect(result.lines).toBe(6);
    expect(result.mix).toEqual({ alpha: 0.5, repository: 3, general: [{ name: 'general.jsonl', lines: 3 }] });
    const mixed = await lines(result.dataset.id);
    expect(mixed.filter((l) => l.meta.runId === 'repo')).toHaveLength(3);
    expect(mixed.filter((l) => l.meta.runId === 'general')).toHaveLength(3);
    for (const l of mixed) expect(prove(JSON.stringify(l))).toHaveProperty('proven');
    // The repository lines are the best-ranked of the plain dataset.
    const plainIds = (await lines(plain.dataset.id)).map((l) => l.id);
    expect(
      mixed
        .filter((l) => l.meta.runId === 'repo')
        .map((l) => l.id)
        .sort(),
    ).toEqual(plainIds.slice(0, 3).sort());
    const report = JSON.parse((await store.get(result.report.id)).toString('utf8')) as DatasetReport;
    expect(report.mix).toMatchObject({ alpha: 0.5, lines: 6, repositoryShare: 0.5 });
    expect(report.mix!.repository).toMatchObject({ available: 6, taken: 3 });
    expect(report.mix!.sources[0]).toMatchObject({ name: 'general.jsonl', available: 8, taken: 3 });
    expect(report.mix!.repository.tokens + report.mix!.sources[0]!.tokens).toBe(report.dataset.tokens.total);
    expect(report.funnel.T2).toMatchObject({ passed: 6, selected: 3, rejected: { mix_share: 3 } });
    expect(Object.keys(report.sources).sort()).toEqual(plainIds.slice(0, 3).sort());
    expect(Object.keys(result.charts)).toContain('mix.svg');
    // The same inputs give the same bytes; another seed another order.
    expect((await build(ledger, { mix })).dataset.id).toBe(result.dataset.id);
    expect((await build(ledger, { mix: { ...mix, seed: 4 } })).dataset.id).not.toBe(result.dataset.id);
  });

  it('keeps the old dataset when no mix is given: ranked lines, no mix in the report or charts', async () => {
    const ledger = await ledgerOf('repo', 3);
    const result = await build(ledger, {});
    const expected = [0, 1, 2].map((i) => JSON.stringify(exportedLine('repo', i))).join('\n');
    expect((await store.get(result.dataset.id)).toString('utf8')).toBe(`${expected}\n`);
    const report = JSON.parse((await store.get(result.report.id)).toString('utf8')) as DatasetReport;
    expect(report).not.toHaveProperty('mix');
    expect(report.config).not.toHaveProperty('mix');
    expect(result).not.toHaveProperty('mix');
    expect(Object.keys(result.charts)).not.toContain('mix.svg');
  });

  it('fails as InvalidInput naming the source and its bad lines before training', async () => {
    const ledger = await ledgerOf('repo', 2);
    const good = generalText(3).split('\n');
    good[1] = good[1]!.replace('"train":false', '"train":true');
    const bad = await store.put(good.join('\n'), 'application/x-ndjson');
    const other = await store.put(generalText(2), 'application/x-ndjson');
    const error = await build(ledger, {
      mix: { alpha: 0.5, sources: [{ artifact: other.id }, { artifact: bad.id, name: 'general.jsonl' }] },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect((error as Error).message).toMatch(
      /^dataset\.mix\.sources\[1\] \(general\.jsonl\): 1 of 3 lines fail the format proof: line 2: message 0 \(system\) has train=true/,
    );
    const file = await build(ledger, { mix: { alpha: 0.5, sources: [{ file: 'general.jsonl' }] } }).catch(
      (e: unknown) => e,
    );
    expect(file).toMatchObject({ type: 'InvalidInput' });
    expect((file as Error).message).toMatch(
      /sources\[0\] \(file general.jsonl\): a file source must be stored as an artifact/,
    );
    const missing = await build(ledger, {
      mix: { alpha: 0.5, sources: [{ artifact: `sha256:${'1'.repeat(64)}` }] },
    }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ type: 'ArtifactMissing' });
    expect((missing as Error).message).toMatch(
      /^dataset\.mix\.sources\[0\] \(sha256:111111111111…\): artifact/,
    );
  });
});
