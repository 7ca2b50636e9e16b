import type { TrajectoryStep } from './side-prompts';
import type { Trajectory } from './trajectory';

/**
 * A trajectory as (action, observation, response) steps, the form the judge and the PR writer
 * read: one step per tool call, with what the call returned and the answer of the turn that made
 * it. The answer leaves out the model's reasoning. The task message is not a step: the judge gets
 * it apart (taskPromptOf), the PR writer not at all.
 */
export function trajectorySteps(trajectory: Trajectory): TrajectoryStep[] {
  const observations = new Map<string, string>();
  for (const m of trajectory.messages) if (m.role === 'tool') observations.set(m.tool_call_id, m.content);
  const steps: TrajectoryStep[] = [];
  for (const m of trajectory.messages) {
    if (m.role !== 'assistant') continue;
    for (const call of m.tool_calls ?? []) {
      let args: unknown = call.function.arguments;
      try {
        args = JSON.parse(call.function.arguments);
      } catch {
        // Kept as the raw text the model sent.
      }
      steps.push({
        action: JSON.stringify({ name: call.function.name, arguments: args }),
        observation: observations.get(call.id) ?? '',
        response: m.content ?? '',
      });
    }
  }
  return steps;
}

/** The task message the rollout began with (its first user message). */
export function taskPromptOf(trajectory: Trajectory): string {
  return trajectory.messages.find((m) => m.role === 'user')?.content ?? '';
}

/** How many of `total` steps to drop from the front after `shortenings` quarter-cuts; one step always stays. */
export function stepsDropped(total: number, shortenings: number): number {
  return Math.max(0, Math.min(total - 1, shortenings * Math.floor(total / 4)));
}
