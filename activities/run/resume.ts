import { Context } from '@temporalio/activity';
import {
  ApplicationFailure,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import type { ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { STAGE_MANIFEST_MEMO, type StageRecord } from '../../core/lifecycle-stages';
import type { SvgSampleSummary } from '../../workflows/svg-sample';
import { readFinishedSample, writeFinishedSample } from './finished-samples';
import { manifestRecordName, readManifestRecord, writeManifestRecord } from './stage-manifest-record';

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
 * The run as the server itself has it (the latest run of `workflowId` when `runId` is left out),
 * or undefined when the namespace no longer holds it: the visibility list lags a run that just
 * started, a run the list misses may still be running, and a deleted run may still be listed.
 */
async function describeIfKnown(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId, runId).describe();
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') return undefined;
    throw error;
  }
}

/** A sample workflow's summary if it completed and the namespace still has it. */
async function completedChild(client: Client, workflowId: string): Promise<SvgSampleSummary | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    if (description.status.name !== 'COMPLETED') return undefined;
    return (await handle.result()) as SvgSampleSummary;
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') return undefined;
    throw error;
  }
}

/**
 * What an earlier run of a specialization finished, read from its stage manifest: the latest run
 * of `workflowId` other than the caller's own. Temporal's memo names the manifest while the
 * namespace has the run; after that (retention, `temporal workflow delete`) the manifest's named
 * record in the store (stage-manifest-record.ts) stands in. `required` (an explicit `resumeFrom`)
 * makes a missing or still running earlier run an error; otherwise (the same workflow id started
 * again) there is simply nothing to reuse.
 */
export function createResumeActivities(deps: { artifacts: ArtifactStore }) {
  const clientOf = (): Client => Context.current().client;

  return {
    /** Stores the manifest (its id goes in the memo) and replaces the run's named record of it. */
    async writeStageManifest(input: { runId: string; stages: StageRecord[] }): Promise<string> {
      const id = (await deps.artifacts.put(JSON.stringify(input, null, 2), 'application/json')).id;
      const run = Context.current().info.workflowExecution;
      if (run)
        await writeManifestRecord(deps.artifacts, {
          workflowId: run.workflowId,
          runId: run.runId,
          manifest: id,
          stages: input.stages,
        });
      return id;
    },

    async findPreviousRun(input: {
      workflowId: string;
      currentRunId: string;
      required: boolean;
    }): Promise<PreviousRun | undefined> {
      const client = clientOf();
      const [listed] = await earlierRuns(client, input.workflowId, input.currentRunId);
      // The run itself, not its visibility record, has the latest memo.
      const described = await describeIfKnown(client, input.workflowId, listed?.runId);
      const latest = described?.runId === input.currentRunId ? undefined : described;
      if (!latest) {
        // Temporal has forgotten every earlier run (or there never was one): the store may not have.
        const recorded = await readManifestRecord(deps.artifacts, input.workflowId);
        if (recorded && recorded.runId !== input.currentRunId) {
          return {
            workflowId: input.workflowId,
            runId: recorded.runId,
            // Temporal no longer has the run, so it is not running: it either completed or
            // stopped before its report (failed, cancelled, terminated), its finished stages kept.
            status: `${recorded.status === 'COMPLETED' ? 'COMPLETED' : 'NOT COMPLETED'} (history gone)`,
            stages: recorded.stages,
          };
        }
        if (!input.required) return undefined;
        throw ApplicationFailure.create({
          type: ErrorTypes.InvalidInput,
          message: `resumeFrom: no run with workflow id "${input.workflowId}" is known to this namespace, and the artifact store has no stage manifest of it (${manifestRecordName(input.workflowId)})`,
          nonRetryable: true,
        });
      }
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

    /** Keeps a finished sample's summary in the store, where a resume finds it (finished-samples.ts). */
    async recordFinishedSample(input: { runWorkflowId: string; summary: SvgSampleSummary }): Promise<void> {
      await writeFinishedSample(deps.artifacts, input.runWorkflowId, input.summary);
    },

    /**
     * The samples an earlier svgRun finished among indexes [from, to). Each finished sample's
     * summary is in the store (recordFinishedSample), whatever Temporal still remembers; a sample
     * finished before the store kept them is read from its child workflow `<workflowId>-s<index>`,
     * whose result is the summary, while the namespace still holds it. What is found is also
     * recorded as the calling run's own, so a resume of that run reuses it again.
     */
    async finishedSamples(input: {
      workflowId: string;
      from: number;
      to: number;
    }): Promise<SvgSampleSummary[]> {
      const caller = Context.current().info.workflowExecution?.workflowId;
      const found: SvgSampleSummary[] = [];
      for (let index = input.from; index < input.to; index++) {
        const summary =
          (await readFinishedSample(deps.artifacts, input.workflowId, index)) ??
          (await completedChild(clientOf(), `${input.workflowId}-s${index}`));
        if (summary) {
          found.push(summary);
          if (caller !== undefined && caller !== input.workflowId)
            await writeFinishedSample(deps.artifacts, caller, summary);
        }
        Context.current().heartbeat(index);
      }
      return found;
    },
  };
}

export type ResumeActivities = ReturnType<typeof createResumeActivities>;
