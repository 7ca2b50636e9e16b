import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DeclaredSkipsSchema,
  readDeclaredSkips,
  summarizeTestReport,
  type DeclaredSkip,
  type TestReport,
} from '../../infra/ci-summary';
import { repoRoot } from '../../infra/paths';
import vitestConfig from '../../vitest.config';

const root = '/checkout';
type Test = TestReport['testResults'][number]['assertionResults'][number];
const test = (fullName: string, status: string, failureMessages: string[] = []): Test => ({
  fullName,
  status,
  failureMessages,
});
/** One file of a report as vitest's JSON reporter writes it. */
const file = (name: string, status: string, tests: Test[], message = '') => ({
  name: `${root}/${name}`,
  status,
  message,
  assertionResults: tests,
});
const bundles: DeclaredSkip = {
  file: 'test/integration/real-repos.test.ts',
  name: 'real repositories from their examples',
  reason: 'needs the bundles',
};

describe("CI's count of what ran", () => {
  it('passes a report where everything ran and passed', () => {
    const summary = summarizeTestReport(
      {
        testResults: [
          file('test/unit/a.test.ts', 'passed', [test('a one', 'passed'), test('a two', 'passed')]),
        ],
      },
      [],
      root,
    );
    expect(summary).toMatchObject({
      ok: true,
      line: '2 passed, 0 failed, 0 skipped (declared)',
      problems: [],
    });
  });

  it('fails on a skip without a declared reason, naming it', () => {
    const summary = summarizeTestReport(
      {
        testResults: [
          file('test/unit/a.test.ts', 'passed', [test('a one', 'passed'), test('a two', 'skipped')]),
          file('test/unit/b.test.ts', 'passed', [test('b later', 'todo')]),
        ],
      },
      [bundles],
      root,
    );
    expect(summary.ok).toBe(false);
    expect(summary.line).toBe('1 passed, 0 failed, 2 skipped (0 declared, 2 undeclared)');
    expect(summary.problems).toEqual([
      'skipped (skipped) without a declared reason: test/unit/a.test.ts > a two (declare it in test/declared-skips.json or make it run)',
      'skipped (todo) without a declared reason: test/unit/b.test.ts > b later (declare it in test/declared-skips.json or make it run)',
    ]);
  });

  it('passes a declared skip, by its describe block, and counts it', () => {
    const summary = summarizeTestReport(
      {
        testResults: [
          file('test/integration/real-repos.test.ts', 'passed', [
            test('real repositories from their examples flask builds', 'skipped'),
            test('real repositories from their examples ufo builds', 'skipped'),
          ]),
          file('test/unit/a.test.ts', 'passed', [test('a one', 'passed')]),
        ],
      },
      [bundles],
      root,
    );
    expect(summary).toMatchObject({
      ok: true,
      line: '1 passed, 0 failed, 2 skipped (declared)',
      problems: [],
    });
  });

  it('matches a declaration by whole title words and by its file only', () => {
    const summary = summarizeTestReport(
      {
        testResults: [
          file('test/integration/real-repos.test.ts', 'passed', [
            test('real repositories from their examples2 x', 'skipped'),
          ]),
          file('test/integration/other.test.ts', 'passed', [
            test('real repositories from their examples x', 'skipped'),
          ]),
        ],
      },
      [bundles],
      root,
    );
    expect(summary).toMatchObject({ ok: false, declaredSkips: 0, undeclaredSkips: 2 });
  });

  it('counts the skipped tests of a file whose set-up failed as failed, declared or not', () => {
    const summary = summarizeTestReport(
      {
        testResults: [
          // beforeAll threw: vitest marks the file failed and its tests skipped.
          file('test/integration/real-repos.test.ts', 'failed', [
            test('real repositories from their examples flask builds', 'skipped'),
            test('real repositories from their examples ufo builds', 'skipped'),
          ]),
          // An import failed: no test at all.
          file('test/unit/c.test.ts', 'failed', [], "Cannot find module './gone'"),
        ],
      },
      [bundles],
      root,
    );
    expect(summary).toMatchObject({ ok: false, passed: 0, failed: 3, declaredSkips: 0 });
    expect(summary.line).toBe('0 passed, 3 failed, 0 skipped (declared)');
    expect(summary.problems).toContain("file failed: test/unit/c.test.ts: Cannot find module './gone'");
    expect(summary.problems).toContain(
      'did not run, its file failed: test/integration/real-repos.test.ts > real repositories from their examples flask builds',
    );
  });

  it('refuses .only: the refused test fails, and an allowed one leaves undeclared skips', () => {
    const refused = summarizeTestReport(
      {
        testResults: [
          file('test/unit/d.test.ts', 'failed', [
            test('only one', 'failed', [
              'Error: [Vitest] Unexpected .only modifier. Remove it or pass --allowOnly argument to bypass this error',
            ]),
            test('other', 'skipped'),
          ]),
        ],
      },
      [],
      root,
    );
    expect(refused).toMatchObject({ ok: false, failed: 2 });
    expect(refused.problems[0]).toBe('failed: test/unit/d.test.ts > only one (.only is refused: remove it)');
    // Run with --allowOnly, the file passes but the tests .only left out are skipped, undeclared.
    const allowed = summarizeTestReport(
      {
        testResults: [
          file('test/unit/d.test.ts', 'passed', [test('only one', 'passed'), test('other', 'skipped')]),
        ],
      },
      [],
      root,
    );
    expect(allowed).toMatchObject({ ok: false, failed: 0, undeclaredSkips: 1 });
  });

  it('vitest refuses .only in every run, whether or not CI is set', () => {
    expect(vitestConfig.test?.allowOnly).toBe(false);
  });

  it('a declaration needs a reason', () => {
    expect(
      DeclaredSkipsSchema.safeParse({ skips: [{ file: 'test/x.test.ts', name: 'x', reason: '' }] }).success,
    ).toBe(false);
    expect(DeclaredSkipsSchema.safeParse({ skips: [{ file: 'test/x.test.ts', name: 'x' }] }).success).toBe(
      false,
    );
  });

  it("the project's declarations each name a file that exists and a title in it", () => {
    const declared = readDeclaredSkips(path.join(repoRoot, 'test', 'declared-skips.json'));
    for (const skip of declared) {
      const file = path.join(repoRoot, skip.file);
      expect(existsSync(file), skip.file).toBe(true);
      expect(readFileSync(file, 'utf8'), skip.file).toContain(`'${skip.name}'`);
    }
  });
});
