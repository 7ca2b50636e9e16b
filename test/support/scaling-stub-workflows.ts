// Stand-ins for finished runs and evaluations, so that the scaling fit is tested in seconds: each
// carries the workflow type and the result fields fitScaling reads (named as in the real results),
// and nothing else. They run on a test queue of their own, never on the orchestration queue.
import { condition, executeChild, workflowInfo } from '@temporalio/workflow';
import { summarizeSeeds } from '../../core/eval/stats';
import type { EvaluateModelResult } from '../../workflows/evaluate-model';

export const STUB_QUEUE = 'scaling-stubs';

export async function evaluateModel(input: {
  rates: number[];
}): Promise<Pick<EvaluateModelResult, 'summary'>> {
  return { summary: summarizeSeeds(input.rates) };
}

export interface StubRun {
  runId: string;
  lines: number;
  costUsd: number;
  tokens: number;
  /** The student's resolve rate per seed; none: the run was not evaluated. */
  rates?: number[];
}

/** A finished specialization whose student was evaluated by a child `<id>-eval-student`, as the real one is. */
export async function specializeRepository(input: StubRun) {
  const workflowId = `${workflowInfo().workflowId}-eval-student`;
  const student = input.rates
    ? await executeChild(evaluateModel, { workflowId, args: [{ rates: input.rates }] })
    : undefined;
  // The fields of SpecializeResult that fitScaling reads.
  return {
    runId: input.runId,
    generation: { costUsd: input.costUsd, tokens: input.tokens },
    dataset: { lines: input.lines },
    evaluation: student && { student: { summary: student.summary, workflowId } },
  };
}

/** A run that has not finished. */
export async function svgRun(): Promise<void> {
  await condition(() => false);
}
