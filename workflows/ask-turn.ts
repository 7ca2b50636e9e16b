import type { AgentTurnInput, AgentTurnResult } from '../activities/llm/activities';
import { agentTurnSummary } from '../core/activity-summary';
import { firstAttempt, nextAttempt, unusableDetail, type ReplyPolicy } from '../core/agent/reply-attempts';
import type { ReplyProblem } from '../core/agent/trajectory';
import { callWithSummary } from './with-summary';

type AgentTurn = Parameters<typeof callWithSummary<[AgentTurnInput], AgentTurnResult>>[0];

/**
 * One turn of a rollout under the reply policy, one model request per activity: a reply that went
 * wrong comes back `rejected`, and the workflow asks again (new seed, limit raised once) until a
 * reply is usable or the retries are spent. Each request is an event of its own in the history,
 * and its tokens reach `onAttempt` as it ends, so the caller counts them before the next one.
 *
 * Returns the usable reply; or, retries spent, the last attempt with `unusable`; or, when
 * `onAttempt` says stop (the cost cap), the last attempt still `rejected`. `retried` is the
 * turn's tally.
 */
export async function askTurn(
  agentTurn: AgentTurn,
  input: AgentTurnInput & { replyPolicy: ReplyPolicy },
  onAttempt: (attempt: AgentTurnResult) => 'go-on' | 'stop',
): Promise<AgentTurnResult> {
  const retried: Partial<Record<ReplyProblem, number>> = {};
  let attempt = firstAttempt(input.model);
  let request: AgentTurnInput = input;
  for (;;) {
    const summary = agentTurnSummary(input.turn, attempt.index);
    const result = await callWithSummary(agentTurn, summary, {
      ...request,
      attempt,
      retried: { ...retried },
    });
    const tally = Object.keys(retried).length > 0 ? { retried: { ...retried } } : {};
    if (onAttempt(result) === 'stop' || !result.rejected) return { ...result, ...tally };
    const { problem } = result.rejected;
    const next = nextAttempt(input.replyPolicy, input.model, result.rejected.attempt, problem);
    if (next === undefined)
      return {
        ...result,
        ...tally,
        unusable: { problem, detail: unusableDetail(problem, input.replyPolicy.retries) },
      };
    retried[problem] = (retried[problem] ?? 0) + 1;
    attempt = next;
    // The first attempt appended the observations and saved the trajectory; the next continues it.
    request = { ...input, trajectory: result.trajectory, start: undefined, observations: [] };
  }
}
