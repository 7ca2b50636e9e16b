import { CancellationScope, getExternalWorkflowHandle, patched } from '@temporalio/workflow';

/**
 * Workflow patch (docs/operations.md): a parent's cancel also goes to a long child's workflow id.
 * Temporal delivers a parent's cancel to the child run the parent started; a child that has
 * continued as new (svgRun every segment, evaluateModel every 400 solving runs) is another run by
 * then, and the cancel reached nothing: the child ran on and the parent waited for it.
 */
export const CANCEL_FOLLOWS_CONTINUE = 'cancel-follows-continue';

/**
 * Runs `work` (which runs the child `childWorkflowId`); if this workflow is cancelled meanwhile,
 * the cancel is sent to the child's current run as well, by workflow id.
 */
export async function cancelFollowsContinue<T>(childWorkflowId: string, work: () => Promise<T>): Promise<T> {
  if (!patched(CANCEL_FOLLOWS_CONTINUE)) return work();
  let running = true;
  CancellationScope.current().cancelRequested.catch(() => {
    if (!running) return;
    // A child already cancelled, or closed, answers with an error: nothing is left to cancel.
    void CancellationScope.nonCancellable(() => getExternalWorkflowHandle(childWorkflowId).cancel()).catch(
      () => undefined,
    );
  });
  try {
    return await work();
  } finally {
    running = false;
  }
}
