/**
 * Soft verification, SERA's check that rollout 2 reproduced rollout 1's change: line-level
 * recall of rollout 1's patch in rollout 2's, no tests run.
 */

/**
 * The changed lines of a unified diff: lines starting with `+` or `-`, without file headers
 * (`diff`, `---`, `+++`) or hunk headers (`@@`), without lines whose content is blank. The sign
 * and the line's whitespace are kept exactly. As in the method's own rules, a removed line whose
 * text starts with `--` reads as a file header and is left out.
 */
export function changedLines(patch: string): string[] {
  return signedLines(patch).filter((line) => line.slice(1).trim() !== '');
}

/** Every `+`/`-` line of a unified diff, file headers left out, blank ones kept. */
export function signedLines(patch: string): string[] {
  return patch
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter(
      (line) =>
        (line.startsWith('+') || line.startsWith('-')) && !line.startsWith('+++') && !line.startsWith('---'),
    );
}

export interface SoftVerification {
  /** |P2 ∩ P1| / |P1| as a multiset intersection; undefined when P1 has no changed lines. */
  recall: number | undefined;
  p1Lines: number;
  p2Lines: number;
  matched: number;
  verified: boolean;
  reason?: 'empty_rollout1_patch' | 'recall_below_threshold';
}

export function softVerify(patch1: string, patch2: string, threshold: number): SoftVerification {
  const p1 = changedLines(patch1);
  const p2 = changedLines(patch2);
  const available = new Map<string, number>();
  for (const line of p2) available.set(line, (available.get(line) ?? 0) + 1);
  let matched = 0;
  for (const line of p1) {
    const left = available.get(line) ?? 0;
    if (left > 0) {
      matched += 1;
      available.set(line, left - 1);
    }
  }
  if (p1.length === 0) {
    return {
      recall: undefined,
      p1Lines: 0,
      p2Lines: p2.length,
      matched: 0,
      verified: false,
      reason: 'empty_rollout1_patch',
    };
  }
  const recall = matched / p1.length;
  const verified = recall >= threshold;
  return {
    recall,
    p1Lines: p1.length,
    p2Lines: p2.length,
    matched,
    verified,
    ...(verified ? {} : { reason: 'recall_below_threshold' as const }),
  };
}
