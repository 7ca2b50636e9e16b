import type { TestLogParser, TestStatus } from '../test-log';
import { plainLines, recordWorst } from './common';

/** A test's line: a mark, then `file > suite > name` (verbose) or `suite > name` under its file. */
const TEST = /^( +)([✓√×✗✕✘↓]) (.+)$/;
/** The default reporter's file line: `❯ test/a.test.ts (7 tests | 1 failed) 11ms`. */
const FILE = /^ [✓√×✗✕✘❯↓] (.+?) \(\d+ tests?(?: \|[^)]*)?\)(?: \d+(?:\.\d+)?m?s)?$/;
/** The failure section names each failed test: ` FAIL  test/a.test.ts > suite > name`. */
const FAILED = /^ FAIL {2}(.+ > .+)$/;
/** What follows a test's name: its duration, retries and repeats. */
const SUFFIX = /(?: \d+(?:\.\d+)?m?s)?(?: \((?:retry|repeat) x\d+\))*$/;

const STATUS: Record<string, TestStatus> = {
  '✓': 'PASSED',
  '√': 'PASSED',
  '×': 'FAILED',
  '✗': 'FAILED',
  '✕': 'FAILED',
  '✘': 'FAILED',
  '↓': 'SKIPPED',
};

/**
 * vitest 3 with `--reporter=verbose` (a line per test, `✓ test/a.test.ts > suite > name 2ms`), or
 * its default reporter, which lists the tests of a failed file under the file's line. Either way a
 * test is named `file > suite > name`, as vitest names it.
 */
export const vitestParser: TestLogParser = {
  name: 'vitest',
  reportFlags: '--reporter=verbose',
  selectFiles: (files) => files.filter((f) => /\.[cm]?[jt]sx?$/.test(f)),
  parse(log) {
    const results = new Map<string, TestStatus>();
    let file = '';
    for (const line of plainLines(log)) {
      const header = FILE.exec(line);
      if (header?.[1]) {
        file = header[1];
        continue;
      }
      const failed = FAILED.exec(line);
      if (failed?.[1]) {
        recordWorst(results, failed[1], 'FAILED');
        continue;
      }
      const test = TEST.exec(line);
      if (!test?.[1] || !test[2] || !test[3]) continue;
      const status = STATUS[test[2]]!;
      // Skipped tests print no duration, so a name that ends like one keeps it.
      const name = status === 'SKIPPED' ? test[3] : test[3].replace(SUFFIX, '');
      recordWorst(results, test[1].length > 1 && file ? `${file} > ${name}` : name, status);
    }
    return results;
  },
};
