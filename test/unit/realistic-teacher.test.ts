import { describe, expect, it } from 'vitest';
import type { ChatMessage, ToolCallRecord } from '../../core/agent/trajectory';
import type { TeacherReply } from '../../core/teacher/policy';
import {
  DECOY_PR_TEXT,
  DEFAULT_REALISTIC_SETTINGS,
  realisticReply,
  reviewAsksRemoval,
  sideAnswer,
  type RealisticRates,
  type RealisticRequest,
  type RealisticSettings,
} from '../../core/teacher/realistic';

/** Every behaviour off, so a test turns on only the one it looks at. */
const NONE: RealisticRates = {
  reasoning: 0,
  reasoningInline: 0,
  decoy: 0,
  cut: 0,
  noToolCall: 0,
  empty: 0,
  parallel: 0,
  reproduction: 0,
  noUsage: 0,
};
const only = (rates: Partial<RealisticRates>): RealisticSettings => ({
  ...DEFAULT_REALISTIC_SETTINGS,
  rates: { ...NONE, ...rates },
});

const TASK: ChatMessage[] = [
  { role: 'system', content: 'You are a software engineer.' },
  { role: 'user', content: 'Fix it.\n<task>\nA bug related to `windowed` in `pkg/more.py`.\n</task>' },
];

const request = (
  messages: ChatMessage[],
  seed = 1,
  extra: Partial<RealisticRequest> = {},
): RealisticRequest => ({
  messages,
  seed,
  hasTools: true,
  maxTokens: 4096,
  promptTokens: 100,
  ...extra,
});

const say = (content: string, name: string, args: Record<string, unknown>): TeacherReply => ({
  content,
  toolCalls: [{ name, arguments: args }],
});
const VIEW = say('Now the function itself.', 'str_replace_editor', {
  command: 'view',
  path: 'pkg/more.py',
  view_range: [10, 160],
});
const EDIT = say('I will change `windowed` around line 12.', 'str_replace_editor', {
  command: 'str_replace',
  path: 'pkg/more.py',
  old_str: '    if n < 0:',
  new_str: '    if n <= 0:',
});
const SUBMIT = say('Let me review the diff.', 'submit', {});

/** A history: each step is an assistant call and the observation it got. */
function history(...steps: Array<[TeacherReply, string]>): ChatMessage[] {
  const messages = [...TASK];
  steps.forEach(([reply, observation], i) => {
    const calls: ToolCallRecord[] = reply.toolCalls.map((c, j) => ({
      id: `c${i}_${j}`,
      type: 'function',
      function: { name: c.name, arguments: JSON.stringify(c.arguments) },
    }));
    messages.push({ role: 'assistant', content: reply.content, tool_calls: calls });
    for (const call of calls) messages.push({ role: 'tool', tool_call_id: call.id, content: observation });
  });
  return messages;
}

describe('realistic teacher: draws', () => {
  it('gives the same reply for the same seed and messages, and different ones for other seeds', () => {
    const a = realisticReply(request(TASK, 7), VIEW);
    const b = realisticReply(request(TASK, 7), VIEW);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const replies = new Set(
      Array.from({ length: 10 }, (_, seed) => JSON.stringify(realisticReply(request(TASK, seed), VIEW))),
    );
    expect(replies.size).toBe(10);
  });

  it('with every rate at 0 serves the clean reply as it is', () => {
    const reply = realisticReply(request(TASK), VIEW, only({}));
    expect(reply).toEqual({
      content: VIEW.content,
      toolCalls: [{ name: 'str_replace_editor', arguments: JSON.stringify(VIEW.toolCalls[0]?.arguments) }],
      finishReason: 'tool_calls',
      withUsage: true,
      behaviours: [],
    });
  });

  it('follows its rates over many seeds', () => {
    let inline = 0;
    let field = 0;
    for (let seed = 0; seed < 400; seed += 1) {
      const b = realisticReply(
        request(TASK, seed),
        VIEW,
        only({ reasoning: 1, reasoningInline: 0.25 }),
      ).behaviours;
      if (b.includes('reasoning_inline')) inline += 1;
      if (b.includes('reasoning_field')) field += 1;
    }
    expect(inline + field).toBe(400);
    expect(inline).toBeGreaterThan(60);
    expect(inline).toBeLessThan(140);
  });
});

describe('realistic teacher: reasoning', () => {
  it('puts thinking in the reasoning field, the answer unchanged in content', () => {
    const reply = realisticReply(request(TASK), VIEW, only({ reasoning: 1 }));
    expect(reply.behaviours).toEqual(['reasoning_field']);
    expect(reply.reasoning?.length).toBeGreaterThan(20);
    expect(reply.content).toBe(VIEW.content);
  });

  it('or inline as a <think> block before the visible answer', () => {
    const reply = realisticReply(request(TASK), VIEW, only({ reasoning: 1, reasoningInline: 1 }));
    expect(reply.behaviours).toEqual(['reasoning_inline']);
    expect(reply.reasoning).toBeUndefined();
    expect(reply.content).toMatch(/^<think>\n[^<]+\n<\/think>\n\nNow the function itself\.$/);
  });
});

describe('realistic teacher: decoys for the judge and the PR writer', () => {
  const side = (content: string, rates: Partial<RealisticRates>, seed = 3) =>
    realisticReply(request(TASK, seed, { hasTools: false }), { content, toolCalls: [] }, only(rates));

  it('thinks the opposite word, in the answer’s tags, and keeps the final answer', () => {
    const reply = side('<output>yes</output>', { decoy: 1 });
    expect(reply.behaviours).toEqual(['decoy', 'reasoning_field']);
    expect(reply.reasoning).toContain('<output>no</output>');
    expect(/\b(yes|no)\b/.exec(reply.reasoning ?? '')?.[1]).toBe('no');
    expect(reply.content).toBe('<output>yes</output>');
    const inline = side('no', { decoy: 1, reasoningInline: 1 });
    expect(/\b(yes|no)\b/.exec(inline.content ?? '')?.[1]).toBe('yes');
    expect(inline.content?.endsWith('</think>\n\nno')).toBe(true);
  });

  it('drafts a decoy description inside the thinking', () => {
    const pr = '<output>\n`windowed` returns one window too few.\n</output>';
    const reply = side(pr, { decoy: 1, reasoningInline: 1 });
    expect(reply.content).toContain(`<output>\n${DECOY_PR_TEXT}\n</output>`);
    expect(reply.content?.indexOf(DECOY_PR_TEXT)).toBeLessThan(reply.content?.indexOf('</think>') ?? 0);
    expect(reply.content?.endsWith(pr)).toBe(true);
    expect(side('<pr_description>\nx\n</pr_description>', { decoy: 1 }).reasoning).toContain(
      `<pr_description>\n${DECOY_PR_TEXT}`,
    );
  });

  it('reads the kind of side answer from the clean reply', () => {
    expect(sideAnswer('<output> Yes </output>')).toEqual({ tag: 'output', word: 'yes' });
    expect(sideAnswer('no')).toEqual({ word: 'no' });
    expect(sideAnswer('<pr_description>text</pr_description>')).toEqual({ tag: 'pr_description' });
    expect(sideAnswer('I can help with repository tasks.')).toBeUndefined();
    // Nothing to contradict: no decoy.
    expect(side('I can help.', { decoy: 1 }).behaviours).toEqual([]);
  });
});

describe('realistic teacher: replies that go wrong', () => {
  it('cuts every reply when the limit is below what any reply needs', () => {
    for (const seed of [1, 2, 3, 4]) {
      const reply = realisticReply(request(TASK, seed, { maxTokens: 200 }), VIEW, only({ reasoning: 1 }));
      expect(reply.finishReason).toBe('length');
      expect(reply.completionTokens).toBe(200);
      expect(reply.behaviours).toContain('cut_length');
    }
  });

  it('cuts a rambling reply in its thinking or in its call, and a raised limit lets it through', () => {
    const kinds = new Set<string>();
    for (let seed = 0; seed < 20; seed += 1) {
      const cut = realisticReply(request(TASK, seed), EDIT, only({ cut: 1, reasoning: 1 }));
      expect(cut.finishReason).toBe('length');
      const call = cut.toolCalls[0];
      if (call) {
        expect(() => JSON.parse(call.arguments) as unknown).toThrow(SyntaxError);
        kinds.add('call');
      } else {
        expect(cut.content === null || cut.content.startsWith('<think>')).toBe(true);
        expect(cut.content ?? '').not.toContain('</think>');
        kinds.add('thinking');
      }
      const raised = realisticReply(request(TASK, seed, { maxTokens: 8192 }), EDIT, only({ cut: 1 }));
      expect(raised.finishReason).toBe('tool_calls');
    }
    expect(kinds).toEqual(new Set(['call', 'thinking']));
    // A request with no limit has the server's context: long enough.
    const open = realisticReply(request(TASK, 1, { maxTokens: undefined }), EDIT, only({ cut: 1 }));
    expect(open.finishReason).toBe('tool_calls');
  });

  it('a new seed escapes a cut that a rate drew', () => {
    const finishes = Array.from(
      { length: 20 },
      (_, seed) => realisticReply(request(TASK, seed), EDIT, only({ cut: 0.5 })).finishReason,
    );
    expect(finishes).toContain('length');
    expect(finishes).toContain('tool_calls');
  });

  it('writes the command as text instead of calling the tool', () => {
    const locate = say('I will find `windowed` first.', 'bash', {
      command: 'grep -n "def windowed" pkg/more.py',
    });
    const reply = realisticReply(request(TASK), locate, only({ noToolCall: 1 }));
    expect(reply.toolCalls).toEqual([]);
    expect(reply.finishReason).toBe('stop');
    expect(reply.content).toContain('```\ngrep -n "def windowed" pkg/more.py\n```');
  });

  it('sends empty replies and replies without usage', () => {
    expect(realisticReply(request(TASK), VIEW, only({ empty: 1 }))).toMatchObject({
      content: '',
      toolCalls: [],
      finishReason: 'stop',
      behaviours: ['empty'],
    });
    expect(realisticReply(request(TASK), VIEW, only({ noUsage: 1 })).withUsage).toBe(false);
  });
});

describe('realistic teacher: parallel reads', () => {
  it('looks twice in one reply before its first view, once per rollout', () => {
    const reply = realisticReply(request(TASK), VIEW, only({ parallel: 1 }));
    expect(reply.behaviours).toEqual(['parallel_calls']);
    expect(reply.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ['bash', { command: 'ls pkg' }],
      ['bash', { command: 'wc -l pkg/more.py' }],
    ]);
    const after = history([
      {
        content: 'x',
        toolCalls: reply.toolCalls.map((c) => ({
          name: c.name,
          arguments: JSON.parse(c.arguments) as Record<string, unknown>,
        })),
      },
      'OBSERVATION:\n1',
    ]);
    expect(realisticReply(request(after), VIEW, only({ parallel: 1 })).behaviours).toEqual([]);
  });
});

describe('realistic teacher: the reproduction script', () => {
  const settings = only({ reproduction: 1 });
  const commandOf = (reply: { toolCalls: Array<{ arguments: string }> }): string =>
    String((JSON.parse(reply.toolCalls[0]?.arguments ?? '{}') as { command?: string }).command);

  it('is written before the first edit, run, rerun after the edit, and left in place by a plain review', () => {
    const created = realisticReply(request(TASK), EDIT, settings);
    expect(created.behaviours).toEqual(['reproduction_created']);
    const createCall = JSON.parse(created.toolCalls[0]?.arguments ?? '{}') as Record<string, string>;
    const wrote = createCall.command === 'create' ? createCall.path : createCall.command?.split('\n')[0];
    expect(wrote).toMatch(/reproduce_issue\.py$/);
    const createStep: TeacherReply = {
      content: created.content,
      toolCalls: [{ name: created.toolCalls[0]?.name ?? '', arguments: createCall }],
    };

    const afterCreate = history([createStep, 'File created']);
    const run = realisticReply(request(afterCreate), EDIT, settings);
    expect(run.behaviours).toEqual(['reproduction_run']);
    expect(commandOf(run)).toBe('python3 reproduce_issue.py');

    const runStep = say('run', 'bash', { command: 'python3 reproduce_issue.py' });
    const afterRun = history([createStep, 'File created'], [runStep, 'OBSERVATION:\nwindowed']);
    // It has run the script: the edit goes through, and no second script is written.
    expect(realisticReply(request(afterRun), EDIT, settings).behaviours).toEqual([]);

    const afterEdit = history(
      [createStep, 'File created'],
      [runStep, 'OBSERVATION:\nwindowed'],
      [EDIT, 'The file pkg/more.py has been edited.'],
    );
    const rerun = realisticReply(request(afterEdit), SUBMIT, settings);
    expect(rerun.behaviours).toEqual(['reproduction_run']);
    const plainReview = history(
      [createStep, 'File created'],
      [runStep, 'OBSERVATION:\nwindowed'],
      [EDIT, 'The file pkg/more.py has been edited.'],
      [runStep, 'OBSERVATION:\nwindowed'],
      [
        SUBMIT,
        'Here is your change. Review it; call submit again to submit it.\n\ndiff --git a/reproduce_issue.py b/reproduce_issue.py\n+# remove me later, reproduce',
      ],
    );
    const again = realisticReply(request(plainReview), SUBMIT, settings);
    expect(again.behaviours).toEqual([]);
    expect(again.toolCalls[0]?.name).toBe('submit');
  });

  it('is removed when the submit review asks for it, once', () => {
    const createStep = say('write', 'str_replace_editor', {
      command: 'create',
      path: '/repo/reproduce_issue.py',
      file_text: 'print(1)\n',
    });
    const runStep = say('run', 'bash', { command: 'python3 reproduce_issue.py' });
    const review =
      '1. Rerun your script if needed.\n2. Delete the reproduction script(s) you wrote.\n3. Call submit again.\n\n<diff>\n+print(1)\n</diff>';
    const steps: Array<[TeacherReply, string]> = [
      [createStep, 'File created'],
      [runStep, '1'],
      [EDIT, 'has been edited'],
      [runStep, '1'],
      [SUBMIT, review],
    ];
    const removal = realisticReply(request(history(...steps)), SUBMIT, settings);
    expect(removal.behaviours).toEqual(['reproduction_removed']);
    expect(commandOf(removal)).toBe('rm reproduce_issue.py');
    const removed = history(
      ...steps,
      [say('rm', 'bash', { command: 'rm reproduce_issue.py' }), ''],
      [SUBMIT, review],
    );
    expect(realisticReply(request(removed), SUBMIT, settings).toolCalls[0]?.name).toBe('submit');
  });

  it('is not written at rate 0, nor after an edit was made', () => {
    expect(realisticReply(request(TASK), EDIT, only({})).behaviours).toEqual([]);
    const edited = history([EDIT, 'The file pkg/more.py has been edited.']);
    expect(realisticReply(request(edited), EDIT, settings).behaviours).toEqual([]);
  });

  it('tells the review’s request from a diff that merely names the script', () => {
    expect(reviewAsksRemoval('2. Delete the reproduction script(s) you wrote.\n<diff>\n</diff>')).toBe(true);
    expect(reviewAsksRemoval('Please remove any reproduction scripts.')).toBe(true);
    expect(reviewAsksRemoval('Here is your change.\n\ndiff --git a/reproduce_issue.py b/x\n-remove')).toBe(
      false,
    );
  });
});
