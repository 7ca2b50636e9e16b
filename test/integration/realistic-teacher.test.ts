import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_TOOLS } from '../../core/agent/tools';
import type { ReplyProblem, Trajectory } from '../../core/agent/trajectory';
import { toInferenceMessages } from '../../core/sft/hermes-format';
import type { DatasetReport } from '../../core/sft/dataset-report';
import { renderQwen3Template } from '../../core/sft/qwen3';
import { SampleRecordSchema, type LedgerEntry, type SampleRecord } from '../../core/sft/sample-record';
import { proveSftLine, SftLineSchema } from '../../core/sft/sft-line';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunResult } from '../../workflows/svg-run';
import { specializeExample } from '../support/specialize';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const store = (): LocalArtifactStore => new LocalArtifactStore(artifactsDir());
const text = async (id: string): Promise<string> => (await store().get(id)).toString('utf8');

const REPRODUCTION_FILE = /^diff --git a\/(reproduce_issue\.\w+|ReproduceIssue\.java) /m;

async function chat(url: string, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: TEACHER_MODEL, ...body }),
  });
  return response.text();
}

describe('the realistic teacher over HTTP', () => {
  let teacher: TeacherServer;
  beforeAll(async () => {
    teacher = await startTeacherServer({ mode: 'realistic', realistic: { rates: { reasoning: 1 } } });
  });
  afterAll(() => teacher?.close());

  it('gives the same bytes for the same seed and messages, other bytes for another seed', async () => {
    const messages = [
      { role: 'user', content: 'Below is a patch that was made to a repository.\n<patch>\n+x\n</patch>' },
    ];
    const a = await chat(teacher.url, { messages, seed: 4 });
    expect(await chat(teacher.url, { messages, seed: 4 })).toBe(a);
    expect(await chat(teacher.url, { messages, seed: 5 })).not.toBe(a);
    const body = JSON.parse(a) as { choices: Array<{ message: Record<string, unknown> }> };
    const message = body.choices[0]!.message;
    expect(
      typeof message.reasoning_content === 'string' || String(message.content).startsWith('<think>'),
    ).toBe(true);
    expect(teacher.behaviours.reasoning_field + teacher.behaviours.reasoning_inline).toBe(3);
  });

  it('cuts a reply whose max_tokens (or max_completion_tokens) is too small', async () => {
    const messages = [{ role: 'user', content: 'Fix it.\n<task>\nsomething\n</task>' }];
    for (const limit of [{ max_tokens: 50 }, { max_completion_tokens: 50 }]) {
      const body = JSON.parse(
        await chat(teacher.url, { messages, seed: 1, tools: AGENT_TOOLS, ...limit }),
      ) as {
        choices: Array<{ finish_reason: string }>;
        usage: { completion_tokens: number };
      };
      expect(body.choices[0]?.finish_reason).toBe('length');
      expect(body.usage.completion_tokens).toBe(50);
    }
  });
});

describe('a generation run with the realistic teacher', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  let run: SvgRunResult;
  beforeAll(async () => {
    // Rates above the defaults, so that a short run meets every behaviour.
    teacher = await startTeacherServer({
      fidelity: 0.8,
      mode: 'realistic',
      realistic: { rates: { cut: 0.15, noToolCall: 0.1, empty: 0.05, parallel: 0.5, reproduction: 1 } },
    });
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: 'realistic-tests' });
    const runId = uniqueRunId('real');
    run = await specializeExample(workers.client, runId, teacher.url, {
      teacher: { baseUrl: teacher.url, model: TEACHER_MODEL, maxTokens: 4096 },
      samples: 8,
      concurrency: 4,
      seed: 11,
    });
  }, 900_000);
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  it('completes; samples end with a reason; reasoning is kept apart; no reproduction script is accepted', async () => {
    expect(run.status).toBe('completed');
    const entries: LedgerEntry[] = [];
    for (const chunk of run.ledger) entries.push(...(JSON.parse(await text(chunk)) as LedgerEntry[]));
    expect(entries).toHaveLength(8);
    const records: SampleRecord[] = [];
    for (const entry of entries) {
      expect(entry.accepted || Boolean(entry.reason)).toBe(true);
      expect(entry.record).toBeDefined();
      records.push(SampleRecordSchema.parse(JSON.parse(await text(entry.record!))));
    }

    const retried: Partial<Record<ReplyProblem, number>> = {};
    let reasoned = 0;
    for (const record of records) {
      for (const part of [record.rollout1, record.rollout2]) {
        if (!part) continue;
        const trajectory = JSON.parse(await text(part.trajectory.id)) as Trajectory;
        for (const m of trajectory.messages) {
          if (m.role !== 'assistant') continue;
          expect(m.content ?? '').not.toContain('<think>');
          expect(m.content ?? '').not.toContain('</think>');
          if (m.reasoning) reasoned += 1;
        }
        for (const turn of trajectory.turns)
          for (const [problem, n] of Object.entries(turn.retried ?? {}) as Array<[ReplyProblem, number]>)
            retried[problem] = (retried[problem] ?? 0) + n;
      }
      if (record.accepted) {
        for (const part of [record.rollout1, record.rollout2]) {
          if (part?.patch) expect(await text(part.patch.id)).not.toMatch(REPRODUCTION_FILE);
        }
      }
    }
    console.log(
      'realistic behaviours',
      teacher.behaviours,
      'retried',
      retried,
      'accepted',
      run.acceptedCount,
    );
    expect(run.acceptedCount).toBeGreaterThan(0);
    expect(reasoned).toBeGreaterThan(0);
    expect(teacher.behaviours.reproduction_created).toBeGreaterThan(0);
    expect(teacher.behaviours.reproduction_removed).toBeGreaterThan(0);
    expect(teacher.behaviours.cut_length).toBeGreaterThan(0);
    expect(teacher.behaviours.no_tool_call + teacher.behaviours.empty).toBeGreaterThan(0);
    expect(teacher.behaviours.decoy).toBeGreaterThan(0);
    expect(retried.length ?? 0).toBeGreaterThan(0);
    expect((retried.no_tool_call ?? 0) + (retried.empty ?? 0)).toBeGreaterThan(0);
  });

  it('builds a dataset whose every line passes the format proof', async () => {
    expect(run.dataset).toBeDefined();
    const lines = (await text(run.dataset!.artifact)).split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    const report = JSON.parse(await text(run.dataset!.report)) as DatasetReport;
    for (const raw of lines) {
      const line = SftLineSchema.parse(JSON.parse(raw));
      const where = report.sources[line.id];
      expect(where).toBeDefined();
      const trajectory = JSON.parse(await text(where!.trajectory)) as Trajectory;
      const source = toInferenceMessages(trajectory.messages).slice(0, line.meta.sourceMessages);
      expect(proveSftLine(raw, source, AGENT_TOOLS, renderQwen3Template)).toEqual([]);
    }
  });
});
