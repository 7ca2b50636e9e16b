import type { Client } from '@temporalio/client';
import { asRunResult } from '../../client/svg-run-commands';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import { exampleEvalSet, exampleRepository } from '../../infra/example-repo';
import { TEACHER_MODEL } from '../../infra/teacher-server';
import type { SpecializeResult } from '../../workflows/specialize-repository';
import type { SvgRunResult } from '../../workflows/svg-run';

/**
 * A whole specialization of the example repository with the offline teacher at `teacherUrl`
 * (workflow `sera-run-<runId>`), seen as the CLI shows it: the generation's result with the
 * dataset, training and evaluation stages' results on it.
 */
export async function specializeExample(
  client: Client,
  runId: string,
  teacherUrl: string,
  fields: Partial<RunConfigRequest>,
): Promise<SvgRunResult> {
  const example = exampleRepository();
  const result = (await client.workflow.execute('specializeRepository', {
    taskQueue: TaskQueues.orchestration,
    workflowId: `sera-run-${runId}`,
    args: [
      {
        runId,
        repository: { path: example.path, commit: example.commit },
        teacher: { baseUrl: teacherUrl, model: TEACHER_MODEL },
        ...fields,
      },
    ],
  })) as SpecializeResult;
  return asRunResult(result);
}

/** The example evaluation set's instance the lifecycle tests evaluate on (one, to stay short). */
export const EVAL_INSTANCE = 'more-itertools__more-itertools-v10.1.0';

/**
 * A run config's `evaluate` for the lifecycle tests: the student served by vLLM's CPU build and
 * the base model (the offline teacher at `teacherUrl`), on EVAL_INSTANCE, with small limits.
 */
export function oneInstanceEvaluation(teacherUrl: string): NonNullable<RunConfigRequest['evaluate']> {
  const evalSet = exampleEvalSet();
  return {
    instances: { path: evalSet.instancesFile },
    environments: { [evalSet.repo]: evalSet.environment },
    instanceIds: [EVAL_INSTANCE],
    base: { baseUrl: teacherUrl, model: TEACHER_MODEL },
    serve: { maxModelLen: 4096, extraArgs: ['--dtype', 'float32', '-O0'] },
    settings: { maxTokens: 64 },
    solve: { maxModelCalls: 12, contextCapTokens: 4096 },
  };
}
