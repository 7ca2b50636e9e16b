import { ApplicationFailure } from '@temporalio/common';

/** The innermost ApplicationFailure under Temporal's wrappers (workflow, child, activity failures). */
export function rootApplicationFailure(error: unknown): ApplicationFailure | undefined {
  let cause: unknown = error;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure) return cause;
    cause = cause.cause;
  }
  return undefined;
}
