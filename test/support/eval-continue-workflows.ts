// The workflows of the evaluation continue-as-new test (and benchmark): the real `evaluateModel`,
// with a stand-in for its solving children. What is under test is the evaluation itself (how it
// splits into workflow runs, what it carries and how its grades reach the report), so each
// solving run returns a deterministic grade at once instead of an agent and a test run in containers.
import type { SolveInstanceInput, SolveInstanceResult } from '../../workflows/solve-instance';

export { evaluateModel } from '../../workflows/evaluate-model';

/** 32-bit FNV-1a: a deterministic fate per seed and instance (no randomness in workflows). */
function fnv(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Stands in for `solveInstance` (same workflow type name and result): about half resolved. */
export async function solveInstance(input: SolveInstanceInput): Promise<SolveInstanceResult> {
  const instanceId = input.head.instanceId;
  const roll = fnv(`${input.seed}:${instanceId}`);
  const resolved = roll % 2 === 0;
  return {
    seed: input.seed,
    instanceId,
    exitStatus: roll % 5 === 0 ? 'exit_turns' : 'submitted',
    turns: 1 + (roll % 9),
    promptTokens: 1000 + (roll % 1000),
    completionTokens: 100 + (roll % 100),
    grade: {
      instanceId,
      status: resolved ? 'resolved' : 'unresolved',
      resolved,
      ...(resolved ? {} : { reason: '1 of 1 FAIL_TO_PASS tests do not pass' }),
      failToPass: {
        passed: resolved ? 1 : 0,
        total: 1,
        failing: resolved ? [] : ['tests/test_it.py::test_fix'],
      },
      passToPass: { passed: 12, total: 12, failing: [] },
    },
  };
}
