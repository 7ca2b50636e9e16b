import type { FunctionTool } from '../agent/tools';
import { chatmlMessage, toSftConversation, type InferenceMessage, type SftMessage } from './hermes-format';

export type TruncationResult =
  | {
      kind: 'kept';
      messages: SftMessage[];
      /** How many source messages the kept SFT messages cover. */
      sourceMessages: number;
      tokens: number;
      keptMessages: number;
      originalMessages: number;
      /** kept messages / original messages (SFT messages: a run of tool results is one user turn). */
      ratio: number;
      /** Tokens of the whole conversation before any cut. */
      fullTokens: number;
    }
  | { kind: 'rejected'; reason: 'first_turn_too_long' | 'no_assistant_turn'; fullTokens: number };

/**
 * SERA's truncation: a conversation that fits the context is kept whole; one that does not is cut
 * after the last complete assistant turn that fits, keeping the early turns. Tokens are counted on
 * the chatml text of the student's template, special tokens included. A cut conversation is
 * rendered again and counted exactly, because the template renders a conversation's last turn
 * differently from the others.
 */
export function truncateConversation(
  source: InferenceMessage[],
  tools: FunctionTool[],
  maxTokens: number,
  countTokens: (text: string) => number,
): TruncationResult {
  const cache = new Map<string, number>();
  const count = (message: SftMessage): number => {
    const text = chatmlMessage(message);
    let n = cache.get(text);
    if (n === undefined) {
      n = countTokens(text);
      cache.set(text, n);
    }
    return n;
  };
  const full = toSftConversation(source, tools);
  const counts = full.messages.map(count);
  const fullTokens = counts.reduce((a, b) => a + b, 0);
  const original = full.messages.length;
  const assistants = full.messages.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
  if (assistants.length === 0) return { kind: 'rejected', reason: 'no_assistant_turn', fullTokens };
  if (fullTokens <= maxTokens) {
    return {
      kind: 'kept',
      messages: full.messages,
      sourceMessages: source.length,
      tokens: fullTokens,
      keptMessages: original,
      originalMessages: original,
      ratio: 1,
      fullTokens,
    };
  }
  const prefix: number[] = [];
  counts.reduce((sum, n, i) => (prefix[i] = sum + n), 0);
  // A last turn renders a few tokens longer at most (an empty <think> block): leave room for it.
  const slack = 16;
  for (let a = assistants.length - 1; a >= 0; a -= 1) {
    const k = assistants[a]!;
    if (prefix[k]! > maxTokens + slack) continue;
    const end = full.sourceEnd[k]!;
    const cut = toSftConversation(source.slice(0, end), tools);
    const tokens = cut.messages.reduce((sum, m) => sum + count(m), 0);
    if (tokens > maxTokens) continue;
    return {
      kind: 'kept',
      messages: cut.messages,
      sourceMessages: end,
      tokens,
      keptMessages: cut.messages.length,
      originalMessages: original,
      ratio: cut.messages.length / original,
      fullTokens,
    };
  }
  return { kind: 'rejected', reason: 'first_turn_too_long', fullTokens };
}
