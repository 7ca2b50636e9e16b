import { describe, expect, it } from 'vitest';
import { AGENT_TOOLS } from '../../core/agent/tools';
import {
  FormatError,
  renderChatml,
  toInferenceMessages,
  toSftConversation,
} from '../../core/sft/hermes-format';
import { parseAssistantTurn, parseHermesToolCalls } from '../../core/sft/hermes-parser';
import { pythonJsonDumps } from '../../core/sft/python-json';
import { renderQwen3Template } from '../../core/sft/qwen3';
import { assistant, conversation, tool } from '../support/sft';

const sameAsTemplate = (messages: Parameters<typeof toInferenceMessages>[0]): void => {
  const inference = toInferenceMessages(messages);
  const sft = toSftConversation(inference, AGENT_TOOLS);
  expect(renderChatml(sft.messages)).toBe(renderQwen3Template(inference, AGENT_TOOLS));
};

describe('the hermes format matches the Qwen3 chat template', () => {
  it('for a whole agent conversation: tools in the system prompt, <think>, <tool_call>, <tool_response>', () => {
    const messages = conversation();
    sameAsTemplate(messages);
    const sft = toSftConversation(toInferenceMessages(messages), AGENT_TOOLS).messages;
    expect(sft[0]!.content).toContain('<tools>\n{"type": "function", "function": {"name": "bash"');
    expect(sft[2]).toEqual({
      role: 'assistant',
      train: true,
      content:
        '<think>\nLook first.\n</think>\n\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>',
    });
    expect(sft[3]).toEqual({
      role: 'user',
      train: false,
      content: '<tool_response>\nOBSERVATION:\nfile.py\n\n</tool_response>',
    });
    expect(sft.filter((m) => m.train).map((m) => m.role)).toEqual([
      'assistant',
      'assistant',
      'assistant',
      'assistant',
    ]);
  });

  it('for several calls in one turn, whose results share one user turn', () => {
    const messages = [
      ...conversation().slice(0, 2),
      assistant('Two at once.', ['bash', { command: 'ls' }], ['bash', { command: 'pwd' }]),
      tool('a'),
      tool('b'),
      assistant('Done.', ['submit', {}]),
    ];
    sameAsTemplate(messages);
    const sft = toSftConversation(toInferenceMessages(messages), AGENT_TOOLS);
    expect(sft.messages[3]!.content).toBe(
      '<tool_response>\na\n</tool_response>\n<tool_response>\nb\n</tool_response>',
    );
    expect(sft.sourceEnd).toEqual([1, 2, 3, 5, 6]);
  });

  it('for turns without a thought, in the middle and at the end', () => {
    sameAsTemplate([
      ...conversation().slice(0, 2),
      assistant(null, ['bash', { command: 'ls' }]),
      tool('x'),
      assistant('', ['submit', {}]),
    ]);
    const sft = toSftConversation(
      toInferenceMessages([
        ...conversation().slice(0, 2),
        assistant(null, ['bash', { command: 'ls' }]),
        tool('x'),
        assistant('', ['submit', {}]),
      ]),
      AGENT_TOOLS,
    ).messages;
    expect(sft[2]!.content.startsWith('<tool_call>')).toBe(true);
    expect(sft[4]!.content.startsWith('<think>\n\n</think>\n\n<tool_call>')).toBe(true);
  });

  it('for a teacher that already writes <think>, text beside the calls, and a later user note', () => {
    sameAsTemplate([
      ...conversation().slice(0, 2),
      assistant('<think>\nplan\n</think>\n\nI will look.', ['bash', { command: 'ls' }]),
      tool('x'),
      assistant('No call here.'),
      { role: 'user', content: 'Your reply had no tool call.' },
      assistant('Sorry.', ['submit', {}]),
    ]);
  });

  it('spells arguments as Python json.dumps does, unicode kept', () => {
    const [, , turn] = toInferenceMessages([
      ...conversation().slice(0, 2),
      assistant('x', ['bash', '{"command":"echo é","n":[1,2]}']),
    ]);
    expect(turn).toMatchObject({
      tool_calls: [{ function: { arguments: '{"command": "echo é", "n": [1, 2]}' } }],
    });
    expect(pythonJsonDumps({ a: { b: [true, null, 1.5] }, 'k"': 'v\n' })).toBe(
      '{"a": {"b": [true, null, 1.5]}, "k\\"": "v\\n"}',
    );
  });

  it('refuses a tool call whose arguments are not a JSON object', () => {
    expect(() =>
      toInferenceMessages([...conversation().slice(0, 2), assistant('x', ['bash', '{"command": "ls"'])]),
    ).toThrow(FormatError);
    expect(() =>
      toInferenceMessages([...conversation().slice(0, 2), assistant('x', ['bash', '[1]'])]),
    ).toThrow(/not a JSON object/);
  });
});

describe('the hermes parser reads turns back like vLLM', () => {
  it('recovers reasoning, content and every call in order', () => {
    const parsed = parseAssistantTurn(
      '<think>\nplan\n</think>\n\nLooking.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>\n<tool_call>\n{"name": "submit", "arguments": {}}\n</tool_call>',
    );
    expect(parsed).toEqual({
      reasoning: '\nplan\n',
      content: '\n\nLooking.\n',
      toolCalls: [
        { name: 'bash', arguments: { command: 'ls' } },
        { name: 'submit', arguments: {} },
      ],
    });
  });

  it('takes an unclosed last call, and gives back plain content when a block is not JSON', () => {
    expect(parseHermesToolCalls('<tool_call>{"name": "submit", "arguments": {}}').toolCalls).toEqual([
      { name: 'submit', arguments: {} },
    ]);
    const broken = 'x<tool_call>{"name": "bash", "arguments": {</tool_call>';
    expect(parseHermesToolCalls(broken)).toEqual({ content: broken, toolCalls: [] });
    expect(parseHermesToolCalls('no calls')).toEqual({ content: 'no calls', toolCalls: [] });
  });
});
