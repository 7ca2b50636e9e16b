import { stripAnsi } from '../../ansi';
import type { TestStatus } from '../test-log';

/** The log's lines without colour codes, carriage returns or trailing blanks. */
export function plainLines(log: string): string[] {
  return stripAnsi(log)
    .split('\n')
    .map((line) => line.replace(/\r/g, '').trimEnd());
}

const SEVERITY: Record<TestStatus, number> = {
  PASSED: 0,
  XFAIL: 0,
  SKIPPED: 1,
  XPASS: 2,
  FAILED: 3,
  ERROR: 4,
};

/**
 * Records a test's outcome; a name reported twice (a repeated run, the same name in two
 * packages or binaries) keeps the worse outcome, so a failure is never hidden by a pass.
 */
export function recordWorst(results: Map<string, TestStatus>, name: string, status: TestStatus): void {
  const before = results.get(name);
  if (before === undefined || SEVERITY[status] > SEVERITY[before]) results.set(name, status);
}
