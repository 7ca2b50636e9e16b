import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { activityContext } from '../common/activity-context';
import { readSandboxFile, writeSandboxFile } from './files';
import { harnessDir } from './sandbox-policy-of';

/**
 * A container belongs to one workflow execution: the run whose activity made it, then each run
 * that continued as new from the one that used it last. A reset of the workflow (a new run id)
 * and a rerun of its id are other executions: they must not meet the files and tool results an
 * earlier run left (docs/operations.md, "Resets and reruns").
 */

/** The label naming the workflow run whose activity created the container. */
export const EXECUTION_LABEL = 'sera.execution';

export interface Execution {
  workflowId: string;
  runId: string;
}

/** The workflow run of the calling activity; undefined outside Temporal (the benchmark's plain loop). */
export function callerExecution(): Execution | undefined {
  return activityContext()?.info.workflowExecution;
}

/** The record, in the harness's folder, of the workflow run that used the container last. */
export const executionFile = (dir: string): string => `${dir}/execution`;

export type Ownership = 'own' | 'continued' | 'unrecorded' | 'stale';

/**
 * May run `runId` use a container whose record names `recorded`? Its own, or the one of the run it
 * continued as new from (the container passes on with the carried state): yes. No record (a
 * container made before records): yes, and it is recorded. Any other run: no.
 */
export function ownership(
  recorded: string | undefined,
  runId: string,
  continuedFrom: string | undefined,
): Ownership {
  if (!recorded) return 'unrecorded';
  if (recorded === runId) return 'own';
  if (continuedFrom !== undefined && recorded === continuedFrom) return 'continued';
  return 'stale';
}

/** The run an execution continued as new from; undefined for the first run of a chain. */
export type ContinuedFrom = (execution: Execution) => Promise<string | undefined>;

/** Reads it from the run's first history event, as the Temporal server has it. */
export function continuedFromOn(client: Client): ContinuedFrom {
  return async ({ workflowId, runId }) => {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 1,
    });
    const started = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    return started?.continuedExecutionRunId || undefined;
  };
}

/** Containers this process has seen a run own: a run keeps its container until it ends. */
const verified = new Map<string, string>();

/**
 * Makes sure `execution` may use the container before a tool call runs in it, and records it as
 * the container's user. A container left by another execution fails with ContainerGone, which the
 * rollout answers by making a fresh container at its own last recorded diff. The server is asked
 * (one call) only when the record names another run: once per continue-as-new.
 */
export async function claimContainer(
  docker: Docker,
  container: string,
  execution: Execution,
  continuedFrom: ContinuedFrom | undefined,
): Promise<void> {
  if (verified.get(container) === execution.runId) return;
  const file = executionFile(await harnessDir(docker, container));
  const recorded = (await readSandboxFile(docker, container, file))?.trim();
  const previous =
    recorded && recorded !== execution.runId && continuedFrom ? await continuedFrom(execution) : undefined;
  const verdict = ownership(recorded, execution.runId, previous);
  if (verdict === 'stale')
    throw ApplicationFailure.create({
      type: ErrorTypes.ContainerGone,
      message:
        `container ${container} was last used by workflow run ${recorded}, not by this run ` +
        `(${execution.runId}) or the run it continued from: a reset or a rerun left it behind; ` +
        'it is replaced by a fresh one',
      nonRetryable: true,
    });
  if (verdict !== 'own') await writeSandboxFile(docker, container, file, execution.runId, 'private');
  if (verified.size > 10_000) verified.clear();
  verified.set(container, execution.runId);
}
