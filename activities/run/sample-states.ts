import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { failureCause } from '../../core/failure-cause';
import type { SampleReport } from '../../workflows/sample-report';
import type { SvgSampleSummary } from '../../workflows/svg-sample';

export interface CarriedSample {
  index: number;
  workflowId: string;
  /** The child's first run id: the one the run started. */
  runId: string;
}

/**
 * The run's safety net for samples carried across continue-as-new: a sample reports its end by
 * signal, but one that was terminated, timed out or began before reports never will. This reads
 * which of them the server has closed, and how, so the run can count them.
 */
export function createSampleStateActivities() {
  return {
    async endedSamples(input: { samples: CarriedSample[] }): Promise<SampleReport[]> {
      const client = Context.current().client;
      const ended: SampleReport[] = [];
      for (const sample of input.samples) {
        Context.current().heartbeat(sample.index);
        const handle = client.workflow.getHandle(sample.workflowId, sample.runId);
        try {
          const { status } = await handle.describe();
          if (status.name === 'RUNNING') continue;
          const summary = (await handle.result()) as SvgSampleSummary;
          ended.push({ index: sample.index, runId: sample.runId, summary });
        } catch (error) {
          // Gone from the server (past retention): it ended long ago and nothing tells how.
          const gone = error instanceof WorkflowNotFoundError;
          if (!gone && !(error instanceof WorkflowFailedError)) throw error;
          const cause = gone
            ? { type: 'SampleGone', message: 'the server no longer knows it' }
            : failureCause(error);
          ended.push({
            index: sample.index,
            runId: sample.runId,
            failure: { type: cause.type, message: cause.message },
          });
        }
      }
      return ended;
    },
  };
}

export type SampleStateActivities = ReturnType<typeof createSampleStateActivities>;
