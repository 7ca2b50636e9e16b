/** The workflow a run id names: what `run` starts and every command that finds a run asks for. */
export function runWorkflowId(runId: string): string {
  return `sera-run-${runId}`;
}
