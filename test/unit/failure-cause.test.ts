import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  DefaultFailureConverter,
  RetryState,
  TimeoutFailure,
  TimeoutType,
  defaultPayloadConverter,
} from '@temporalio/common';
import { failureCause, isCancelled, stageFailure } from '../../core/failure-cause';
import { errorLines, WorkflowRunFailed } from '../../client/workflow-failure';

const missing = 'repository path /x does not exist on sandbox host h';

function activityFailure(cause: Error): ActivityFailure {
  return new ActivityFailure(
    'Activity task failed',
    'buildRepoImage',
    '3',
    RetryState.NON_RETRYABLE_FAILURE,
    'worker@h',
    cause,
  );
}

function childFailure(cause: Error): ChildWorkflowFailure {
  return new ChildWorkflowFailure(
    'default',
    { workflowId: 'sera-run-r-env', runId: 'abc' },
    'prepareEnvironment',
    RetryState.NON_RETRYABLE_FAILURE,
    cause,
  );
}

const notFound = (): ApplicationFailure =>
  ApplicationFailure.create({ type: 'RepositoryNotFound', message: missing, nonRetryable: true });

/** What a client sees: the failure sent over the wire (the SDK's own converter) and wrapped as the client wraps it. */
function asClientSees(error: Error): WorkflowFailedError {
  const converter = new DefaultFailureConverter();
  const proto = converter.errorToFailure(error, defaultPayloadConverter);
  const received = converter.failureToError(proto, defaultPayloadConverter);
  return new WorkflowFailedError('Workflow execution failed', received, RetryState.NON_RETRYABLE_FAILURE);
}

describe('failureCause', () => {
  it('finds the activity’s ApplicationFailure under a child and an activity failure, and says where it came from', () => {
    const cause = failureCause(asClientSees(childFailure(activityFailure(notFound()))));
    expect(cause).toEqual({
      type: 'RepositoryNotFound',
      message: missing,
      text: `RepositoryNotFound: ${missing}`,
      via: ['child workflow prepareEnvironment (sera-run-r-env)', 'activity buildRepoImage'],
      nonRetryable: true,
    });
  });

  it('says an outer failure that does not quote its cause before it', () => {
    const inner = ApplicationFailure.create({ type: 'TypeError', message: 'fetch failed' });
    const outer = ApplicationFailure.create({
      type: 'ModelUnavailable',
      message: 'the endpoint did not answer',
      cause: inner,
    });
    const cause = failureCause(asClientSees(activityFailure(outer)));
    expect(cause.type).toBe('TypeError');
    expect(cause.text).toBe('ModelUnavailable: the endpoint did not answer: TypeError: fetch failed');
  });

  it('with no ApplicationFailure, names the innermost failure (a timeout)', () => {
    const timeout = new TimeoutFailure(
      'activity StartToClose timeout',
      undefined,
      TimeoutType.START_TO_CLOSE,
    );
    const cause = failureCause(asClientSees(activityFailure(timeout)));
    expect(cause.type).toBe('TimeoutFailure');
    expect(cause.text).toBe('TimeoutFailure: activity StartToClose timeout');
    expect(cause.via).toEqual(['activity buildRepoImage']);
    expect(cause.nonRetryable).toBe(false);
  });

  it('takes a plain error as it is', () => {
    expect(failureCause(new Error('boom')).text).toBe('Error: boom');
  });
});

describe('stageFailure', () => {
  it('names the stage and the reason, keeps the type, the retryability and the original failure', () => {
    const original = childFailure(activityFailure(notFound()));
    const failure = stageFailure('environment', original);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    const app = failure as ApplicationFailure;
    expect(app.message).toBe(`stage environment failed: RepositoryNotFound: ${missing}`);
    expect(app.type).toBe('RepositoryNotFound');
    expect(app.nonRetryable).toBe(true);
    expect(app.cause).toBe(original);
  });

  it('reads back on the client as the stage line, with the chain below it', () => {
    const cause = failureCause(
      asClientSees(stageFailure('environment', childFailure(activityFailure(notFound()))) as Error),
    );
    expect(cause.text).toBe(`stage environment failed: RepositoryNotFound: ${missing}`);
    expect(cause.type).toBe('RepositoryNotFound');
    expect(cause.via).toEqual([
      'child workflow prepareEnvironment (sera-run-r-env)',
      'activity buildRepoImage',
    ]);
  });

  it('leaves a cancellation a cancellation, and an error of workflow code as it is', () => {
    const cancelled = childFailure(new CancelledFailure('Child Workflow execution cancelled'));
    expect(isCancelled(cancelled)).toBe(true);
    expect(stageFailure('generation', cancelled)).toBe(cancelled);
    const bug = new TypeError('x is undefined');
    expect(stageFailure('generation', bug)).toBe(bug);
  });
});

describe('errorLines', () => {
  it('prints the reason and the workflow to look up, not the wrapper', () => {
    const failed = asClientSees(
      stageFailure('environment', childFailure(activityFailure(notFound()))) as Error,
    );
    const lines = errorLines(new WorkflowRunFailed('sera-run-r', failureCause(failed), failed));
    expect(lines).toEqual([
      `error: stage environment failed: RepositoryNotFound: ${missing}`,
      '  workflow sera-run-r via child workflow prepareEnvironment (sera-run-r-env) → activity buildRepoImage',
    ]);
    expect(lines.join('\n')).not.toContain('Child Workflow execution failed');
  });

  it('says the reason of a failed workflow awaited without the helper too', () => {
    const failed = asClientSees(childFailure(activityFailure(notFound())));
    expect(errorLines(failed)).toEqual([
      `error: RepositoryNotFound: ${missing}`,
      '  via child workflow prepareEnvironment (sera-run-r-env) → activity buildRepoImage',
    ]);
  });

  it('adds a Temporal cause to a plain error’s message', () => {
    const rejected = new Error('Workflow Update failed', { cause: notFound() });
    expect(errorLines(rejected)).toEqual([`error: Workflow Update failed: RepositoryNotFound: ${missing}`]);
  });
});
