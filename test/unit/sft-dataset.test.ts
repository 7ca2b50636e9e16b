import { describe, expect, it } from 'vitest';
import { AGENT_TOOLS } from '../../core/agent/tools';
import {
  bugCategory,
  decideCandidate,
  rankByTruncationRatio,
  type Candidate,
} from '../../core/sft/candidates';
import { DatasetConfigSchema } from '../../core/sft/dataset-config';
import {
  datasetCharts,
  histogram,
  summarizeDataset,
  type DatasetReport,
} from '../../core/sft/dataset-report';
import { qwen3CountTokens, renderQwen3Template } from '../../core/sft/qwen3';
import { SampleRecordSchema } from '../../core/sft/sample-record';
import { proveSftLine, type SftLine } from '../../core/sft/sft-line';
import { assistant, conversation } from '../support/sft';

const header = 'diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n';
const config = { ...DatasetConfigSchema.parse({}), threshold: 1 };

function candidate(overrides: Partial<Candidate> & { recall?: number } = {}): Candidate {
  const { recall = 1, ...rest } = overrides;
  return {
    record: SampleRecordSchema.parse({
      runId: 'r',
      index: 3,
      plan: { template: 3, function: { name: 'f', file: 'm.py' } },
      accepted: true,
      verification: { recall },
    }),
    source: 'T2',
    trajectoryId: 'sha256:t',
    exitStatus: 'submitted',
    messages: conversation(),
    patch: `${header}-    a = 1\n+    a = 2\n`,
    ...rest,
  };
}

const decide = (c: Candidate, overrides: Partial<typeof config> = {}) =>
  decideCandidate(c, { ...config, ...overrides }, AGENT_TOOLS, qwen3CountTokens);

describe('the dataset filters', () => {
  it('takes T1 only where the judge said yes; a record without a judgement keeps the old rule', () => {
    const withJudge = (judge?: string): Candidate => {
      const c = candidate({ source: 'T1' });
      return { ...c, record: { ...c.record, ...(judge ? { judge } : {}) } };
    };
    expect(decide(withJudge('yes')).kind).toBe('kept');
    expect(decide(withJudge()).kind).toBe('kept');
    expect(decide(withJudge('no'))).toMatchObject({ kind: 'rejected', reason: 'judge_did_not_accept' });
    expect(decide(withJudge('unreadable'))).toMatchObject({
      kind: 'rejected',
      reason: 'judge_did_not_accept',
    });
    // T2 is judged by its recall, not by the judge.
    expect(decide({ ...withJudge('no'), source: 'T2' }).kind).toBe('kept');
  });

  it('keeps a submitted, verified, small trajectory, as a line that passes the format proof', () => {
    const decision = decide(candidate());
    if (decision.kind !== 'kept') throw new Error(`rejected: ${decision.reason}`);
    expect(decision.line.meta).toMatchObject({
      source: 'T2',
      recall: 1,
      changedLines: 2,
      truncationRatio: 1,
      bugCategory: 'error handling',
    });
    expect(
      proveSftLine(JSON.stringify(decision.line), decision.inference, AGENT_TOOLS, renderQwen3Template),
    ).toEqual([]);
  });

  it('takes only submitted rollouts', () => {
    expect(decide(candidate({ exitStatus: 'exit_turns' }))).toMatchObject({
      reason: 'not_submitted_exit_turns',
    });
  });

  it('needs recall at the threshold for T2, not for T1', () => {
    expect(decide(candidate({ recall: 0.5 }), { threshold: 0.5 }).kind).toBe('kept');
    expect(decide(candidate({ recall: 0.49 }), { threshold: 0.5 })).toMatchObject({
      reason: 'recall_below_threshold',
    });
    expect(decide(candidate({ recall: 0.2, source: 'T1' })).kind).toBe('kept');
  });

  it('counts changed lines as added + deleted, blank and whitespace-only lines included, repeats counted each time', () => {
    const lines = (n: number, text: string) => Array.from({ length: n }, () => text).join('\n');
    const repeated = `${header}${lines(20, '-x')}\n${lines(20, '+x')}\n`;
    expect(decide(candidate({ patch: repeated }))).toMatchObject({ kind: 'kept' });
    const oneMore = `${header}${lines(20, '-x')}\n${lines(20, '+x')}\n+\n`;
    expect(decide(candidate({ patch: oneMore }))).toMatchObject({
      reason: 'too_many_changed_lines',
      detail: '41 lines',
    });
    const whitespace = `${header}-    a = 1\n+  a = 1\n`;
    const kept = decide(candidate({ patch: whitespace }));
    expect(kept.kind === 'kept' && kept.line.meta.changedLines).toBe(2);
    expect(decide(candidate({ patch: oneMore }), { maxChangedLines: 41 }).kind).toBe('kept');
  });

  it('drops an empty patch and one whose only changes are blank lines', () => {
    expect(decide(candidate({ patch: '' }))).toMatchObject({ reason: 'empty_patch' });
    expect(decide(candidate({ patch: `${header}+\n+   \n` }))).toMatchObject({ reason: 'empty_patch' });
  });

  it('drops trajectories with a malformed tool call, and long tool responses when asked', () => {
    const malformed = [...conversation().slice(0, 2), assistant('x', ['bash', '{"command": '])];
    expect(decide(candidate({ messages: malformed }))).toMatchObject({ reason: 'malformed_tool_call' });
    const chatty = candidate({ messages: conversation('word '.repeat(2000)) });
    expect(decide(chatty).kind).toBe('kept');
    expect(decide(chatty, { maxAvgToolResponseTokens: 300 })).toMatchObject({
      reason: 'tool_responses_too_long',
    });
  });

  it('cuts to the context and drops what cannot fit one turn', () => {
    const long = candidate({ messages: conversation('word '.repeat(3000)) });
    const cut = decide(long, { maxTokens: 2000 });
    expect(cut.kind === 'kept' && cut.line.meta.truncationRatio).toBeCloseTo(3 / 10, 5);
    const [system, user, , ...rest] = conversation();
    const wordy = candidate({
      messages: [system!, user!, assistant('think '.repeat(3000), ['bash', { command: 'ls' }]), ...rest],
    });
    expect(decide(wordy, { maxTokens: 2000 })).toMatchObject({ reason: 'first_turn_too_long' });
  });
});

describe('selection and report', () => {
  const meta = (index: number, ratio: number, source: 'T1' | 'T2' = 'T2') =>
    ({ meta: { index, truncationRatio: ratio, source } }) as SftLine;

  it('orders by truncation ratio, highest first, ties by sample index then T2 first', () => {
    const ranked = rankByTruncationRatio([
      meta(1, 0.5),
      meta(2, 1),
      meta(0, 0.5, 'T1'),
      meta(0, 0.5),
      meta(3, 0.9),
    ]);
    expect(ranked.map((l) => `${l.meta.index}${l.meta.source}`)).toEqual(['2T2', '3T2', '0T2', '0T1', '1T2']);
  });

  it('bins values with the last bin closed, and names bug categories', () => {
    expect(histogram([0, 0.05, 0.1, 0.95, 1], 0, 1, 10).counts).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect([bugCategory(0), bugCategory(1), bugCategory(50)]).toEqual([
      'generic',
      'resource cleanup',
      expect.any(String),
    ]);
  });

  it('summarizes lines and draws one chart per distribution', () => {
    const lines = [1000, 3000, 5000].map(
      (tokens, i) =>
        ({
          meta: {
            index: i,
            tokens,
            truncationRatio: i === 2 ? 0.5 : 1,
            changedLines: 4,
            bugCategory: 'naming',
            source: 'T2',
          },
        }) as SftLine,
    );
    const summary = summarizeDataset(lines, [1, 0.5], config);
    expect(summary.dataset).toEqual({
      lines: 3,
      tokens: { total: 9000, mean: 3000, median: 3000, max: 5000 },
      truncated: 1,
      meanTruncationRatio: 2.5 / 3,
    });
    const report: DatasetReport = {
      runId: 'r',
      config,
      samples: 3,
      funnel: { T2: { considered: 4, rejected: { empty_patch: 1 }, passed: 3, selected: 3 } },
      problems: [],
      sources: {},
      ...summary,
    };
    const charts = datasetCharts(report);
    expect(Object.keys(charts).sort()).toEqual([
      'bug-categories.svg',
      'changed-lines.svg',
      'funnel.svg',
      'recall.svg',
      'tokens.svg',
      'truncation-ratio.svg',
    ]);
    expect(charts['funnel.svg']).toContain('T2 empty_patch');
    for (const svg of Object.values(charts)) expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });
});
