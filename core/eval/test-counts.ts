import type { PytestSummary } from '../pytest-summary';
import { countsAsPassed, testLogParser } from './test-log';

/**
 * A test run's counts read per test with its runner's log parser, in the shape of pytest's closing
 * line, for runners that print no such line (go test -v, vitest, cargo test, unittest -v).
 * Undefined when the log names no test.
 */
export function testCounts(runner: string, log: string): PytestSummary | undefined {
  const results = testLogParser(runner).parse(log);
  if (results.size === 0) return undefined;
  let passed = 0;
  let failed = 0;
  let errors = 0;
  let skipped = 0;
  for (const status of results.values()) {
    if (countsAsPassed(status)) passed += 1;
    else if (status === 'SKIPPED') skipped += 1;
    else if (status === 'ERROR') errors += 1;
    else failed += 1;
  }
  const parts = [`${passed} passed`, `${failed} failed`];
  if (errors > 0) parts.push(`${errors} errors`);
  if (skipped > 0) parts.push(`${skipped} skipped`);
  return { passed, failed, errors, skipped, line: `${parts.join(', ')} (${runner})` };
}
