import type { TestLogParser, TestStatus } from '../test-log';
import { plainLines, recordWorst } from './common';

/**
 * `test_x (pkg.mod.Class.test_x)` (Python 3.11+) or `test_x (pkg.mod.Class)` (3.10 and older),
 * maybe followed by a subtest's parameters (` (i=2)`, ` [msg]`) and a trailing ` ...`.
 */
const HEADER = /^\s*(\S+) \(([\w.]+)\)(.*?)(?: \.\.\.)?$/;
/** The failure section's headers: `FAIL: test_x (pkg.mod.Class.test_x) (i=2)`. */
const BLOCK = /^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([\w.]+)\)/;
/** An outcome at the end of a line; a test's own output without a newline may stand before it. */
const OUTCOME = /(ok|FAIL|ERROR|expected failure|unexpected success|skipped(?: '.*'| ".*")?)$/;

const STATUS: Record<string, TestStatus> = {
  ok: 'PASSED',
  FAIL: 'FAILED',
  ERROR: 'ERROR',
  'expected failure': 'XFAIL',
  'unexpected success': 'XPASS',
  'UNEXPECTED SUCCESS': 'XPASS',
  skipped: 'SKIPPED',
};

/** One name across Python versions: the dotted id `pkg.mod.Class.test_x`. */
function testId(method: string, dotted: string): string {
  return dotted.endsWith(`.${method}`) ? dotted : `${dotted}.${method}`;
}

function statusOf(outcome: string): TestStatus | undefined {
  return STATUS[outcome.startsWith('skipped') ? 'skipped' : outcome];
}

/**
 * `python -m unittest -v`: a line per test, `test_x (pkg.mod.Class.test_x) ... ok`. A docstring
 * puts its first line between the name and the outcome; a failing subtest prints its own line (or,
 * before 3.11, nothing) and is named again in the failure section, which is read too.
 */
export const unittestParser: TestLogParser = {
  name: 'unittest',
  reportFlags: '-v',
  // unittest takes a test module's path as well as its dotted name.
  selectFiles: (files) => files.filter((f) => f.endsWith('.py')),
  parse(log) {
    const results = new Map<string, TestStatus>();
    /** The test (or subtest) whose outcome has not been printed yet. */
    let pending: { id: string; subtest: boolean } | undefined;
    for (const line of plainLines(log)) {
      const block = BLOCK.exec(line);
      if (block?.[1] && block[2] && block[3]) {
        recordWorst(results, testId(block[2], block[3]), STATUS[block[1]]!);
        pending = undefined;
        continue;
      }
      // Before 3.11 a test whose subtests failed prints no outcome, so the next test's name
      // follows on the same line: every part but the last may name a test.
      const parts = line.split(' ... ');
      const last = parts.pop()!;
      const named = parts.length > 0 ? parts : [last];
      for (const part of named) {
        const header = HEADER.exec(part);
        if (header?.[1] && header[2])
          pending = { id: testId(header[1], header[2]), subtest: header[3] !== '' };
      }
      if (parts.length === 0 && HEADER.test(last)) continue;
      // Alone on its line, an outcome is the whole line (a test's output may print before it).
      const outcome = OUTCOME.exec(parts.length === 0 ? last.trim() : last);
      const status = outcome?.[1] ? statusOf(outcome[1]) : undefined;
      if (!pending || !status || (parts.length === 0 && outcome?.index !== 0)) continue;
      // A subtest's own line only matters when it failed: it fails its test.
      if (!pending.subtest || status === 'FAILED' || status === 'ERROR')
        recordWorst(results, pending.id, status);
      pending = undefined;
    }
    return results;
  },
};
