import { describe, expect, it } from 'vitest';
import { submitReview, taskMessage, TASK_CLOSE, TASK_OPEN } from '../../core/agent/prompts';
import { bugInstruction } from '../../core/agent/instructions';
import {
  judgeAnswer,
  prDescriptionPrompt,
  trajectoryJudgePrompt,
  type TrajectoryStep,
} from '../../core/agent/side-prompts';
import { stepsDropped } from '../../core/agent/steps';
import { askAgainShorter, type Ask } from '../../core/judge-attempts';
import { RunConfigSchema } from '../../core/run-config';
import { pickDemonstrations } from '../../activities/llm/side-calls';
import { rollout1Template } from '../../workflows/svg-sample';

const steps = (n: number): TrajectoryStep[] =>
  Array.from({ length: n }, (_, i) => ({ action: `a${i}`, observation: `o${i}`, response: `r${i}` }));

/** The first step index a judge prompt shows. */
const firstShown = (prompt: string): number => Number(/"action":"a(\d+)"/.exec(prompt)?.[1] ?? -1);

describe('the rollout task message', () => {
  const task = bugInstruction(13, 'window', 'pkg/mod.py');
  it('asks, in the authors’ way, to read, reproduce, edit, rerun and think of edge cases', () => {
    const text = taskMessage('change', task, { languages: ['python'] });
    expect(text).toContain(`${TASK_OPEN}\n${task}\n${TASK_CLOSE}`);
    for (const words of ['read it', 'reproduc', 'Edit the source', 'again', 'edge cases', 'non-test files'])
      expect(text).toContain(words);
    expect(text).toContain('`python reproduce.py`');
    // Rollout 1 is a lead about the function or its neighbours; rollout 2 and evaluation share words.
    expect(text).toMatch(/calls or that calls it/);
    expect(taskMessage('reproduce', 'PR text')).not.toMatch(/calls or that calls it/);
    expect(taskMessage('solve', 'PR text')).toBe(taskMessage('reproduce', 'PR text'));
  });
  it('names how to run a script only when one language is known', () => {
    expect(taskMessage('reproduce', 'x', { languages: ['go'] })).toContain('go run ./reproduce');
    const generic = taskMessage('reproduce', 'x', { languages: ['go', 'python'] });
    expect(generic).not.toMatch(/go run|python reproduce/);
    expect(taskMessage('reproduce', 'x')).toBe(generic);
  });
  it('keeps the spec’s one-line request as an option', () => {
    const text = taskMessage('change', task, { style: 'spec' });
    expect(text).toContain('Make the smallest change to non-test files that does this.');
    expect(text).not.toContain('reproduc');
  });
});

describe('the submit review', () => {
  const diff = 'diff --git a/reproduce.py b/reproduce.py\n+print(1)\n';
  it('shows the diff and asks to rerun, remove the scripts and revert test files', () => {
    const text = submitReview(diff);
    expect(text).toContain(`<diff>\n${diff.trimEnd()}\n</diff>`);
    expect(text).toMatch(/run the script again/);
    expect(text).toMatch(/Delete the reproduction script/);
    expect(text).toContain('git checkout -- <file>');
    expect(text).toMatch(/Call submit again/);
  });
  it('shows only the diff in the spec’s style', () => {
    expect(submitReview(diff, 'spec')).not.toMatch(/reproduction|git checkout/);
    expect(submitReview(diff, 'spec')).toContain(diff);
  });
});

describe('asking the judge again', () => {
  const replies =
    (...texts: Array<string | Error>): Ask =>
    async () => {
      const next = texts.shift();
      if (next === undefined) throw new Error('asked too often');
      if (next instanceof Error) throw next;
      return { text: next, usage: { promptTokens: 10, completionTokens: 1 } };
    };
  const overflow = new Error('context');
  const judge = (ask: Ask, tries = 3) => {
    const prompts: string[] = [];
    return {
      prompts,
      run: askAgainShorter({
        steps: steps(8),
        tries,
        prompt: (kept) => {
          const p = trajectoryJudgePrompt('the task', kept);
          prompts.push(p);
          return p;
        },
        read: judgeAnswer,
        ask,
        isOverflow: (e) => e === overflow,
        shortenWhenUnreadable: true,
      }),
    };
  };

  it('drops a further quarter of the earliest steps after each unreadable answer', async () => {
    const { prompts, run } = judge(replies('yes', '<output>perhaps</output>', '<output>yes</output>'));
    const result = await run;
    expect(result).toMatchObject({ value: 'yes', calls: 3, unreadable: 2, shortenings: 2, dropped: 4 });
    expect(prompts.map(firstShown)).toEqual([0, 2, 4]);
    expect(result.usage).toEqual({ promptTokens: 30, completionTokens: 3 });
  });
  it('treats a prompt too long like an unreadable answer, and gives up after its tries', async () => {
    const { prompts, run } = judge(replies(overflow, overflow, 'no tags'));
    expect(await run).toMatchObject({ calls: 3, overflows: 2, unreadable: 1 });
    expect((await run).value).toBeUndefined();
    expect(prompts.map(firstShown)).toEqual([0, 2, 4]);
  });
  it('lets other errors through', async () => {
    await expect(judge(replies(new Error('boom'))).run).rejects.toThrow('boom');
  });
  it('never drops the last step', () => {
    expect(stepsDropped(8, 10)).toBe(7);
    expect(stepsDropped(3, 2)).toBe(0);
  });
});

describe('the PR writer', () => {
  it('shows one seeded demonstration by default', () => {
    const pool = ['one', 'two', 'three', 'four'];
    const a = pickDemonstrations(pool, 1, [0, 5, 1]);
    expect(a).toHaveLength(1);
    expect(pickDemonstrations(pool, 1, [0, 5, 1])).toEqual(a);
    const drawn = new Set(Array.from({ length: 40 }, (_, i) => pickDemonstrations(pool, 1, [0, i, 1])[0]));
    expect(drawn.size).toBeGreaterThan(1);
    const prompt = prDescriptionPrompt(steps(2), a);
    expect(prompt.match(/<demonstration_issue>/g)).toHaveLength(1);
    expect(prompt).toMatch(/pytest/);
    expect(prompt).toContain('<output>');
  });
});

describe('the scaffold settings', () => {
  it('default to the authors’ pipeline', () => {
    const config = RunConfigSchema.parse({
      runId: 'r',
      repository: { path: '/x', commit: 'c' },
      teacher: { baseUrl: 'http://h/v1', model: 'm' },
      samples: 1,
    });
    expect(config.scaffold).toEqual({
      prompts: 'authors',
      judge: 'authors',
      rollout1Attempts: 3,
      prTries: 10,
      prDemonstrations: 1,
    });
    expect(config.rolloutLimits.contextCapTokens).toBe(128_000);
  });
  it('draws a new template for each rerun of rollout 1, the same every time', () => {
    const templates = Array.from({ length: 51 }, (_, i) => i);
    expect(rollout1Template(7, templates, 0, 3, 1)).toBe(7);
    const reruns = [2, 3].map((a) => rollout1Template(7, templates, 0, 3, a));
    expect([2, 3].map((a) => rollout1Template(7, templates, 0, 3, a))).toEqual(reruns);
    for (const t of reruns) expect(templates).toContain(t);
    const many = new Set(Array.from({ length: 30 }, (_, i) => rollout1Template(7, templates, 0, i, 2)));
    expect(many.size).toBeGreaterThan(5);
  });
});
