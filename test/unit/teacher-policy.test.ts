import { describe, expect, it } from 'vitest';
import { bugInstruction } from '../../core/agent/instructions';
import { SYMPTOMS } from '../../core/teacher/categories';
import type { ChatMessage } from '../../core/agent/trajectory';
import { changePlan, namedFunctions, reproducePlan, teacherReply } from '../../core/teacher/policy';
import { editCandidates, findFunction } from '../../core/teacher/python-edits';
import { SeededRandom } from '../../core/teacher/random';

const SOURCE = [
  'def window(items, n, step=1):',
  '    """Return windows of *items*: if n < 0 this is wrong."""',
  '    if n < 0:',
  "        raise ValueError('n must be >= 0')",
  '    result = []',
  '    index = 0',
  '    while index + n <= len(items):',
  '        result.append(items[index:index + n])',
  '        index = index + step',
  '    return result',
  '',
  'def other():',
  '    return None',
].join('\n');

describe('python edits', () => {
  it('finds the function body and its candidates, never inside strings or docstrings', () => {
    expect(findFunction(SOURCE.split('\n'), 'window')).toMatchObject({ start: 0, bodyStart: 1, end: 10 });
    const candidates = editCandidates(SOURCE, 'window', ['off_by_one', 'validation', 'rename_local']);
    expect(candidates.map((c) => `${c.kind}:${c.line}`)).toEqual([
      'off_by_one:3',
      'off_by_one:7',
      'validation:4',
      'rename_local:5',
      'rename_local:6',
    ]);
    const lt = candidates[0]!;
    expect(lt.newStr).toBe('    if n <= 0:');
    // The rename touches code lines only, all of them.
    const rename = candidates.find((c) => c.kind === 'rename_local' && c.anchor === 'index')!;
    expect(rename.newStr).toContain('while index_value + n <= len(items):');
    expect(rename.newStr).toContain('"""Return windows of *items*: if n < 0 this is wrong."""');
  });
});

describe('the teacher’s choices', () => {
  it('are the same for the same seed and task, and follow the category', () => {
    const task = bugInstruction(13, 'window', 'pkg/mod.py'); // boundary conditions
    const a = changePlan(task, 5)!.choose(SOURCE, 0);
    const b = changePlan(task, 5)!.choose(SOURCE, 0);
    expect(a).toEqual(b);
    expect(['off_by_one', 'boolean', 'return_value']).toContain(a?.kind);
  });

  it('reproduces a described change with about the configured fidelity', () => {
    const rename = editCandidates(SOURCE, 'window', ['rename_local']).find((c) => c.anchor === 'index')!;
    const pr = `\`window\` in \`pkg/mod.py\` ${SYMPTOMS.rename_local}.\n\nI narrowed it down to this part of \`window\`: \`index\``;
    const target = rename.newStr.split('\n').filter((line, i) => line !== rename.oldStr.split('\n')[i]);
    const recalls: number[] = [];
    for (let seed = 0; seed < 200; seed += 1) {
      const edit = reproducePlan(pr, seed, { fidelity: 0.5 })!.choose(SOURCE, 0)!;
      const got = new Set(edit.newStr.split('\n'));
      recalls.push(target.filter((line) => got.has(line)).length / target.length);
    }
    const mean = recalls.reduce((s, r) => s + r, 0) / recalls.length;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.75);
    // Spread, not all-or-nothing.
    expect(new Set(recalls).size).toBeGreaterThan(2);
    const perfect = reproducePlan(pr, 1, { fidelity: 1 })!.choose(SOURCE, 0)!;
    expect(perfect.newStr).toBe(rename.newStr);
  });
});

describe('SeededRandom', () => {
  it('repeats for the same parts and differs for others', () => {
    const a = new SeededRandom('x', 1);
    const b = new SeededRandom('x', 1);
    const c = new SeededRandom('x', 2);
    const draws = (r: SeededRandom): number[] => [r.next(), r.next(), r.next()];
    const da = draws(a);
    expect(draws(b)).toEqual(da);
    expect(draws(c)).not.toEqual(da);
    expect(da.every((d) => d >= 0 && d < 1)).toBe(true);
  });
});

describe('the teacher on an evaluation task (an issue, no bug instruction)', () => {
  const issue = '<task>\n* :func:`window` now accepts a ``step``\n* :func:`missing_one` was added\n</task>';
  const user = `The repository is uploaded at /repo. Consider the following pull request description:\n\n${issue}`;
  const messages = (...calls: Array<{ command: string; observation: string }>): ChatMessage[] => [
    { role: 'system', content: 'system' },
    { role: 'user', content: user },
    ...calls.flatMap((c, i): ChatMessage[] => [
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            id: `c${i}`,
            type: 'function',
            function: { name: 'bash', arguments: JSON.stringify({ command: c.command }) },
          },
        ],
      },
      { role: 'tool', tool_call_id: `c${i}`, content: `OBSERVATION:\n${c.observation}` },
    ]),
  ];

  it('reads the function names an issue mentions', () => {
    expect(
      namedFunctions('* :func:`window` and :class:`~pkg.Thing`, also ``other()``; not ``step``'),
    ).toEqual(['window', 'Thing', 'other']);
  });

  it('looks for a named function, then changes the one it found, the same way for the same seed', () => {
    const seedWith = (first: string): number => {
      for (let seed = 0; seed < 50; seed += 1) {
        const reply = teacherReply(messages(), seed, true, { fidelity: 1 });
        if (String(reply.toolCalls[0]?.arguments.command).includes(`def ${first}(`)) return seed;
      }
      throw new Error(`no seed looks for ${first} first`);
    };
    const seed = seedWith('missing_one');
    const lookFor = (name: string): string =>
      `grep -rn "def ${name}(" --include=*.py --exclude-dir=tests . | head -5`;
    // Not found: it looks for the next name; found: it reads the file there.
    const second = teacherReply(messages({ command: lookFor('missing_one'), observation: '' }), seed, true, {
      fidelity: 1,
    });
    expect(second.toolCalls[0]?.arguments).toEqual({ command: lookFor('window') });
    const third = teacherReply(
      messages(
        { command: lookFor('missing_one'), observation: '' },
        { command: lookFor('window'), observation: './pkg/mod.py:1:def window(items, n, step=1):' },
      ),
      seed,
      true,
      { fidelity: 1 },
    );
    expect(third.toolCalls[0]).toEqual({
      name: 'str_replace_editor',
      arguments: { command: 'view', path: 'pkg/mod.py', view_range: [1, 151] },
    });
    expect(teacherReply(messages(), seed, true, { fidelity: 1 })).toEqual(
      teacherReply(messages(), seed, true, { fidelity: 1 }),
    );
  });

  it('submits without a change when no named function exists', () => {
    const lookFor = (name: string): string =>
      `grep -rn "def ${name}(" --include=*.py --exclude-dir=tests . | head -5`;
    const reply = teacherReply(
      messages(
        { command: lookFor('window'), observation: '' },
        { command: lookFor('missing_one'), observation: '' },
      ),
      3,
      true,
      { fidelity: 1 },
    );
    expect(reply.toolCalls[0]?.name).toBe('submit');
  });
});
