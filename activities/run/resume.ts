import { Context } from '@temporalio/activity';
import { ApplicationFailure, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import type { ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { STAGE_MANIFEST_MEMO, type StageRecord } from '../../core/lifecycle-stages';
import type { SvgSampleSummary } from '../../workflows/svg-sample';

export interface PreviousRun {
  workflowId: string;
  runId: string;
  status: string;
  stages: StageRecord[];
}

/** Runs of one workflow id, newest first, leaving out the one asking. */
async function earlierRuns(
  client: Client,
  workflowId: string,
  except: string,
): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  const escaped = workflowId.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  for await (const run of client.workflow.list({ query: `WorkflowId = "${escaped}"` })) {
    if (run.runId !== except) runs.push(run);
  }
  return runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
}

/**
 * What an earlier run of a specialization finished, read from its stage manifest: the latest run
 * of `workflowId` other than the caller's own. `required` (an explicit `resumeFrom`) makes a
 * missing or still running earlier run an error; otherwise (the same workflow id started again)
 * there is simply nothing to reuse.
 */
export function createResumeActivities(deps: { artifacts: ArtifactStore }) {
  const clientOf = (): Client => Context.current().client;

  return {
    async writeStageManifest(input: { runId: string; stages: StageRecord[] }): Promise<string> {
      return (await deps.artifacts.put(JSON.stringify(input, null, 2), 'application/json')).id;
    },

    async findPreviousRun(input: {
      workflowId: string;
      currentRunId: string;
      required: boolean;
    }): Promise<PreviousRun | undefined> {
      const client = clientOf();
      const [found] = await earlierRuns(client, input.workflowId, input.currentRunId);
      if (!found) {
        if (!input.required) return undefined;
        throw ApplicationFailure.create({
          type: ErrorTypes.InvalidInput,
          message: `resumeFrom: no run with workflow id "${input.workflowId}" is known to this namespace`,
          nonRetryable: true,
        });
      }
      // The run itself, not its visibility record, has the latest memo.
      const latest = await client.workflow.getHandle(input.workflowId, found.runId).describe();
      if (latest.status.name === 'RUNNING') {
        throw ApplicationFailure.create({
          type: ErrorTypes.InvalidInput,
          message: `resumeFrom: "${input.workflowId}" is still running (run ${latest.runId}); cancel or wait for it first, two runs would make the same samples`,
          nonRetryable: true,
        });
      }
      const manifest = latest.memo?.[STAGE_MANIFEST_MEMO];
      let stages: StageRecord[] = [];
      if (typeof manifest === 'string') {
        const parsed = JSON.parse((await deps.artifacts.get(manifest)).toString('utf8')) as {
          stages: StageRecord[];
        };
        stages = parsed.stages;
      }
      return { workflowId: input.workflowId, runId: latest.runId, status: latest.status.name, stages };
    },

    /**
     * The samples an earlier svgRun finished among indexes [from, to): each sample is the child
     * workflow `<workflowId>-s<index>`, and a completed one's summary is its result.
     */
    async finishedSamples(input: {
      workflowId: string;
      from: number;
      to: number;
    }): Promise<SvgSampleSummary[]> {
      const client = clientOf();
      const found: SvgSampleSummary[] = [];
      for (let index = input.from; index < input.to; index++) {
        const handle = client.workflow.getHandle(`${input.workflowId}-s${index}`);
        try {
          const description = await handle.describe();
          if (description.status.name === 'COMPLETED')
            found.push((await handle.result()) as SvgSampleSummary);
        } catch (error) {
          if ((error as Error).name !== 'WorkflowNotFoundError') throw error;
        }
        Context.current().heartbeat(index);
      }
      return found;
    },
  };
}

export type ResumeActivities = ReturnType<typeof createResumeActivities>;
