import { describe, expect, it } from 'vitest';
import { parsePytestSummary } from '../../core/pytest-summary';

describe('parsePytestSummary', () => {
  it('reads the quiet closing line', () => {
    const summary = parsePytestSummary('....\n663 passed, 1 skipped, 8 warnings in 2.60s\n');
    expect(summary).toEqual({
      passed: 663,
      failed: 0,
      errors: 0,
      skipped: 1,
      line: '663 passed, 1 skipped, 8 warnings in 2.60s',
    });
  });

  it('reads the framed line with failures and errors', () => {
    const summary = parsePytestSummary('FAILED t.py::x\n===== 2 failed, 10 passed, 1 error in 0.31s =====');
    expect(summary).toMatchObject({
      passed: 10,
      failed: 2,
      errors: 1,
      line: '2 failed, 10 passed, 1 error in 0.31s',
    });
  });

  it('takes the last summary when output holds several', () => {
    expect(parsePytestSummary('1 passed in 0.1s\nmore\n3 passed in 0.2s')?.passed).toBe(3);
  });

  it('returns undefined when there is none', () => {
    expect(parsePytestSummary('bash: pytest: command not found')).toBeUndefined();
  });
});
