import { describe, expect, it } from 'vitest';
import { AGENT_TOOLS } from '../../core/agent/tools';
import { renderChatml, toInferenceMessages, toSftConversation } from '../../core/sft/hermes-format';
import { qwen3CountTokens } from '../../core/sft/qwen3';
import { truncateConversation } from '../../core/sft/truncation';
import { assistant, conversation, tool } from '../support/sft';

const tokensOf = (messages: Parameters<typeof renderChatml>[0]): number =>
  qwen3CountTokens(renderChatml(messages));

describe('truncation to the context', () => {
  const source = toInferenceMessages(conversation('x '.repeat(300)));
  const full = toSftConversation(source, AGENT_TOOLS).messages;
  const fullTokens = tokensOf(full);

  it('keeps a conversation that fits whole, with ratio 1', () => {
    const cut = truncateConversation(source, AGENT_TOOLS, fullTokens, qwen3CountTokens);
    expect(cut).toMatchObject({
      kind: 'kept',
      ratio: 1,
      tokens: fullTokens,
      keptMessages: full.length,
      sourceMessages: source.length,
    });
  });

  it('counts tokens per message exactly as for the whole text', () => {
    const cut = truncateConversation(source, AGENT_TOOLS, 1_000_000, qwen3CountTokens);
    expect(cut.kind === 'kept' && cut.tokens).toBe(fullTokens);
  });

  it('cuts after the last complete assistant turn that fits, keeping the early turns', () => {
    const cut = truncateConversation(source, AGENT_TOOLS, fullTokens - 1, qwen3CountTokens);
    if (cut.kind !== 'kept') throw new Error('expected a cut conversation');
    // The last message (the final tool result) alone no longer fits: the cut ends at the last assistant turn.
    expect(cut.messages[cut.messages.length - 1]!.role).toBe('assistant');
    expect(cut.keptMessages).toBe(full.length - 1);
    expect(cut.ratio).toBeCloseTo((full.length - 1) / full.length);
    expect(cut.tokens).toBe(tokensOf(cut.messages));
    expect(cut.tokens).toBeLessThan(fullTokens);
    expect(cut.messages.slice(0, -1)).toEqual(full.slice(0, cut.keptMessages - 1));
  });

  it('drops further turns as the limit shrinks, and never goes over it', () => {
    let previous = Infinity;
    for (const limit of [fullTokens - 1, fullTokens - 200, fullTokens - 500, fullTokens - 700]) {
      const cut = truncateConversation(source, AGENT_TOOLS, limit, qwen3CountTokens);
      if (cut.kind !== 'kept') continue;
      expect(cut.tokens).toBeLessThanOrEqual(limit);
      expect(cut.keptMessages).toBeLessThanOrEqual(previous);
      previous = cut.keptMessages;
    }
    expect(previous).toBeLessThan(full.length - 1);
  });

  it('renders the last kept turn as the template does when it has no thought', () => {
    const quiet = toInferenceMessages([
      ...conversation().slice(0, 2),
      assistant(null, ['bash', { command: 'ls' }]),
      tool('y '.repeat(400)),
      assistant('end', ['submit', {}]),
    ]);
    const all = tokensOf(toSftConversation(quiet, AGENT_TOOLS).messages);
    const cut = truncateConversation(quiet, AGENT_TOOLS, all - 1, qwen3CountTokens);
    if (cut.kind !== 'kept') throw new Error('expected a cut conversation');
    expect(cut.messages).toHaveLength(3);
    expect(cut.messages[2]!.content.startsWith('<think>\n\n</think>\n\n<tool_call>')).toBe(true);
    expect(cut.tokens).toBe(tokensOf(cut.messages));
  });

  it('drops a conversation whose first assistant turn alone is too long', () => {
    const upToFirst = toSftConversation(source.slice(0, 3), AGENT_TOOLS).messages;
    const cut = truncateConversation(source, AGENT_TOOLS, tokensOf(upToFirst) - 1, qwen3CountTokens);
    expect(cut).toEqual({ kind: 'rejected', reason: 'first_turn_too_long', fullTokens });
    const fits = truncateConversation(source, AGENT_TOOLS, tokensOf(upToFirst), qwen3CountTokens);
    expect(fits).toMatchObject({ kind: 'kept', keptMessages: 3 });
  });

  it('drops a conversation with no assistant turn', () => {
    expect(truncateConversation(source.slice(0, 2), AGENT_TOOLS, 100_000, qwen3CountTokens)).toMatchObject({
      kind: 'rejected',
      reason: 'no_assistant_turn',
    });
  });
});
