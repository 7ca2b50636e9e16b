import { describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { askUntilUsable, type Attempt } from '../../activities/llm/chat';
import { attemptSeed } from '../../core/agent/reply-attempts';
import { ModelSettingsSchema } from '../../core/agent/rollout-input';
import {
  classifyReply,
  describeReplyProblem,
  functionCalls,
  splitReasoning,
  type ReplyMessage,
} from '../../core/agent/reply';
import { REPLY_PROBLEMS, type ChatMessage } from '../../core/agent/trajectory';
import { AGENT_TOOLS } from '../../core/agent/tools';
import { renderChatml, toInferenceMessages, toSftConversation } from '../../core/sft/hermes-format';
import { renderQwen3Template } from '../../core/sft/qwen3';
import { assistant, conversation, tool } from '../support/sft';

const call = (name: string, args: string) => ({ type: 'function', function: { name, arguments: args } });
const ls = call('bash', '{"command": "ls"}');

describe('splitReasoning', () => {
  it('keeps a plain answer as it is, and a missing content as null', () => {
    expect(splitReasoning({ content: 'Looking.' })).toEqual({ answer: 'Looking.' });
    expect(splitReasoning({ content: null })).toEqual({ answer: null });
    expect(splitReasoning({})).toEqual({ answer: null });
  });

  it('takes reasoning_content, or the reasoning field, apart from the answer', () => {
    expect(splitReasoning({ content: 'Answer.', reasoning_content: '\nI should look.\n' })).toEqual({
      reasoning: 'I should look.',
      answer: 'Answer.',
    });
    expect(splitReasoning({ content: null, reasoning: 'Thinking.' })).toEqual({
      reasoning: 'Thinking.',
      answer: null,
    });
  });

  it('moves a <think> block out of the content, with the text around it kept as the answer', () => {
    expect(splitReasoning({ content: '<think>\nplan\n</think>\n\nLooking.' })).toEqual({
      reasoning: 'plan',
      answer: 'Looking.',
    });
    expect(splitReasoning({ content: 'Note. <think>plan</think> Done.' })).toEqual({
      reasoning: 'plan',
      answer: 'Note.  Done.',
    });
    expect(splitReasoning({ content: '<think>plan</think>' })).toEqual({ reasoning: 'plan', answer: '' });
  });

  it('reads all before a lone </think> as reasoning (the template opened the block in the prompt)', () => {
    expect(splitReasoning({ content: 'plan it\n</think>\n\nLooking.' })).toEqual({
      reasoning: 'plan it',
      answer: 'Looking.',
    });
  });

  it('reads a leading <think> never closed (a cut reply) as reasoning with an empty answer', () => {
    expect(splitReasoning({ content: '  \n<think>\nstill thinking about' })).toEqual({
      reasoning: 'still thinking about',
      answer: '',
    });
    // A <think> that is not at the start and not closed is just text.
    expect(splitReasoning({ content: 'I write <think> here' })).toEqual({ answer: 'I write <think> here' });
  });

  it('joins both sources, the field first, and drops empty reasoning', () => {
    expect(splitReasoning({ content: '<think>second</think>Answer.', reasoning_content: 'first' })).toEqual({
      reasoning: 'first\n\nsecond',
      answer: 'Answer.',
    });
    expect(splitReasoning({ content: '<think>\n\n</think>\n\nAnswer.', reasoning_content: '  ' })).toEqual({
      answer: 'Answer.',
    });
  });
});

describe('classifyReply', () => {
  const reply = (message: ReplyMessage, finish_reason = 'stop') => ({ message, finish_reason });

  it('accepts a reply with a call that parses, and a tool-less answer where none is needed', () => {
    expect(classifyReply(reply({ content: 'x', tool_calls: [ls] }, 'tool_calls'), true)).toBeUndefined();
    expect(classifyReply(reply({ content: null, tool_calls: [ls] }), true)).toBeUndefined();
    expect(classifyReply(reply({ content: 'yes' }), false)).toBeUndefined();
    expect(classifyReply(reply({ content: null, reasoning_content: 'hmm' }), false)).toBeUndefined();
  });

  it('calls a reply stopped by the token limit cut, whatever it holds', () => {
    expect(classifyReply(reply({ content: 'x', tool_calls: [ls] }, 'length'), true)).toBe('length');
    expect(classifyReply(reply({ content: '' }, 'length'), false)).toBe('length');
  });

  it('calls a reply with no text, no reasoning and no call empty', () => {
    expect(classifyReply(reply({ content: '' }), true)).toBe('empty');
    expect(classifyReply(reply({ content: ' \n' }), false)).toBe('empty');
    expect(classifyReply({ message: null, finish_reason: 'stop' }, true)).toBe('empty');
    expect(classifyReply(reply({ content: '<think></think>' }), false)).toBe('empty');
  });

  it('calls a reply without a call no_tool_call only where tools were asked for', () => {
    expect(classifyReply(reply({ content: 'I am done.' }), true)).toBe('no_tool_call');
    expect(classifyReply(reply({ content: null, reasoning_content: 'thinking' }), true)).toBe('no_tool_call');
    // A call of another kind than a function is no call we can run.
    expect(classifyReply(reply({ content: 'x', tool_calls: [{ type: 'custom' }] }), true)).toBe(
      'no_tool_call',
    );
  });

  it('calls a reply with any call that does not parse malformed', () => {
    expect(classifyReply(reply({ content: 'x', tool_calls: [call('bash', '{"command": "ls"')] }), true)).toBe(
      'malformed',
    );
    expect(classifyReply(reply({ content: 'x', tool_calls: [ls, call('rm_rf', '{}')] }), true)).toBe(
      'malformed',
    );
    expect(classifyReply(reply({ content: 'x', tool_calls: [call('bash', '{}')] }), true)).toBe('malformed');
  });

  it('lists function calls only', () => {
    expect(functionCalls({ tool_calls: [ls, { type: 'custom' }] })).toEqual([ls.function]);
    expect(functionCalls({ tool_calls: null })).toEqual([]);
  });

  it('names every problem in words', () => {
    const words = REPLY_PROBLEMS.map(describeReplyProblem);
    expect(new Set(words).size).toBe(REPLY_PROBLEMS.length);
    expect(describeReplyProblem('length')).toContain('token limit');
  });
});

describe('the reply policy', () => {
  const model = ModelSettingsSchema.parse({ baseUrl: 'http://localhost:1/v1', model: 'm', seed: 7 });

  /** A completion with the given message, finish reason and token counts. */
  function completion(
    message: ReplyMessage,
    finish = 'stop',
    tokens = 10,
  ): OpenAI.Chat.Completions.ChatCompletion {
    return {
      id: 'c',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', refusal: null, content: null, ...message },
          finish_reason: finish,
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 100, completion_tokens: tokens, total_tokens: 100 + tokens },
    } as OpenAI.Chat.Completions.ChatCompletion;
  }

  /** Answers attempts from a list, recording what each was sent with. */
  function scripted(replies: OpenAI.Chat.Completions.ChatCompletion[]) {
    const attempts: Attempt[] = [];
    return {
      attempts,
      send: async (attempt: Attempt) => {
        attempts.push(attempt);
        const next = replies.shift();
        if (!next) throw new Error('no reply left');
        return next;
      },
    };
  }

  it('seeds the first attempt with the model seed and each retry with one more', () => {
    expect([0, 1, 2].map((a) => attemptSeed(model, a))).toEqual([7, 8, 9]);
    const unseeded = { ...model, seed: undefined };
    expect([0, 1, 2].map((a) => attemptSeed(unseeded, a))).toEqual([undefined, 1, 2]);
  });

  it('asks again on each problem with a new seed, raises the limit once, and counts every token', async () => {
    const server = scripted([
      completion({ content: 'cut' }, 'length', 4096),
      completion({ content: '' }),
      completion({ content: 'again cut' }, 'length', 8192),
      completion({ content: 'no call' }),
      completion({ content: 'ok', tool_calls: [ls] as never }, 'tool_calls'),
    ]);
    const outcome = await askUntilUsable({
      model,
      policy: { retries: 4, raiseLimitOnce: true },
      needsToolCall: true,
      retryOn: REPLY_PROBLEMS,
      requestMessages: [],
      send: server.send,
    });
    expect(outcome.problem).toBeUndefined();
    expect(outcome.completion.choices[0]!.message.content).toBe('ok');
    expect(outcome.retried).toEqual({ length: 2, empty: 1, no_tool_call: 1 });
    expect(server.attempts.map((a) => a.seed)).toEqual([7, 8, 9, 10, 11]);
    expect(server.attempts.map((a) => a.maxTokens)).toEqual([4096, 8192, 8192, 8192, 8192]);
    expect(outcome.usage).toEqual({ promptTokens: 500, completionTokens: 4096 + 10 + 8192 + 10 + 10 });
    // The conversation is as long as one attempt's prompt: the context cap is checked on this.
    expect(outcome.conversationTokens).toBe(100);
  });

  it('resends once with max_completion_tokens when the endpoint refuses max_tokens, and keeps that name', async () => {
    const refusal = OpenAI.APIError.generate(
      400,
      {
        error: {
          message: "Unsupported parameter: 'max_tokens'.",
          code: 'unsupported_parameter',
          param: 'max_tokens',
        },
      },
      undefined,
      new Headers(),
    );
    const attempts: Attempt[] = [];
    const replies = [
      completion({ content: 'cut' }, 'length'),
      completion({ content: 'ok', tool_calls: [ls] as never }, 'tool_calls'),
    ];
    const outcome = await askUntilUsable({
      model,
      policy: { retries: 2, raiseLimitOnce: false },
      needsToolCall: true,
      retryOn: REPLY_PROBLEMS,
      requestMessages: [],
      send: async (attempt) => {
        attempts.push(attempt);
        if ('max_tokens' in attempt.tokenLimit) throw refusal;
        return replies.shift()!;
      },
    });
    expect(outcome.problem).toBeUndefined();
    expect(attempts.map((a) => Object.keys(a.tokenLimit)[0])).toEqual([
      'max_tokens',
      'max_completion_tokens',
      'max_completion_tokens',
    ]);
  });

  it('does not swallow other refusals', async () => {
    const rejected = OpenAI.APIError.generate(
      400,
      { error: { message: 'bad request' } },
      undefined,
      new Headers(),
    );
    await expect(
      askUntilUsable({
        model,
        policy: { retries: 2, raiseLimitOnce: false },
        needsToolCall: true,
        retryOn: REPLY_PROBLEMS,
        requestMessages: [],
        send: async () => {
          throw rejected;
        },
      }),
    ).rejects.toBe(rejected);
  });

  it('returns the last reply with its problem once the retries are spent', async () => {
    const server = scripted([completion({ content: 'x' }), completion({ content: 'y' })]);
    const outcome = await askUntilUsable({
      model,
      policy: { retries: 1, raiseLimitOnce: false },
      needsToolCall: true,
      retryOn: REPLY_PROBLEMS,
      requestMessages: [],
      send: server.send,
    });
    expect(outcome.problem).toBe('no_tool_call');
    expect(outcome.completion.choices[0]!.message.content).toBe('y');
    expect(outcome.retried).toEqual({ no_tool_call: 1 });
  });

  it('keeps the limit after a cut when told not to raise it, and keeps problems it was not told to retry', async () => {
    const server = scripted([completion({ content: 'cut' }, 'length'), completion({ content: 'fine' })]);
    const outcome = await askUntilUsable({
      model,
      policy: { retries: 2, raiseLimitOnce: false },
      needsToolCall: true,
      retryOn: ['length'],
      requestMessages: [],
      send: server.send,
    });
    expect(server.attempts.map((a) => a.maxTokens)).toEqual([4096, 4096]);
    // 'fine' has no tool call, but only cuts were to be asked again.
    expect(outcome.problem).toBeUndefined();
    expect(outcome.retried).toEqual({ length: 1 });
  });
});

describe('reasoning kept apart, in the SFT export', () => {
  const reasoned = (message: ChatMessage, reasoning: string): ChatMessage =>
    message.role === 'assistant' ? { ...message, reasoning } : message;

  it('puts the reasoning in <think> before the answer and the call, exactly as the Qwen3 template renders it', () => {
    const messages: ChatMessage[] = [
      ...conversation().slice(0, 2),
      reasoned(assistant('I will look.', ['bash', { command: 'ls' }]), '\nThe file may be here.\n'),
      tool('x'),
      reasoned(assistant('', ['submit', {}]), 'Done.'),
      tool('Submitted.'),
    ];
    const inference = toInferenceMessages(messages, 'keep');
    expect(inference[2]!.content).toBe('<think>\nThe file may be here.\n</think>\n\nI will look.');
    expect(inference[4]!.content).toBe('<think>\nDone.\n</think>\n\n');
    const sft = toSftConversation(inference, AGENT_TOOLS);
    expect(renderChatml(sft.messages)).toBe(renderQwen3Template(inference, AGENT_TOOLS));
    expect(sft.messages[2]!.content).toBe(
      '<think>\nThe file may be here.\n</think>\n\nI will look.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>',
    );
  });

  it("drops the answer beside non-empty reasoning by default (the authors' keep_only_think), and wraps it when the reasoning is empty", () => {
    const [, , thought, , blank] = toInferenceMessages([
      ...conversation().slice(0, 2),
      reasoned(assistant('I will look.', ['bash', { command: 'ls' }]), 'The file may be here.'),
      tool('x'),
      reasoned(assistant('Submitting.', ['submit', {}]), '\n'),
    ]);
    expect(thought!.content).toBe('<think>\nThe file may be here.\n</think>\n\n');
    expect(blank!.content).toBe('<think>\nSubmitting.\n</think>\n\n');
  });

  it('without reasoning, still makes the text the reasoning', () => {
    const [, , turn] = toInferenceMessages([
      ...conversation().slice(0, 2),
      assistant('Look.', ['bash', { command: 'ls' }]),
    ]);
    expect(turn!.content).toBe('<think>\nLook.\n</think>\n\n');
  });
});
