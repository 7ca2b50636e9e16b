import type { Client } from '@temporalio/client';
import { asRunResult } from '../../client/svg-run-commands';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import { exampleRepository } from '../../infra/example-repo';
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
