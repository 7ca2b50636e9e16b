import OpenAI from 'openai';
import { activityContext, heartbeat } from '../common/activity-context';

/**
 * Requests whose reply never came back, carried from one attempt of a model call to the next in
 * the activity's heartbeat details (Temporal hands an attempt's last details to the next one,
 * whether it failed, timed out or its worker died). The server may have generated and billed the
 * reply all the same, so the attempt that finally answers charges them: a cost cap cannot be
 * passed by retries it never saw.
 */
export interface LostRequestDetails {
  /** Requests of earlier attempts known lost. */
  lost: number;
  /** Their token limits, summed: what each may have generated. */
  lostCompletionTokens: number;
  /** The token limit of a request sent and not yet answered. */
  inFlightMaxTokens?: number;
}

function earlierDetails(): LostRequestDetails {
  const details = activityContext()?.info.heartbeatDetails as Partial<LostRequestDetails> | undefined;
  const lost = typeof details?.lost === 'number' ? details.lost : 0;
  const completion = typeof details?.lostCompletionTokens === 'number' ? details.lostCompletionTokens : 0;
  const inFlight = typeof details?.inFlightMaxTokens === 'number' ? details.inFlightMaxTokens : undefined;
  // A request still in flight when the last attempt ended never answered it.
  return inFlight === undefined
    ? { lost, lostCompletionTokens: completion }
    : { lost: lost + 1, lostCompletionTokens: completion + inFlight };
}

/** Records, before a request goes out, that it is in flight (its limit is what it may cost). */
export function requestSent(maxTokens: number): LostRequestDetails {
  const details = { ...earlierDetails(), inFlightMaxTokens: maxTokens };
  heartbeat(details);
  return details;
}

/** Network errors raised before a request reaches the server: nothing was generated. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The first `code` along an error's causes (fetch puts the socket's under `cause`). */
function networkCode(error: unknown): string | undefined {
  for (let at = error, depth = 0; at instanceof Error && depth < 5; at = at.cause, depth += 1) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** True when a failed request certainly produced no tokens to bill. */
export function billedNothing(error: unknown): boolean {
  if (error instanceof OpenAI.APIConnectionTimeoutError) return false;
  // An HTTP status: the server answered with an error instead of a reply.
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') return true;
  const code = networkCode(error);
  return code !== undefined && NEVER_SENT.has(code);
}

/**
 * Records that the request was answered: a reply, or an error that shows nothing was generated.
 * A timeout or a connection dropped after the request went out leaves it in flight, so the next
 * attempt charges it.
 */
export function requestAnswered(sent: LostRequestDetails, error?: unknown): void {
  if (error !== undefined && !billedNothing(error)) return;
  const { inFlightMaxTokens: _answered, ...rest } = sent;
  heartbeat(rest);
}

/** The lost requests' count and tokens: each is charged its prompt (the same request) and its limit. */
export function chargeLostRequests(
  sent: LostRequestDetails,
  promptTokens: () => number,
): { lost: number; usage: { promptTokens: number; completionTokens: number } } {
  if (sent.lost === 0) return { lost: 0, usage: { promptTokens: 0, completionTokens: 0 } };
  return {
    lost: sent.lost,
    usage: { promptTokens: sent.lost * promptTokens(), completionTokens: sent.lostCompletionTokens },
  };
}
