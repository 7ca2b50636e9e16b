import type { TestLogParser, TestStatus } from '../test-log';
import { plainLines, recordWorst } from './common';

/** `test tests::it_works ... ok`, `test tests::slow ... ignored, reason`, `... FAILED`. */
const RESULT = /^test (.+?) \.\.\. (ok|FAILED|ignored)(?:,.*)?$/;

const STATUS: Record<string, TestStatus> = { ok: 'PASSED', FAILED: 'FAILED', ignored: 'SKIPPED' };

/** One name for a test however the code around it moves. */
function testName(raw: string): string {
  return (
    raw
      .replace(/ - should panic(?: with `.*`)?$/, '')
      // A doctest is named by its item; the line it starts on moves with any edit above it.
      .replace(/^(.+ - .+) \(line \d+\)$/, '$1')
  );
}

/**
 * `cargo test`: every test binary prints a line per test by default. Names are the test's path
 * in its crate (`tests::it_works`), as cargo prints them; the same name in two binaries (two
 * integration test files, two crates of a workspace) keeps the worse outcome.
 */
export const cargoParser: TestLogParser = {
  name: 'cargo',
  // Without it cargo stops at the first test binary that fails, and the rest go unreported.
  reportFlags: '--no-fail-fast',
  // A test inside a source file cannot be selected by its file: the whole suite runs.
  selectFiles: () => [],
  parse(log) {
    const results = new Map<string, TestStatus>();
    for (const line of plainLines(log)) {
      const result = RESULT.exec(line);
      if (result?.[1] && result[2]) recordWorst(results, testName(result[1]), STATUS[result[2]]!);
    }
    return results;
  },
};
