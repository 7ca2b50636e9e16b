import { countsAsPassed, type TestStatus } from './test-log';

/** How one prediction fared. Anything but `resolved` carries its reason. */
export type GradeStatus =
  'resolved' | 'unresolved' | 'empty_patch' | 'patch_failed' | 'test_patch_failed' | 'timed_out' | 'error';

export interface TestTally {
  passed: number;
  total: number;
  /** Tests of the list that did not pass (capped: a broken suite can fail thousands). */
  failing: string[];
}

export interface GradeRecord {
  instanceId: string;
  status: GradeStatus;
  resolved: boolean;
  reason?: string;
  failToPass?: TestTally;
  passToPass?: TestTally;
}

const FAILING_SHOWN = 20;

export function tally(tests: readonly string[], results: Map<string, TestStatus>): TestTally {
  const failing = tests.filter((t) => !countsAsPassed(results.get(t)));
  return {
    passed: tests.length - failing.length,
    total: tests.length,
    failing: failing.slice(0, FAILING_SHOWN),
  };
}

/** Resolved iff every FAIL_TO_PASS test passes and every PASS_TO_PASS test still passes. */
export function gradeFromResults(
  instanceId: string,
  failToPass: readonly string[],
  passToPass: readonly string[],
  results: Map<string, TestStatus>,
): GradeRecord {
  const f2p = tally(failToPass, results);
  const p2p = tally(passToPass, results);
  const resolved = f2p.passed === f2p.total && p2p.passed === p2p.total;
  const reason = resolved
    ? undefined
    : [
        f2p.passed < f2p.total
          ? `${f2p.total - f2p.passed} of ${f2p.total} FAIL_TO_PASS tests do not pass`
          : '',
        p2p.passed < p2p.total ? `${p2p.total - p2p.passed} of ${p2p.total} PASS_TO_PASS tests broke` : '',
      ]
        .filter(Boolean)
        .join('; ');
  return {
    instanceId,
    status: resolved ? 'resolved' : 'unresolved',
    resolved,
    reason,
    failToPass: f2p,
    passToPass: p2p,
  };
}

/** A record for a prediction that never reached its tests. */
export function gradeWithoutTests(
  instanceId: string,
  status: Exclude<GradeStatus, 'resolved' | 'unresolved'>,
  reason: string,
): GradeRecord {
  return { instanceId, status, resolved: false, reason };
}
