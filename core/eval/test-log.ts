import { cargoParser } from './test-logs/cargo';
import { goTestParser } from './test-logs/go-test';
import { jestParser } from './test-logs/jest';
import { pytestParser } from './test-logs/pytest';
import { unittestParser } from './test-logs/unittest';
import { vitestParser } from './test-logs/vitest';

/**
 * Per-test results out of a test runner's log: one parser per runner, in core/eval/test-logs/.
 * A test missing from the log counts as not passed.
 */
export type TestStatus = 'PASSED' | 'FAILED' | 'ERROR' | 'SKIPPED' | 'XFAIL' | 'XPASS';

export interface TestLogParser {
  name: string;
  /** The flags the runner needs so that the log names every test with its outcome. */
  reportFlags: string;
  /**
   * The arguments that limit a run to the tests in these files (test scope `patch-files`); an
   * empty list runs everything, for a runner that cannot select by file.
   */
  selectFiles(files: readonly string[]): string[];
  parse(log: string): Map<string, TestStatus>;
}

export { cargoParser, goTestParser, jestParser, pytestParser, unittestParser, vitestParser };

const PARSERS: Record<string, TestLogParser> = Object.fromEntries(
  [pytestParser, unittestParser, goTestParser, vitestParser, jestParser, cargoParser].map((p) => [p.name, p]),
);

export function testLogParser(name: string): TestLogParser {
  const parser = PARSERS[name];
  if (!parser)
    throw new Error(
      `no test log parser named ${JSON.stringify(name)} (known: ${Object.keys(PARSERS).join(', ')})`,
    );
  return parser;
}

/** Every runner with a parser: the values `testRunner` accepts. */
export const TEST_LOG_PARSERS = Object.keys(PARSERS);

/** As SWE-bench counts them: an expected failure that failed is a pass. */
export function countsAsPassed(status: TestStatus | undefined): boolean {
  return status === 'PASSED' || status === 'XFAIL';
}
