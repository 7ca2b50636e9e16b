import { describe, expect, it } from 'vitest';
import { gradeFromResults } from '../../core/eval/grading';
import { isTestFile } from '../../core/eval/patch-files';
import { withoutTestFiles } from '../../core/eval/test-files';
import { testCommandLine } from '../../core/eval/test-command';
import { isTestPatchFile } from '../../core/eval/test-files';
import { pytestParser, TEST_LOG_PARSERS, testLogParser } from '../../core/eval/test-log';

const log = `============================= test session starts ==============================
tests/test_more.py::ChunkedTests::test_even PASSED                       [ 25%]
tests/test_more.py::ChunkedTests::test_odd FAILED                        [ 50%]
=================================== FAILURES ===================================
___________________________ ChunkedTests.test_odd ______________________________
E   AssertionError: PASSED is not FAILED
=========================== short test summary info ============================
PASSED tests/test_more.py::ChunkedTests::test_even
PASSED tests/test_recipes.py::test_take[3]
XFAIL tests/test_recipes.py::test_known - reason
FAILED tests/test_more.py::ChunkedTests::test_odd - AssertionError: x
ERROR tests/test_more.py::test_broken - ImportError
SKIPPED [1] tests/test_more.py:10: no numpy
==================== 1 failed, 3 passed, 1 error in 0.12s ====================
`;

describe('pytest log parser', () => {
  it('reads every test and its outcome from the -rA summary and the -v lines', () => {
    const results = pytestParser.parse(log);
    expect(Object.fromEntries(results)).toEqual({
      'tests/test_more.py::ChunkedTests::test_even': 'PASSED',
      'tests/test_more.py::ChunkedTests::test_odd': 'FAILED',
      'tests/test_recipes.py::test_take[3]': 'PASSED',
      'tests/test_recipes.py::test_known': 'XFAIL',
      'tests/test_more.py::test_broken': 'ERROR',
    });
  });

  it('is found by name, and an unknown runner is an error naming the known ones', () => {
    expect(testLogParser('pytest')).toBe(pytestParser);
    expect(TEST_LOG_PARSERS).toEqual(['pytest', 'unittest', 'go', 'vitest', 'jest', 'cargo']);
    expect(() => testLogParser('mocha')).toThrow(
      'no test log parser named "mocha" (known: pytest, unittest, go, vitest, jest, cargo)',
    );
  });
});

describe('the test command', () => {
  const files = ['tests/test_a.py', 'pkg/b_test.go', "tests/it's.py"];

  it('appends the report flags and, with scope patch-files (the default), the test patch’s files', () => {
    const pytest = { testCommand: 'python -m pytest', testRunner: 'pytest' };
    expect(testCommandLine(pytest, files)).toBe(
      `python -m pytest -rA tests/test_a.py pkg/b_test.go 'tests/it'\\''s.py'`,
    );
    expect(testCommandLine({ ...pytest, testScope: 'patch-files' }, files)).toBe(
      testCommandLine(pytest, files),
    );
  });

  it('runs the whole command with scope all', () => {
    expect(testCommandLine({ testCommand: 'pytest', testRunner: 'pytest', testScope: 'all' }, files)).toBe(
      'pytest -rA',
    );
  });

  it('gives go test the packages of the files, and cargo nothing to select', () => {
    expect(testCommandLine({ testCommand: 'go test', testRunner: 'go' }, files)).toBe(
      'go test -v ./tests ./pkg',
    );
    expect(testCommandLine({ testCommand: 'cargo test', testRunner: 'cargo' }, ['tests/api.rs'])).toBe(
      'cargo test --no-fail-fast',
    );
    expect(testCommandLine({ testCommand: 'npx vitest run', testRunner: 'vitest' }, ['test/a.test.ts'])).toBe(
      'npx vitest run --reporter=verbose test/a.test.ts',
    );
  });

  it('refuses a runner it has no parser for', () => {
    expect(() => testCommandLine({ testCommand: 'mocha', testRunner: 'mocha' }, files)).toThrow(
      /known: pytest/,
    );
  });
});

describe('the test patch of a change', () => {
  it('holds the test files of Python, TypeScript and Go projects', () => {
    const tests = [
      'tests/test_a.py',
      'pkg/test_b.py',
      'pkg/b_test.py',
      'conftest.py',
      'src/parse.test.ts',
      'src/ui/button.spec.tsx',
      'lib/__tests__/x.js',
      'src/__snapshots__/parse.test.ts.snap',
      'test/helpers.ts',
      'calc_test.go',
      'internal/lex/lex_test.go',
      'parse/testdata/golden.txt',
    ];
    expect(tests.filter((f) => !isTestPatchFile(f))).toEqual([]);
  });

  it('leaves code out, even when its name mentions a test', () => {
    const code = ['src/parse.ts', 'lib/contest.py', 'latest.go', 'src/testimony.ts', 'cmd/tester/main.go'];
    expect(code.filter(isTestPatchFile)).toEqual([]);
  });
});

describe('gradeFromResults', () => {
  const results = pytestParser.parse(log);
  it('resolves when every FAIL_TO_PASS passes and every PASS_TO_PASS still passes (XFAIL counts)', () => {
    const grade = gradeFromResults(
      'i1',
      ['tests/test_more.py::ChunkedTests::test_even'],
      ['tests/test_recipes.py::test_take[3]', 'tests/test_recipes.py::test_known'],
      results,
    );
    expect(grade).toMatchObject({ status: 'resolved', resolved: true, reason: undefined });
  });

  it('does not resolve when a PASS_TO_PASS test broke or a listed test is missing from the log', () => {
    const broke = gradeFromResults(
      'i1',
      ['tests/test_more.py::ChunkedTests::test_even'],
      ['tests/test_more.py::ChunkedTests::test_odd'],
      results,
    );
    expect(broke).toMatchObject({ status: 'unresolved', reason: '1 of 1 PASS_TO_PASS tests broke' });
    const missing = gradeFromResults(
      'i1',
      ['tests/test_more.py::test_absent', 'tests/test_more.py::test_broken'],
      [],
      results,
    );
    expect(missing.reason).toBe('2 of 2 FAIL_TO_PASS tests do not pass');
    expect(missing.failToPass?.failing).toEqual([
      'tests/test_more.py::test_absent',
      'tests/test_more.py::test_broken',
    ]);
  });
});

describe('test files in a model patch', () => {
  const diff = [
    'diff --git a/lib/core.py b/lib/core.py\n--- a/lib/core.py\n+++ b/lib/core.py\n@@ -1 +1 @@\n-a\n+b\n',
    'diff --git a/tests/test_core.py b/tests/test_core.py\n--- a/tests/test_core.py\n+++ b/tests/test_core.py\n@@ -1 +1 @@\n-a\n+b\n',
    'diff --git a/lib/conftest.py b/lib/conftest.py\nnew file mode 100644\n',
  ].join('');

  it('follows the harnesses: test directories, test_*.py, *_test.py and conftest.py', () => {
    expect(
      ['tests/a.py', 'pkg/testing/x.py', 'a/test_b.py', 'b_test.py', 'conftest.py'].every(isTestFile),
    ).toBe(true);
    expect(['lib/contest.py', 'latest.py', 'docs/testimony.md'].some(isTestFile)).toBe(false);
  });

  it('are kept out, the rest of the patch byte for byte', () => {
    const { patch, dropped } = withoutTestFiles(diff);
    expect(dropped).toEqual(['tests/test_core.py', 'lib/conftest.py']);
    expect(patch).toBe(
      'diff --git a/lib/core.py b/lib/core.py\n--- a/lib/core.py\n+++ b/lib/core.py\n@@ -1 +1 @@\n-a\n+b\n',
    );
    expect(withoutTestFiles('')).toEqual({ patch: '', dropped: [] });
  });

  it('are kept out in Go and TypeScript too', () => {
    const file = (name: string): string =>
      `diff --git a/${name} b/${name}\n--- a/${name}\n+++ b/${name}\n@@ -1 +1 @@\n-a\n+b\n`;
    const { patch, dropped } = withoutTestFiles(
      ['uuid.go', 'uuid_test.go', 'testdata/fuzz/x', 'src/url.ts', 'test/url.test.ts'].map(file).join(''),
    );
    expect(dropped).toEqual(['uuid_test.go', 'testdata/fuzz/x', 'test/url.test.ts']);
    expect(patch).toBe(file('uuid.go') + file('src/url.ts'));
  });
});
