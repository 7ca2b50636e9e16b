import { describe, expect, it } from 'vitest';
import {
  AnthropicMessagesRequestSchema,
  anthropicMessagesResponse,
  fromAnthropicMessages,
} from '../../core/serve/anthropic-messages';
import { ServeRequestError, type HermesTurn } from '../../core/serve/hermes-stream';
import { OpenAiChatRequestSchema, fromOpenAiChat, openAiChatResponse } from '../../core/serve/openai-chat';

const anthropicMeta = (showThinking = false) => ({
  id: 'msg_1',
  model: 'student',
  showThinking,
  stopSequences: ['END'],
  newToolUseId: () => 'toolu_1',
});
const openAiMeta = { id: 'chatcmpl-1', created: 1, model: 'student', newToolCallId: () => 'call_1' };
const textTurn: HermesTurn = { reasoning: 'why', content: 'Done.', toolCalls: [] };

describe('Anthropic Messages conversion', () => {
  it('puts tool results first as tool messages, the user text after, and thinking back into <think>', () => {
    const request = AnthropicMessagesRequestSchema.parse({
      model: 'student',
      max_tokens: 10,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: 'Go.' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Check first.', signature: 'sig' },
            { type: 'tool_use', id: 't1', name: 'bash', input: { command: 'ls' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'a.py' }] },
            { type: 'text', text: 'Now fix it.' },
          ],
        },
      ],
    });
    expect(fromAnthropicMessages(request).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Go.' },
      {
        role: 'assistant',
        content: '<think>\nCheck first.\n</think>\n\n',
        tool_calls: [{ type: 'function', function: { name: 'bash', arguments: '{"command": "ls"}' } }],
      },
      { role: 'tool', tool_call_id: 't1', content: 'a.py' },
      { role: 'user', content: 'Now fix it.' },
    ]);
  });

  it('refuses a final assistant message (prefill), naming it', () => {
    const request = AnthropicMessagesRequestSchema.parse({
      model: 'student',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'Go.' },
        { role: 'assistant', content: 'Sure' },
      ],
    });
    expect(() => fromAnthropicMessages(request)).toThrow(ServeRequestError);
    expect(() => fromAnthropicMessages(request)).toThrow(/^messages\.1: .*prefill/);
  });

  it('reports max_tokens, a matched stop sequence, and thinking only when asked for', () => {
    expect(anthropicMessagesResponse(textTurn, { finishReason: 'length' }, anthropicMeta()).stop_reason).toBe(
      'max_tokens',
    );
    const stopped = anthropicMessagesResponse(
      textTurn,
      { finishReason: 'stop', matchedStop: 'END' },
      anthropicMeta(),
    );
    expect(stopped).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    expect(stopped.content).toEqual([{ type: 'text', text: 'Done.' }]);
    expect(
      anthropicMessagesResponse(textTurn, { finishReason: 'stop' }, anthropicMeta(true)).content,
    ).toEqual([
      { type: 'thinking', thinking: 'why', signature: '' },
      { type: 'text', text: 'Done.' },
    ]);
  });
});

describe('OpenAI chat conversion', () => {
  it('reads text parts, developer messages, reasoning_content and sampling settings', () => {
    const request = OpenAiChatRequestSchema.parse({
      model: 'student',
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'Rules.' }] },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.', reasoning_content: 'greet' },
        { role: 'user', content: 'Again' },
      ],
      max_completion_tokens: 64,
      top_p: 0.9,
      stop: 'END',
    });
    const hermes = fromOpenAiChat(request);
    expect(hermes.messages).toEqual([
      { role: 'system', content: 'Rules.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '<think>\ngreet\n</think>\n\nHello.' },
      { role: 'user', content: 'Again' },
    ]);
    expect(hermes.sampling).toMatchObject({ maxTokens: 64, topP: 0.9, stop: ['END'] });
    expect(hermes.tools).toEqual([]);
  });

  it('refuses images and n > 1, naming the field', () => {
    const image = OpenAiChatRequestSchema.safeParse({
      model: 'student',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
    });
    expect(image.success).toBe(false);
    expect(image.error!.issues[0]!.path.join('.')).toBe('messages.0.content.0.type');
    const many = OpenAiChatRequestSchema.safeParse({
      model: 'student',
      messages: [{ role: 'user', content: 'a' }],
      n: 2,
    });
    expect(many.error!.issues[0]!.message).toMatch(/n = 1/);
  });

  it('reports length and stop finish reasons', () => {
    expect(
      openAiChatResponse(textTurn, { finishReason: 'length' }, openAiMeta).choices[0]!.finish_reason,
    ).toBe('length');
    expect(openAiChatResponse(textTurn, { finishReason: 'stop' }, openAiMeta).choices[0]!.message).toEqual({
      role: 'assistant',
      content: 'Done.',
      reasoning_content: 'why',
    });
  });
});
