import type { TestLogParser, TestStatus } from '../test-log';
import { plainLines, recordWorst } from './common';

/** A test file's line: `PASS test/a.test.ts` (` PASS  ` in colour), maybe with its time. */
const FILE = /^ ?(PASS|FAIL) {1,2}(\S+)(?: \(\d+(?:\.\d+)? m?s\))?$/;
/** A test under it: `✓ adds (3 ms)`, `✕ fails`, `○ skipped name`, `✎ todo name`. */
const TEST = /^( *)([✓√✕×○✎]) (.+)$/;
/** A describe block's line: indented text without a mark (● heads a failure's details). */
const BLOCK = /^( +)([^\s●].*)$/;
/** A failure's heading, which the default reporter prints even for files it does not list. */
const FAILURE = /^ {2}● (.+)$/;
const DURATION = / \(\d+(?:\.\d+)? m?s\)$/;

const STATUS: Record<string, TestStatus> = {
  '✓': 'PASSED',
  '√': 'PASSED',
  '✕': 'FAILED',
  '×': 'FAILED',
  '○': 'SKIPPED',
  '✎': 'SKIPPED',
};

/**
 * jest with `--verbose`: each file's line, then its describe blocks and tests indented two spaces
 * a level. A test is named `file > describe > name`, as the vitest parser names it, so a project
 * that moves between the two keeps its test lists. The tree ends at the first blank line; after
 * it come the failures' details.
 */
export const jestParser: TestLogParser = {
  name: 'jest',
  reportFlags: '--verbose',
  selectFiles: (files) => files.filter((f) => /\.[cm]?[jt]sx?$/.test(f)),
  parse(log) {
    const results = new Map<string, TestStatus>();
    let file = '';
    let inTree = false;
    let blocks: string[] = [];
    for (const line of plainLines(log)) {
      const header = FILE.exec(line);
      if (header?.[2]) {
        file = header[2];
        inTree = true;
        blocks = [];
        continue;
      }
      if (!file) continue;
      if (line === '') {
        inTree = false;
        continue;
      }
      if (inTree) {
        const test = TEST.exec(line);
        if (test?.[1] !== undefined && test[2] && test[3]) {
          const depth = Math.max(0, test[1].length / 2 - 1);
          const status = STATUS[test[2]]!;
          const title =
            status === 'SKIPPED' ? test[3].replace(/^(?:skipped|todo) /, '') : test[3].replace(DURATION, '');
          recordWorst(results, [file, ...blocks.slice(0, depth), title].join(' > '), status);
          continue;
        }
        const block = BLOCK.exec(line);
        if (block?.[1] && block[2]) {
          const depth = Math.max(0, block[1].length / 2 - 1);
          blocks = [...blocks.slice(0, depth), block[2]];
          continue;
        }
        inTree = false;
      }
      // Without --verbose only failures are named: `● describe › name`.
      const failure = FAILURE.exec(line);
      if (failure?.[1] && failure[1] !== 'Test suite failed to run')
        recordWorst(results, [file, ...failure[1].split(' › ')].join(' > '), 'FAILED');
    }
    return results;
  },
};
