// The workflows of the evaluation continue-as-new test (and benchmark): the real `evaluateModel`,
// with a stand-in for its solving children. What is under test is the evaluation itself (how it
// splits into workflow runs, what it carries and how its grades reach the report), so each
// solving run returns a deterministic grade at once instead of an agent and a test run in containers.
import type { SolveInstanceInput, SolveInstanceResult } from '../../workflows/solve-instance';
import { hash32 as fnv } from '../../core/teacher/random';

export { evaluateModel } from '../../workflows/evaluate-model';

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
