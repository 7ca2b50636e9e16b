import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePatch } from 'diff';
import { afterAll, describe, expect, it } from 'vitest';
import { systemPrompt, taskMessage } from '../../core/agent/prompts';
import type { ChatMessage } from '../../core/agent/trajectory';
import { parseInstances } from '../../core/eval/instances';
import type { TeacherReply } from '../../core/teacher/policy';
import {
  applySteps,
  heredocDelimiter,
  MAX_COMMAND_BYTES,
  recognise,
  solutionsFor,
  solverReply,
  solvesRun,
  splitByFile,
  type ReferenceInstance,
} from '../../core/teacher/solver';
import { exampleEvalSet } from '../../infra/example-repo';

const MODEL = 'sera-offline-teacher';
const instances: ReferenceInstance[] = parseInstances(
  readFileSync(exampleEvalSet().instancesFile, 'utf8'),
).map((i) => ({ instanceId: i.instance_id, problemStatement: i.problem_statement, patch: i.patch }));
const solutions = solutionsFor(instances);
const ids = instances.map((i) => i.instanceId);

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-solver-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(cwd: string, file: string, args: string[]): string {
  const result = spawnSync(file, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0)
    throw new Error(`${file} ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
  return result.stdout;
}
const git = (cwd: string, ...args: string[]): string =>
  run(cwd, 'git', [
    '-c',
    'core.autocrlf=false',
    '-c',
    'user.name=t',
    '-c',
    'user.email=t@example.com',
    ...args,
  ]);

/** A repository holding `files`, committed. */
function repoWith(name: string, files: Record<string, string>): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', 'base');
  return dir;
}

/** The working tree's change against HEAD, new files included, as the sandbox takes it. */
const diffOf = (dir: string): string => {
  git(dir, 'add', '-A');
  return git(dir, 'diff', '--cached', 'HEAD');
};

/** Runs every step's command as the sandbox does (`bash -c <command>`, in the repository). */
function applyAll(dir: string, patch: string, budget?: number): void {
  for (const step of applySteps(patch, budget)) run(dir, 'bash', ['-c', step.command]);
}

/**
 * Files whose contents match what each hunk's old side expects at its line: a stand-in for an
 * instance's base commit, made from the patch alone (lines between hunks are fillers).
 */
function preimages(patch: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of parsePatch(patch)) {
    if (!file.oldFileName || file.oldFileName === '/dev/null') continue;
    const lines: string[] = [];
    let noNewlineAtEnd = false;
    for (const hunk of file.hunks) {
      while (lines.length + 1 < hunk.oldStart) lines.push(`filler line ${lines.length + 1}`);
      let previous = '';
      for (const line of hunk.lines) {
        if (line.startsWith(' ') || line.startsWith('-')) lines.push(line.slice(1));
        else if (line.startsWith('\\') && previous !== '+') noNewlineAtEnd = true;
        previous = line[0] ?? '';
      }
    }
    files[file.oldFileName.replace(/^a\//, '')] = lines.join('\n') + (noNewlineAtEnd ? '' : '\n');
  }
  return files;
}

function conversation(task: string): ChatMessage[] {
  return [
    { role: 'system', content: systemPrompt(['python']) },
    { role: 'user', content: taskMessage('solve', task, { languages: ['python'] }) },
  ];
}

/** Plays a run against the solver alone: each reply's call and a made-up observation join the messages. */
function play(task: string, seed: number, rates: Record<string, number>, model = MODEL): TeacherReply[] {
  const messages = conversation(task);
  const replies: TeacherReply[] = [];
  for (let turn = 0; turn < 12; turn += 1) {
    const reply = solverReply(messages, { seed, model }, solutions, rates);
    if (!reply) break;
    replies.push(reply);
    const calls = reply.toolCalls.map((call, i) => ({
      id: `call_${turn}_${i}`,
      type: 'function' as const,
      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
    }));
    messages.push({ role: 'assistant', content: reply.content, tool_calls: calls });
    for (const call of calls)
      messages.push({ role: 'tool', tool_call_id: call.id, content: 'OBSERVATION:\nok' });
    if (replies.filter((r) => r.toolCalls[0]?.name === 'submit').length === 2) break;
  }
  return replies;
}

const solvedSet = (seed: number, model = MODEL, rate = 0.5): string[] =>
  ids.filter((id) => solvesRun(id, seed, model, rate));

describe('the solving teacher (a test instrument)', () => {
  it('recognises the instance whose problem statement is in the task, and nothing else', () => {
    for (const instance of instances) {
      const task = `${instance.problemStatement}\n\nHints:\nsee the changelog`;
      expect(recognise(task, solutions)?.instanceId).toBe(instance.instanceId);
    }
    expect(recognise('Fix the off-by-one in `window` of more_itertools/more.py', solutions)).toBeUndefined();
    // One statement inside another: the longer, more specific one is meant.
    const nested = solutionsFor([
      { instanceId: 'short', problemStatement: 'Add chunked.', patch: '' },
      { instanceId: 'long', problemStatement: 'Add chunked. And strictly.', patch: '' },
    ]);
    expect(recognise('Add chunked. And strictly.', nested)?.instanceId).toBe('long');
    expect(recognise('Add chunked.', nested)?.instanceId).toBe('short');
  });

  it('decides per instance, seed and model: seeds and models solve different sets, rate 0 none and 1 all', () => {
    const bySeed = [0, 1, 2].map((seed) => solvedSet(seed));
    expect(new Set(bySeed.map((s) => s.join())).size).toBeGreaterThan(1);
    expect(bySeed.flat().length).toBeGreaterThan(0);
    expect(solvedSet(0, MODEL, 0.5)).toEqual(solvedSet(0, MODEL, 0.5));
    const other = [0, 1, 2].map((seed) => solvedSet(seed, 'sera-offline-teacher-strong', 0.5));
    expect(other.map((s) => s.join())).not.toEqual(bySeed.map((s) => s.join()));
    for (let seed = 0; seed < 50; seed += 1) {
      expect(solvedSet(seed, MODEL, 0)).toEqual([]);
      expect(solvedSet(seed, MODEL, 1)).toEqual(ids);
    }
    // Over many seeds the share solved is near the rate.
    const draws = Array.from({ length: 400 }, (_, seed) => solvesRun(ids[0]!, seed, MODEL, 0.3));
    expect(draws.filter(Boolean).length / draws.length).toBeGreaterThan(0.2);
    expect(draws.filter(Boolean).length / draws.length).toBeLessThan(0.4);
  });

  it('a solving run applies every step, then submits twice (the review, then the submission)', () => {
    const instance = instances[0]!;
    const replies = play(instance.problemStatement, 0, { [MODEL]: 1 });
    const steps = applySteps(instance.patch);
    expect(replies.map((r) => r.toolCalls.map((c) => c.name))).toEqual([
      ...steps.map(() => ['bash']),
      ['submit'],
      ['submit'],
    ]);
    expect(replies.slice(0, steps.length).map((r) => r.toolCalls[0]!.arguments.command)).toEqual(
      steps.map((s) => s.command),
    );
    // Every file of the reference change is named by a step, in the patch's order.
    expect(steps.flatMap((s) => s.files)).toEqual(splitByFile(instance.patch).map((p) => p.file));
    // Within a 12-call run, with room to spare.
    expect(replies.length).toBeLessThanOrEqual(8);
  });

  it('falls through to the ordinary teacher when the run does not solve, or began another way', () => {
    const instance = instances[1]!;
    expect(play(instance.problemStatement, 0, { [MODEL]: 0 })).toEqual([]);
    // An unknown model has no rate: it never solves.
    expect(play(instance.problemStatement, 0, { [MODEL]: 1 }, 'another-model')).toEqual([]);
    // A run whose first call was the ordinary teacher's never turns into a solving one.
    const messages: ChatMessage[] = [
      ...conversation(instance.problemStatement),
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'OBSERVATION:\nREADME.rst' },
    ];
    expect(solverReply(messages, { seed: 0, model: MODEL }, solutions, { [MODEL]: 1 })).toBeUndefined();
    // A task about no instance is not the solver's.
    expect(
      solverReply(conversation('Rename a variable.'), { seed: 0, model: MODEL }, solutions, { [MODEL]: 1 }),
    ).toBeUndefined();
  });

  it('keeps solving once a step is applied, whatever the seed of a later request (a retry asks with seed + attempt)', () => {
    const instance = instances[3]!;
    const seed = [0, 1, 2, 3, 4, 5].find((s) => solvesRun(instance.instanceId, s, MODEL, 0.5))!;
    const other = [0, 1, 2, 3, 4, 5].find((s) => !solvesRun(instance.instanceId, s, MODEL, 0.5))!;
    expect(seed).toBeDefined();
    expect(other).toBeDefined();
    const rates = { [MODEL]: 0.5 };
    const messages = conversation(instance.problemStatement);
    const first = solverReply(messages, { seed, model: MODEL }, solutions, rates)!;
    expect(first.toolCalls[0]!.name).toBe('bash');
    messages.push(
      {
        role: 'assistant',
        content: first.content,
        tool_calls: [
          {
            id: 'c1',
            type: 'function',
            function: { name: 'bash', arguments: JSON.stringify(first.toolCalls[0]!.arguments) },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'OBSERVATION:\nApplied patch cleanly.' },
    );
    expect(
      solverReply(conversation(instance.problemStatement), { seed: other, model: MODEL }, solutions, rates),
    ).toBeUndefined();
    const next = solverReply(messages, { seed: other, model: MODEL }, solutions, rates)!;
    expect(next.toolCalls[0]!.arguments.command).toBe(applySteps(instance.patch)[1]!.command);
  });

  it('is a pure function of its inputs: the same request gives the same bytes', () => {
    const task = instances[2]!.problemStatement;
    expect(JSON.stringify(play(task, 1, { [MODEL]: 1 }))).toBe(JSON.stringify(play(task, 1, { [MODEL]: 1 })));
    expect(JSON.stringify(solutionsFor(instances))).toBe(JSON.stringify(solutions));
  });

  it('picks a heredoc delimiter that no line of the text equals', () => {
    expect(heredocDelimiter('+a\n b\n')).toBe('SERA_REFERENCE_EOF');
    expect(heredocDelimiter('x\nSERA_REFERENCE_EOF\ny\n')).toBe('SERA_REFERENCE_EOF_1');
    expect(heredocDelimiter('SERA_REFERENCE_EOF\r\nSERA_REFERENCE_EOF_1\n')).toBe('SERA_REFERENCE_EOF_2');
  });

  it('its commands rebuild a made-up change byte for byte: shell characters, CRLF, tabs, new, deleted and big files', () => {
    const big = Array.from({ length: 400 }, (_, i) => `value_${i} = "${'x'.repeat(i % 50)}"\n`).join('');
    const base = {
      'src/shell.py': 'name = "$HOME"\ncmd = `ls`\nquote = \'it\'s\'\nback = "\\\\n"\n',
      'src/delim.txt': 'a\nSERA_REFERENCE_EOF\nb\n',
      'src/tabs.mk': 'all:\n\techo "$(CC)"\n',
      'src/crlf.txt': 'one\r\ntwo\r\n',
      'src/no-newline.txt': 'last line without newline',
      'src/big.py': big,
      'src/gone.txt': 'to be deleted\n',
      'docs/notes.rst': 'Notes\n=====\n',
    };
    const dir = repoWith('made-up', base);
    writeFileSync(
      path.join(dir, 'src/shell.py'),
      'name = "${HOME:-/root}"\ncmd = $(ls `pwd`)\nquote = \'it\'s\'\nback = "\\\\t"\n',
    );
    writeFileSync(path.join(dir, 'src/delim.txt'), 'a\nSERA_REFERENCE_EOF\nSERA_REFERENCE_EOF_1\nb\n');
    writeFileSync(path.join(dir, 'src/tabs.mk'), 'all:\n\techo "$(CC)" \t\n');
    writeFileSync(path.join(dir, 'src/crlf.txt'), 'one\r\n2\r\n');
    writeFileSync(path.join(dir, 'src/no-newline.txt'), 'changed last line, still no newline');
    writeFileSync(
      path.join(dir, 'src/big.py'),
      big.replace(/value_(\d+)0 =/g, 'renamed_$10 =') + 'extra = "é ü ✓"\n',
    );
    rmSync(path.join(dir, 'src/gone.txt'));
    writeFileSync(path.join(dir, 'src/new_module.py'), 'def added():\n    return "EOF"\n');
    const patch = diffOf(dir);
    expect(patch).toContain('deleted file mode');
    expect(patch).toContain('new file mode');
    // A small budget: files are grouped, and the big file is gathered over several calls.
    const steps = applySteps(patch, 2048);
    expect(steps.length).toBeGreaterThan(3);
    expect(steps.some((s) => s.files.length === 0)).toBe(true);
    expect(steps.some((s) => s.files.length > 1)).toBe(true);
    git(dir, 'reset', '-q', '--hard', 'HEAD');
    git(dir, 'clean', '-fdq');
    expect(diffOf(dir)).toBe('');
    applyAll(dir, patch, 2048);
    expect(diffOf(dir)).toBe(patch);
  });

  it("its commands rebuild each example instance's reference change, and stay far below Linux's 128 KiB argument limit", () => {
    for (const instance of instances) {
      const steps = applySteps(instance.patch);
      for (const step of steps)
        expect(new TextEncoder().encode(step.command).length).toBeLessThan(MAX_COMMAND_BYTES);
      expect(MAX_COMMAND_BYTES).toBeLessThan(128 * 1024);
      const name = instance.instanceId.replace(/[^\w.-]/g, '-');
      const files = preimages(instance.patch);
      const bySolver = repoWith(`${name}-solver`, files);
      const byGit = repoWith(`${name}-git`, files);
      applyAll(bySolver, instance.patch);
      writeFileSync(path.join(scratch, `${name}.patch`), instance.patch);
      git(byGit, 'apply', path.join(scratch, `${name}.patch`));
      const changed = diffOf(bySolver);
      expect(changed).toBe(diffOf(byGit));
      // Every file the reference change touches was changed.
      const touched = [...changed.matchAll(/^diff --git a\/(\S+) /gm)].map((m) => m[1]);
      expect(touched).toEqual(splitByFile(instance.patch).map((p) => p.file));
    }
  });
});
