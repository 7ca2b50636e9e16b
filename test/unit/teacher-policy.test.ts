import { describe, expect, it } from 'vitest';
import { bugInstruction } from '../../core/agent/instructions';
import { SYMPTOMS } from '../../core/teacher/categories';
import { changePlan, reproducePlan } from '../../core/teacher/policy';
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
