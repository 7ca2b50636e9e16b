import { WorkflowFailedError, type Client } from '@temporalio/client';
import {
  parsePrepareEnvironmentInput,
  type PrepareEnvironmentInput,
  type PrepareEnvironmentRequest,
} from '../core/environment-input';
import { failureCause } from '../core/failure-cause';
import { TaskQueues } from '../core/queues';
import { workflowUiUrl, type TemporalSettings } from '../infra/temporal-connection';
import type { EnvironmentProgress, PrepareEnvironmentResult } from '../workflows/prepare-environment';

export interface EnvironmentOutcome {
  workflowId: string;
  uiUrl: string;
  result?: PrepareEnvironmentResult;
  /** Set when the workflow failed: the innermost cause's type and message, and the line that says both. */
  failure?: { type: string; message: string; text: string };
}

export function environmentWorkflowId(runId: string): string {
  return `sera-env-${runId}`;
}

/** Validates before starting: a malformed request never becomes a workflow. */
export function validateEnvironmentRequest(request: PrepareEnvironmentRequest): PrepareEnvironmentInput {
  const parsed = parsePrepareEnvironmentInput(request);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

/**
 * Starts prepareEnvironment, shows its stage as it moves (polling the workflow's progress
 * query) and waits for the end. Workers must be running somewhere.
 */
export async function runEnvironment(
  client: Client,
  settings: TemporalSettings,
  request: PrepareEnvironmentRequest,
  report: (line: string) => void = (line) => console.error(line),
): Promise<EnvironmentOutcome> {
  const input = validateEnvironmentRequest(request);
  const workflowId = environmentWorkflowId(input.runId);
  const handle = await client.workflow.start('prepareEnvironment', {
    taskQueue: TaskQueues.orchestration,
    workflowId,
    args: [input],
  });
  const uiUrl = workflowUiUrl(settings, workflowId, handle.firstExecutionRunId);
  report(`started ${workflowId}: ${uiUrl}`);

  const started = Date.now();
  let lastStage = '';
  let finished = false;
  const poll = setInterval(() => {
    handle
      .query<EnvironmentProgress>('progress')
      .then((progress) => {
        if (finished || progress.stage === lastStage) return;
        lastStage = progress.stage;
        const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(3);
        report(`[${seconds} s] ${progress.stage}${progress.container ? ` (${progress.container})` : ''}`);
      })
      .catch(() => undefined); // The query fails until a worker has run the first task: keep polling.
  }, 500);
  try {
    const result = await handle.result();
    return { workflowId, uiUrl, result };
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      const { type, message, text } = failureCause(error);
      return { workflowId, uiUrl, failure: { type, message, text } };
    }
    throw error;
  } finally {
    finished = true;
    clearInterval(poll);
  }
}

/** The lines a person reads at the end of a run. */
export function describeOutcome(outcome: EnvironmentOutcome): string[] {
  const lines: string[] = [];
  if (outcome.result) {
    const r = outcome.result;
    lines.push(
      `tests ${r.passed ? 'passed' : 'failed'}: ${r.summary?.line ?? `exit code ${r.exitCode}`}`,
      `  repository ${r.repository} at ${r.commit.slice(0, 12)}, image ${r.image}, host ${r.sandboxHost}`,
      `  output: artifact ${r.output.id} (${r.output.size} bytes${r.truncated ? ', truncated' : ''})`,
    );
  } else if (outcome.failure) {
    lines.push(`failed: ${outcome.failure.text}`);
  }
  lines.push(`workflow: ${outcome.uiUrl}`);
  return lines;
}
