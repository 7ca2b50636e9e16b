/** Counts from pytest's closing line, e.g. "663 passed, 1 skipped, 8 warnings in 2.60s". */
export interface PytestSummary {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  line: string;
}

const SUMMARY_LINE = /^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s/;

export function parsePytestSummary(output: string): PytestSummary | undefined {
  const lines = output.trimEnd().split('\n').reverse();
  for (const raw of lines) {
    const match = SUMMARY_LINE.exec(raw.trim());
    if (!match?.[1]) continue;
    const count = (word: string): number => {
      const found = new RegExp(`(\\d+) ${word}`).exec(match[1] ?? '');
      return found?.[1] ? Number(found[1]) : 0;
    };
    return {
      passed: count('passed'),
      failed: count('failed'),
      errors: count('errors?'),
      skipped: count('skipped'),
      line: raw.trim().replace(/^=+\s*|\s*=+$/g, ''),
    };
  }
  return undefined;
}
