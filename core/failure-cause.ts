import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TemporalFailure,
} from '@temporalio/common';

/** Why a workflow failed, said as a person needs it: the reason, and where it came from. */
export interface FailureCause {
  /** The innermost ApplicationFailure's type (`RepositoryNotFound`), or the failure's own name. */
  type: string;
  /** That failure's own message. */
  message: string;
  /** One line: "Type: message", with the context of any failure that wraps it and quotes it. */
  text: string;
  /** Where it came from, outermost first: "child workflow prepareEnvironment (sera-run-x-env)", "activity buildRepoImage". */
  via: string[];
  /** Whether retrying cannot help, as the innermost ApplicationFailure said. */
  nonRetryable: boolean;
}

function origin(error: Error): string | undefined {
  if (error instanceof ChildWorkflowFailure)
    return `child workflow ${error.workflowType} (${error.execution.workflowId ?? '?'})`;
  if (error instanceof ActivityFailure) return `activity ${error.activityType}`;
  return undefined;
}

/**
 * Walks a failure's `cause` chain (a client's WorkflowFailedError, a child's or an activity's
 * failure in workflow code) down to the innermost ApplicationFailure; with none, to the innermost
 * failure (a timeout, a cancellation, a termination).
 */
export function failureCause(error: unknown): FailureCause {
  const via: string[] = [];
  const applications: ApplicationFailure[] = [];
  let innermost: Error | undefined;
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const from = origin(cause);
    if (from) via.push(from);
    if (cause instanceof ApplicationFailure) applications.push(cause);
    innermost = cause;
  }
  const reason = applications.at(-1);
  if (!reason) {
    const name = innermost?.name ?? 'Error';
    const message = innermost?.message ?? String(error);
    return { type: name, message, text: `${name}: ${message}`, via, nonRetryable: false };
  }
  const type = reason.type ?? 'Error';
  let text = `${type}: ${reason.message}`;
  // An outer failure that quotes the one it wraps ("stage environment failed: RepositoryNotFound: …")
  // adds its context; one that does not is said before it.
  for (const outer of applications.slice(0, -1).reverse())
    text = outer.message.endsWith(text)
      ? outer.message
      : `${outer.type ?? 'Error'}: ${outer.message}: ${text}`;
  return { type, message: reason.message, text, via, nonRetryable: reason.nonRetryable === true };
}

/** True for a cancellation (of this workflow, a child or an activity), which must stay one. */
export function isCancelled(error: unknown): boolean {
  return (
    error instanceof CancelledFailure ||
    ((error instanceof ActivityFailure || error instanceof ChildWorkflowFailure) &&
      error.cause instanceof CancelledFailure)
  );
}

/**
 * The failure of a lifecycle stage whose work threw `error`: "stage <name> failed: <type>:
 * <message>", keeping the innermost type (still searchable) and the original failure as cause.
 * A cancellation and an error that is no Temporal failure (a bug in workflow code, which fails
 * the workflow task and is retried after a fix) are returned as they are.
 */
export function stageFailure(stage: string, error: unknown): unknown {
  if (!(error instanceof TemporalFailure) || isCancelled(error)) return error;
  const cause = failureCause(error);
  return ApplicationFailure.create({
    type: cause.type,
    message: `stage ${stage} failed: ${cause.text}`,
    nonRetryable: cause.nonRetryable,
    cause: error,
  });
}
