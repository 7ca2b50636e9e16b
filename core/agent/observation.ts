/** Tool results go back to the model as observations. */
export const OBSERVATION_PREFIX = 'OBSERVATION:';

export function observation(body: string): string {
  return `${OBSERVATION_PREFIX}\n${body}`;
}

export function bashObservation(output: string, exitCode: number): string {
  const text = output.length > 0 ? output : '(no output)';
  return observation(exitCode === 0 ? text : `${text}\n(exit code ${exitCode})`);
}

export function formatProblemObservation(problem: string): string {
  return observation(
    `Your tool call could not be run: ${problem}. Call one of the tools with valid arguments.`,
  );
}

export const NO_TOOL_CALL_PROBLEM = 'the reply had no tool call';
