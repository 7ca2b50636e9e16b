import { describe, expect, it } from 'vitest';
import { AGENT_TOOLS } from '../../core/agent/tools';
import type { ChatMessage } from '../../core/agent/trajectory';
import { renderChatml, toInferenceMessages, toSftConversation } from '../../core/sft/hermes-format';
import { qwen3CountTokens, qwen3Encode } from '../../core/sft/qwen3';
import { askReference } from '../support/reference';
import { assistant, conversation, tool } from '../support/sft';

// Checked against Hugging Face transformers loading the same tokenizer files: what vLLM and the
// trainers use. The project's Node side must agree with it exactly.
const STRINGS = [
  'Hello, world!',
  'def f(x):\n    return x + 1  # comment\n\n\n\tif  x:\n',
  '<|im_start|>user\n<tool_response>\nOBSERVATION:\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
  'déjà vu — naïve café; 日本語のテキスト; 🙂👍🏽; Ünïcödé',
  '   leading spaces and trailing   \n\n\n',
  '12345678901234567890 3.14159 -0.5e-10 0x1F',
  '{"name": "bash", "arguments": {"command": "grep -rn \\"def f\\" . | head -5"}}',
  'diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n-    a = 1\n+    a = 2\n',
  '',
];

const CONVERSATIONS: ChatMessage[][] = [
  conversation(),
  [
    ...conversation().slice(0, 2),
    assistant(null, ['bash', { command: 'ls' }], ['bash', { command: 'pwd' }]),
    tool('a'),
    tool('b'),
    assistant('', ['submit', {}]),
  ],
  [
    ...conversation().slice(0, 2),
    assistant('<think>\nplan\n</think>\n\nLooking.', ['bash', { command: 'echo é 日本' }]),
    tool('x'),
    assistant('No call.'),
    { role: 'user', content: 'Your reply had no tool call.' },
    assistant('Sorry.', ['submit', {}]),
  ],
  // A reasoning model's turns: thinking kept apart from the answer in the trajectory.
  [
    ...conversation().slice(0, 2),
    { ...withReasoning(assistant('I will look.', ['bash', { command: 'ls' }]), '\nThe file may be here.\n') },
    tool('x'),
    withReasoning(assistant('', ['submit', {}]), 'Done.'),
    tool('Submitted.'),
  ],
];

function withReasoning(message: ChatMessage, reasoning: string): ChatMessage {
  if (message.role !== 'assistant') throw new Error('only assistant messages carry reasoning');
  return { ...message, reasoning };
}

describe('the Node tokenizer and template against the reference (transformers)', () => {
  const inference = CONVERSATIONS.map((c) => toInferenceMessages(c, 'keep'));
  const sft = inference.map((m) => toSftConversation(m, AGENT_TOOLS).messages);
  const reference = askReference({
    strings: [...STRINGS, ...sft.map(renderChatml)],
    conversations: inference.map((messages) => ({ messages, tools: AGENT_TOOLS })),
    sftConversations: sft,
  });

  it('gives the same token ids, hence counts, on fixed strings and whole conversations', () => {
    const all = [...STRINGS, ...sft.map(renderChatml)];
    all.forEach((text, i) => {
      expect(qwen3Encode(text)).toEqual(reference.ids[i]);
      expect(qwen3CountTokens(text)).toBe(reference.ids[i]!.length);
    });
  });

  it('renders each conversation in hermes form exactly as the official template does in transformers', () => {
    sft.forEach((messages, i) => expect(renderChatml(messages)).toBe(reference.renders[i]));
  });

  it('marks exactly the assistant turns for training with the exported chatml training template', () => {
    sft.forEach((messages, i) => {
      expect(reference.trained[i]!.text).toBe(renderChatml(messages));
      const assistantText = messages
        .filter((m) => m.train)
        .map((m) => `${m.content}<|im_end|>`)
        .join('');
      expect(reference.trained[i]!.trained).toBe(assistantText);
    });
  });
});
