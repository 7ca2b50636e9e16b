import type { TrajectoryStep } from './side-prompts';
import type { Trajectory } from './trajectory';

/**
 * A trajectory as (action, observation, response) steps, the form the PR writer reads. The task
 * message is the first step's observation: it is what the agent saw first.
 */
export function trajectorySteps(trajectory: Trajectory): TrajectoryStep[] {
  const observations = new Map<string, string>();
  for (const m of trajectory.messages) if (m.role === 'tool') observations.set(m.tool_call_id, m.content);
  const task = trajectory.messages.find((m) => m.role === 'user');
  const steps: TrajectoryStep[] = [{ action: '', observation: task?.content ?? '', response: '' }];
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
