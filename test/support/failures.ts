import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { expect } from 'vitest';

/** The innermost failure with a type under a failed workflow: the activity's or workflow's own error. */
export function applicationCause(error: unknown): ApplicationFailure {
  expect(error).toBeInstanceOf(WorkflowFailedError);
  let cause = (error as WorkflowFailedError).cause as Error | undefined;
  while (cause && cause.cause && !('type' in cause && cause.type)) cause = cause.cause as Error;
  return cause as ApplicationFailure;
}
