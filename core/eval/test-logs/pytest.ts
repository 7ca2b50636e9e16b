import type { TestLogParser, TestStatus } from '../test-log';
import { plainLines } from './common';

const STATUSES: readonly TestStatus[] = ['PASSED', 'FAILED', 'ERROR', 'SKIPPED', 'XFAIL', 'XPASS'];
const STATUS_WORD = STATUSES.join('|');
/** `-rA` summary lines: `PASSED tests/a.py::T::test_x` or `FAILED tests/a.py::test_y - msg`. */
const SUMMARY_LINE = new RegExp(`^(${STATUS_WORD}) (\\S+::\\S+)`);
/** `-v` lines: `tests/a.py::test_x PASSED  [ 10%]`. */
const VERBOSE_LINE = new RegExp(`^(\\S+::\\S+) (${STATUS_WORD})(?:\\s|$)`);

/** pytest with `-rA`: the short summary names every test; `-v` lines are read as well. */
export const pytestParser: TestLogParser = {
  name: 'pytest',
  reportFlags: '-rA',
  selectFiles: (files) => [...files],
  parse(log) {
    const results = new Map<string, TestStatus>();
    for (const line of plainLines(log)) {
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
