import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { strReplace, viewFile } from '../../core/agent/editor';
import { bugInstruction, BUG_CATEGORIES } from '../../core/agent/instructions';
import { bashObservation, observation } from '../../core/agent/observation';
import { submitReview, taskMessage } from '../../core/agent/prompts';
import {
  extractPrDescription,
  judgeAnswer,
  judgePrompt,
  prDescriptionPrompt,
  trajectoryJudgePrompt,
} from '../../core/agent/side-prompts';
import { taskPromptOf, trajectorySteps } from '../../core/agent/steps';
import type { ChatMessage, Trajectory } from '../../core/agent/trajectory';
import { softVerify } from '../../core/soft-verify';
import { braceEditCandidates } from '../../core/teacher/brace-edits';
import { editCandidatesIn } from '../../core/teacher/edits';
import { languageOf, syntaxCheckCommand, syntaxCheckPassed } from '../../core/teacher/languages';
import { changePlan, teacherReply } from '../../core/teacher/policy';
import { EDIT_KINDS, findFunction } from '../../core/teacher/python-edits';

const TS_SOURCE = `import { decode } from "./encoding";

export interface ParsedUrl {
  protocol: string;
  host: string;
  path: string;
}

const PROTOCOL_RE = /^[a-z]+:\\/\\//i;

/**
 * Joins a base and a path with exactly one slash between them.
 */
export const joinPath = (base: string, path: string): string => {
  if (base === undefined || path === null) {
    throw new TypeError("joinPath needs a base and a path");
  }
  const trimmed = base.endsWith("/") ? base.slice(0, base.length - 1) : base;
  return \`\${trimmed}/\${path.replace(/^\\/+/, "")}\`;
};

export const hasProtocol = (input: string): boolean => PROTOCOL_RE.test(input);

export function parseUrl(input = ""): ParsedUrl {
  const match = input.match(/^([a-z]+:)?\\/\\/([^/]*)(.*)$/i);
  if (!match) {
    return { protocol: "", host: "", path: input };
  }
  const protocol = match[1] ?? "";
  const host = decode(match[2] ?? "");
  return { protocol, host, path: match[3] || "/" };
}

export class UrlBuilder {
  private parts: string[] = [];
  private strict = false;

  constructor(private readonly base: string) {}

  /** Adds a query parameter; empty keys are refused. */
  withQuery(key: string, value?: string): this {
    if (key.length < 1) {
      throw new RangeError("empty query key");
    }
    const encodedValue = value?.trim() ?? "";
    this.parts.push(\`\${key}=\${encodedValue}\`);
    return this;
  }

  isEmpty(): boolean {
    return this.parts.length === 0 && !this.strict;
  }

  reset = (): void => {
    this.parts = [];
    this.strict = false;
  };

  toString(): string {
    const query = this.parts.join("&");
    return query.length > 0 ? \`\${this.base}?\${query}\` : this.base;
  }
}
`;

const GO_SOURCE = `package store

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when a key is missing.
var ErrNotFound = errors.New("not found")

// Store keeps values by key.
type Store struct {
	items map[string]string
	limit int
}

// Get returns the value stored under key.
func (s *Store) Get(key string) (string, error) {
	if s == nil || s.items == nil {
		return "", ErrNotFound
	}
	value, ok := s.items[key]
	if !ok {
		return "", fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	return value, nil
}

// Put stores value under key unless the store is full.
func (s *Store) Put(key, value string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if len(s.items) >= s.limit {
		return fmt.Errorf("store full at %d items", s.limit)
	}
	s.items[key] = value
	return nil
}

func (s Store) Full() bool {
	return len(s.items) >= s.limit && s.limit > 0
}

// Get is a helper that reads a key from the default store.
func Get(key string) (string, error) {
	result, err := defaultStore.Get(key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	return result, nil
}

var defaultStore = &Store{items: map[string]string{}, limit: 8}
`;

const TS_FUNCTIONS = [
  'joinPath',
  'hasProtocol',
  'parseUrl',
  'UrlBuilder.withQuery',
  'UrlBuilder.isEmpty',
  'UrlBuilder.reset',
  'UrlBuilder.toString',
];
const GO_FUNCTIONS = ['Store.Get', 'Store.Put', 'Store.Full', 'Get'];

/** The lines (1-based, inclusive) a definition spans, found by its first line's text. */
function linesOf(source: string, firstLine: string, lastLine: string): [number, number] {
  const lines = source.split('\n');
  const from = lines.findIndex((l) => l.startsWith(firstLine));
  const to = lines.findIndex((l, i) => i > from && l === lastLine);
  return [from + 1, to + 1];
}

function lineOf(source: string, oldStr: string): number {
  return source.slice(0, source.indexOf(oldStr)).split('\n').length;
}

describe('edits in brace languages', () => {
  it('tells the language from the extension', () => {
    expect(
      ['a.py', 'a.js', 'a.mjs', 'a.ts', 'a.tsx', 'a.mts', 'a.cts', 'a.go', 'a.rs', 'A.java'].map(languageOf),
    ).toEqual([
      'python',
      'javascript',
      'javascript',
      'typescript',
      'typescript',
      'typescript',
      'typescript',
      'go',
      'rust',
      'java',
    ]);
  });

  for (const [language, source, functions] of [
    ['typescript', TS_SOURCE, TS_FUNCTIONS],
    ['go', GO_SOURCE, GO_FUNCTIONS],
  ] as const) {
    it(`${language}: every kind applies somewhere, as a unique str_replace that changes the file`, () => {
      for (const kind of EDIT_KINDS) {
        const candidates = functions.flatMap((name) => braceEditCandidates(source, language, name, [kind]));
        expect(candidates.length, kind).toBeGreaterThan(0);
        for (const c of candidates) {
          expect(source.split(c.oldStr).length - 1, `${kind} ${c.anchor}`).toBe(1);
          const edited = source.replace(c.oldStr, () => c.newStr);
          expect(edited).not.toBe(source);
          if (language === 'typescript') {
            const { diagnostics } = ts.transpileModule(edited, {
              fileName: 'url.ts',
              reportDiagnostics: true,
            });
            expect(diagnostics ?? [], `${kind}: ${c.newStr}`).toEqual([]);
          }
        }
      }
    });

    it(`${language}: every function gets at least one edit`, () => {
      for (const name of functions) {
        expect(braceEditCandidates(source, language, name, EDIT_KINDS).length, name).toBeGreaterThan(0);
      }
    });
  }

  it('edits only inside the named function, in its own words', () => {
    const get = braceEditCandidates(GO_SOURCE, 'go', 'Store.Get', EDIT_KINDS);
    const [from, to] = linesOf(GO_SOURCE, 'func (s *Store) Get(', '}');
    // The doc comment above the method is part of what documentation edits may touch.
    for (const c of get) expect(lineOf(GO_SOURCE, c.oldStr)).toBeGreaterThanOrEqual(from - 1);
    for (const c of get) expect(lineOf(GO_SOURCE, c.oldStr)).toBeLessThanOrEqual(to);
    const byKind = (kind: string): string[] => get.filter((c) => c.kind === kind).map((c) => c.newStr.trim());
    expect(byKind('none_guard')).toContain('if s != nil || s.items == nil {');
    expect(byKind('exception')).toContain('return "", fmt.Errorf("get %q: %v", key, ErrNotFound)');
    expect(byKind('validation')).toContain('return "", nil');
    expect(byKind('rename_local').join('\n')).toContain('return valueValue, nil');

    const withQuery = braceEditCandidates(TS_SOURCE, 'typescript', 'UrlBuilder.withQuery', EDIT_KINDS);
    const ts = (kind: string): string[] => withQuery.filter((c) => c.kind === kind).map((c) => c.newStr);
    expect(ts('off_by_one')).toContain('    if (key.length <= 1) {');
    expect(ts('none_guard')).toContain('    const encodedValue = value.trim() ?? "";');
    expect(ts('exception')).toContain('      throw new Error("empty query key");');
    expect(ts('validation')).toContain('    if (key.length < 1) {');
    expect(ts('docstring')).toContain(
      '  /** Adds a query parameter; empty keys are refused. Results are not cached. */',
    );
    // The template literal's `${encodedValue}` is code and is renamed with the rest.
    expect(ts('rename_local').join('\n')).toContain('this.parts.push(`${key}=${encodedValueValue}`);');
  });

  it('finds methods by their qualified names in every language, Python included', () => {
    const python = [
      'class A:',
      '    def run(self):',
      '        return 1',
      '',
      'class B:',
      '    def run(self, x):',
      '        return x > 1',
      '',
    ].join('\n');
    expect(findFunction(python.split('\n'), 'B.run')).toMatchObject({ start: 5, end: 7 });
    expect(findFunction(python.split('\n'), 'run')).toMatchObject({ start: 1, end: 3 });
    expect(editCandidatesIn('m.py', python, 'B.run', ['off_by_one'])[0]?.newStr).toBe(
      '        return x >= 1',
    );
    // Go: the plain name is the function, the qualified one the method.
    const plain = braceEditCandidates(GO_SOURCE, 'go', 'Get', ['none_guard']);
    expect(plain.map((c) => c.anchor)).toEqual(['if err != nil && !errors.Is(err, ErrNotFound) {']);
    const field = braceEditCandidates(TS_SOURCE, 'typescript', 'UrlBuilder.reset', ['boolean']);
    expect(field.map((c) => c.newStr.trim())).toEqual(['this.strict = true;']);
    const arrow = braceEditCandidates(TS_SOURCE, 'typescript', 'hasProtocol', ['docstring']);
    expect(arrow[0]?.newStr).toContain(
      '/** Returns the result; results are not cached. */\nexport const hasProtocol',
    );
  });

  it('plans an edit inside the method a `Type.Method` instruction names', () => {
    const [from, to] = linesOf(GO_SOURCE, 'func (s *Store) Put(', '}');
    for (let template = 1; template <= BUG_CATEGORIES.length; template += 5) {
      const plan = changePlan(bugInstruction(template, 'Store.Put', 'store/store.go'), template);
      const edit = plan?.choose(GO_SOURCE, 0);
      expect(edit, BUG_CATEGORIES[template - 1]).toBeDefined();
      expect(lineOf(GO_SOURCE, edit!.oldStr)).toBeGreaterThanOrEqual(from - 1);
      expect(lineOf(GO_SOURCE, edit!.oldStr)).toBeLessThanOrEqual(to);
    }
  });
});

describe('syntax checks with what the sandbox has', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const run = (command: string): string => {
    try {
      return execSync(command, { cwd: process.cwd(), shell: '/bin/bash', encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      const failed = e as { stdout?: string; stderr?: string };
      return `${failed.stdout ?? ''}${failed.stderr ?? ''}(failed)`;
    }
  };
  const file = (name: string, text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'teacher-check-'));
    dirs.push(dir);
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('passes good files and fails broken ones, or says it could not check', () => {
    // TypeScript is this project's own dependency, so the check finds it from here.
    expect(
      run(syntaxCheckCommand('typescript', file('a.ts', 'export const f = (a: number): number => a + 1;\n'))),
    ).toContain('syntax ok');
    const brokenTs = run(
      syntaxCheckCommand('typescript', file('b.ts', 'export const f = (a: number => {\n')),
    );
    expect(syntaxCheckPassed(brokenTs)).toBe(false);
    expect(run(syntaxCheckCommand('javascript', file('a.js', 'const f = (a) => a + 1;\n')))).toContain(
      'syntax ok',
    );
    expect(
      syntaxCheckPassed(run(syntaxCheckCommand('javascript', file('b.js', 'const f = (a => {\n')))),
    ).toBe(false);
    // gofmt may not be on this machine: then the check says so and passes.
    const goOk = run(syntaxCheckCommand('go', file('a.go', GO_SOURCE)));
    expect(syntaxCheckPassed(goOk)).toBe(true);
    const goBroken = run(syntaxCheckCommand('go', file('b.go', 'package x\nfunc f( {\n')));
    expect(goBroken.includes('syntax not checked') || !syntaxCheckPassed(goBroken)).toBe(true);
  });
});

/** A sandbox in a temporary directory: the teacher's bash commands run for real, edits as the editor tool makes them. */
function rollout(
  dir: string,
  kind: 'change' | 'reproduce',
  task: string,
  seed: number,
): { messages: ChatMessage[]; diff: string } {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'system' },
    { role: 'user', content: taskMessage(kind, task) },
  ];
  const undo = new Map<string, string[]>();
  let submits = 0;
  for (let turn = 0; turn < 20 && submits < 2; turn += 1) {
    const reply = teacherReply(messages, seed, true, { fidelity: 1 });
    const call = reply.toolCalls[0]!;
    const id = `call-${turn}`;
    messages.push({
      role: 'assistant',
      content: reply.content,
      tool_calls: [
        { id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } },
      ],
    });
    const args = call.arguments as {
      command?: string;
      path?: string;
      view_range?: [number, number];
      old_str?: string;
      new_str?: string;
    };
    let result = observation('');
    if (call.name === 'submit') {
      submits += 1;
      // The first submit shows the review, with the diff as it is then.
      result = observation(submitReview(execSync('git diff', { cwd: dir, encoding: 'utf8' })));
    } else if (call.name === 'bash') {
      try {
        result = bashObservation(
          execSync(args.command ?? '', { cwd: dir, shell: '/bin/bash', encoding: 'utf8', stdio: 'pipe' }),
          0,
        );
      } catch (e) {
        const failed = e as { stdout?: string; stderr?: string; status?: number };
        result = bashObservation(`${failed.stdout ?? ''}${failed.stderr ?? ''}`, failed.status ?? 1);
      }
    } else {
      const path = join(dir, args.path ?? '');
      const content = readFileSync(path, 'utf8');
      if (args.command === 'view')
        result = observation(viewFile(args.path ?? '', content, args.view_range).message);
      if (args.command === 'str_replace') {
        const outcome = strReplace(args.path ?? '', content, args.old_str ?? '', args.new_str ?? '');
        if (outcome.ok) {
          undo.set(path, [...(undo.get(path) ?? []), content]);
          writeFileSync(path, outcome.content);
        }
        result = observation(outcome.message);
      }
      if (args.command === 'undo_edit') writeFileSync(path, undo.get(path)?.pop() ?? content);
    }
    messages.push({ role: 'tool', tool_call_id: id, content: result });
  }
  return { messages, diff: execSync('git diff', { cwd: dir, encoding: 'utf8' }) };
}

describe('a whole rollout 1 and rollout 2 in TypeScript and Go', () => {
  const repo = mkdtempSync(join(tmpdir(), 'teacher-repo-'));
  const files: Record<string, string> = { 'src/url.ts': TS_SOURCE, 'store/store.go': GO_SOURCE };
  const reset = (): void => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
  };
  reset();
  execSync('git init -q && git add . && git -c user.name=t -c user.email=t@t commit -qm base', { cwd: repo });

  const cases: Array<[string, string, number]> = [
    ['UrlBuilder.withQuery', 'src/url.ts', 13],
    ['joinPath', 'src/url.ts', 48],
    ['UrlBuilder.toString', 'src/url.ts', 14],
    ['Store.Get', 'store/store.go', 3],
    ['Store.Put', 'store/store.go', 27],
    ['Get', 'store/store.go', 35],
  ];
  it.each(cases)('%s in %s: changed, described and reproduced with fidelity 1', (name, path, template) => {
    reset();
    const first = rollout(repo, 'change', bugInstruction(template, name, path), 7);
    expect(first.diff).toContain(`+++ b/${path}`);
    const trajectory = { messages: first.messages } as Trajectory;
    const steps = trajectorySteps(trajectory);
    const ask = (prompt: string): string | null =>
      teacherReply([{ role: 'user', content: prompt }], 1, false, { fidelity: 1 }).content;
    expect(judgeAnswer(ask(judgePrompt(first.diff)) ?? '')).toBe('yes');
    // The authors' judge finds the change in the diff the submit review showed.
    expect(judgeAnswer(ask(trajectoryJudgePrompt(taskPromptOf(trajectory), steps)) ?? '')).toBe('yes');
    expect(judgeAnswer(ask(trajectoryJudgePrompt(taskPromptOf(trajectory), steps.slice(0, 2))) ?? '')).toBe(
      'no',
    );
    const pr = extractPrDescription(
      teacherReply([{ role: 'user', content: prDescriptionPrompt(steps, ['An example.']) }], 1, false, {
        fidelity: 1,
      }).content ?? '',
    );
    expect(pr).toContain(`\`${name}\` in \`${path}\``);
    reset();
    const second = rollout(repo, 'reproduce', pr!, 11);
    expect(softVerify(first.diff, second.diff, 1)).toMatchObject({ recall: 1, verified: true });
    reset();
  });
});

describe('the judge in brace languages', () => {
  const patch = (path: string, body: string): string =>
    `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n@@ -1,3 +1,3 @@\n${body}`;
  const judged = (p: string): string | null =>
    judgeAnswer(
      teacherReply([{ role: 'user', content: judgePrompt(p) }], 1, false, { fidelity: 1 }).content ?? '',
    ) ?? null;
  it('does not count plain comments, but counts documentation', () => {
    expect(judged(patch('a.ts', '-  // old note\n+  // new note\n const x = 1;\n'))).toBe('no');
    expect(judged(patch('a.ts', '+/** Results are not cached. */\n export function f() {\n'))).toBe('yes');
    expect(
      judged(patch('a.go', '-// F does things.\n+// F does things. Results are not cached.\n func F() {\n')),
    ).toBe('yes');
    expect(judged(patch('a.go', '-\t// inside\n+\t// inside, changed\n \tx := 1\n'))).toBe('no');
    expect(judged(patch('a.go', '-\tif x < 1 {\n+\tif x <= 1 {\n'))).toBe('yes');
  });
});
