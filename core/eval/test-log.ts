/**
 * Per-test results out of a test runner's log. Each runner has a parser; pytest is the first.
 * A test missing from the log counts as not passed.
 */
export type TestStatus = 'PASSED' | 'FAILED' | 'ERROR' | 'SKIPPED' | 'XFAIL' | 'XPASS';

export interface TestLogParser {
  name: string;
  /** The flags the runner needs so that the log names every test with its outcome. */
  reportFlags: string;
  parse(log: string): Map<string, TestStatus>;
}

const STATUSES: readonly TestStatus[] = ['PASSED', 'FAILED', 'ERROR', 'SKIPPED', 'XFAIL', 'XPASS'];
const STATUS_WORD = STATUSES.join('|');
/** `-rA` summary lines: `PASSED tests/a.py::T::test_x` or `FAILED tests/a.py::test_y - msg`. */
const SUMMARY_LINE = new RegExp(`^(${STATUS_WORD}) (\\S+::\\S+)`);
/** `-v` lines: `tests/a.py::test_x PASSED  [ 10%]`. */
const VERBOSE_LINE = new RegExp(`^(\\S+::\\S+) (${STATUS_WORD})(?:\\s|$)`);

// eslint-disable-next-line no-control-regex -- terminal colour codes start with the ESC character
const ANSI_COLOR = /\x1b\[[0-9;]*m/g;

/** pytest with `-rA`: the short summary names every test; `-v` lines are read as well. */
export const pytestParser: TestLogParser = {
  name: 'pytest',
  reportFlags: '-rA',
  parse(log) {
    const results = new Map<string, TestStatus>();
    for (const raw of log.split('\n')) {
      const line = raw.replace(ANSI_COLOR, '').trimEnd();
      const summary = SUMMARY_LINE.exec(line);
      if (summary?.[1] && summary[2]) {
        results.set(summary[2], summary[1] as TestStatus);
        continue;
      }
      const verbose = VERBOSE_LINE.exec(line);
      // The summary, printed last, wins over a progress line for the same test.
      if (verbose?.[1] && verbose[2] && !results.has(verbose[1]))
        results.set(verbose[1], verbose[2] as TestStatus);
    }
    return results;
  },
};

const PARSERS: Record<string, TestLogParser> = { pytest: pytestParser };

export function testLogParser(name: string): TestLogParser {
  const parser = PARSERS[name];
  if (!parser)
    throw new Error(
      `no test log parser named ${JSON.stringify(name)} (known: ${Object.keys(PARSERS).join(', ')})`,
    );
  return parser;
}

export const TEST_LOG_PARSERS = Object.keys(PARSERS);

/** As SWE-bench counts them: an expected failure that failed is a pass. */
export function countsAsPassed(status: TestStatus | undefined): boolean {
  return status === 'PASSED' || status === 'XFAIL';
}
