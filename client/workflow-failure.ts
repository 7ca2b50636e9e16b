import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TemporalFailure } from '@temporalio/common';
import { failureCause, type FailureCause } from '../core/failure-cause';

/** A workflow the CLI waited for failed: its message is the reason, not Temporal's wrapper. */
export class WorkflowRunFailed extends Error {
  constructor(
    readonly workflowId: string,
    readonly reason: FailureCause,
    cause: WorkflowFailedError,
  ) {
    super(reason.text, { cause });
    this.name = 'WorkflowRunFailed';
  }
}

/** Waits for a workflow's result; a failure becomes a WorkflowRunFailed that says why. */
export async function workflowResult<R>(handle: WorkflowHandle): Promise<R> {
  try {
    return (await handle.result()) as R;
  } catch (error) {
    if (error instanceof WorkflowFailedError)
      throw new WorkflowRunFailed(handle.workflowId, failureCause(error), error);
    throw error;
  }
}

/** What the CLI prints for an error that ends a command. */
export function errorLines(error: unknown): string[] {
  if (error instanceof WorkflowRunFailed) {
    const via = error.reason.via.length ? ` via ${error.reason.via.join(' → ')}` : '';
    return [`error: ${error.message}`, `  workflow ${error.workflowId}${via}`];
  }
  if (error instanceof WorkflowFailedError) {
    const reason = failureCause(error);
    return [`error: ${reason.text}`, ...(reason.via.length ? [`  via ${reason.via.join(' → ')}`] : [])];
  }
  if (!(error instanceof Error)) return [`error: ${String(error)}`];
  // Temporal wraps the useful part (a validator's or an update's message) in `cause`.
  const cause = error.cause;
  if (cause instanceof TemporalFailure) return [`error: ${error.message}: ${failureCause(cause).text}`];
  if (cause instanceof Error && cause.message) return [`error: ${error.message}: ${cause.message}`];
  return [`error: ${error.message}`];
}
