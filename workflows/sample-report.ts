import { defineSignal, getExternalWorkflowHandle, log, workflowInfo } from '@temporalio/workflow';
import type { SvgSampleSummary } from './svg-sample';

/**
 * How a sample tells its run it finished: by signal to the run's workflow id, which reaches the
 * run's current execution after any number of continue-as-new. A run can then continue while its
 * samples are still running (they are abandoned, not closed, with the segment that started them)
 * and count them when they end.
 */
export type SampleReport = {
  index: number;
  /** The sample child's first run id: a report of an earlier child of the same index is ignored. */
  runId: string;
} & ({ summary: SvgSampleSummary } | { failure: { type?: string; message: string } });

export const sampleFinishedSignal = defineSignal<[SampleReport]>('sampleFinished');

/** Sends the report to the parent run, if there is one. A run that already closed is not an error. */
export async function reportToRun(report: SampleReport): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  try {
    await getExternalWorkflowHandle(parent.workflowId).signal(sampleFinishedSignal, report);
  } catch (error) {
    log.warn('the run did not take the sample report', { index: report.index, error: String(error) });
  }
}
