import { describe, expect, it } from 'vitest';
import { HermesStreamParser, parseHermesTurn, type HermesDelta } from '../../core/serve/hermes-stream';
import { parseAssistantTurn } from '../../core/sft/hermes-parser';

const CALL = '<tool_call>\n{"name": "bash", "arguments": {"command": "ls -la"}}\n</tool_call>';

const TEXTS = [
  `<think>\nI should list the files.\n</think>\n\n${CALL}`,
  `<think>\nLook first.\n</think>\n\nLet me look.\n${CALL}\n${CALL.replace('ls -la', 'pwd')}`,
  '<think>\nDone.\n</think>\n\nThe fix is in place.',
  'Plain answer with no reasoning.',
  `<think>\n\n</think>\n\n${CALL}`,
];

function streamed(
  text: string,
  size: number,
): { deltas: HermesDelta[]; turn: ReturnType<typeof parseHermesTurn> } {
  const parser = new HermesStreamParser();
  const deltas: HermesDelta[] = [];
  for (let i = 0; i < text.length; i += size) deltas.push(...parser.push(text.slice(i, i + size)));
  const end = parser.finish();
  return { deltas: [...deltas, ...end.deltas], turn: end.turn };
}

function joined(deltas: HermesDelta[], kind: HermesDelta['kind']): string {
  return deltas
    .filter((d) => d.kind === kind)
    .map((d) => d.text)
    .join('');
}

describe('hermes stream parser', () => {
  it('reads a turn like the hermes parser: reasoning, content and calls with parsed arguments', () => {
    for (const text of TEXTS) {
      const ours = parseHermesTurn(text);
      const reference = parseAssistantTurn(text);
      expect(ours.toolCalls).toEqual(reference.toolCalls);
      expect(ours.content).toBe(reference.content === null ? null : reference.content.trim());
      expect(ours.reasoning ?? '').toBe(
        (reference.reasoning ?? '').replace(/^<think>/, '').replace(/^\n+|\n+$/g, ''),
      );
    }
    // An empty <think></think> (what the template writes with thinking off) is no reasoning at
    // all, so a whole answer does not show an empty thinking block that a stream never sends.
    expect(parseHermesTurn(TEXTS[4]!).reasoning).toBeNull();
    expect(parseHermesTurn(TEXTS[0]!).toolCalls).toEqual([
      { name: 'bash', arguments: { command: 'ls -la' } },
    ]);
  });

  it('gives the same turn and the same text whether the completion arrives whole or a character at a time', () => {
    for (const text of TEXTS) {
      const whole = streamed(text, text.length);
      for (const size of [1, 2, 3, 7]) {
        const pieces = streamed(text, size);
        expect(pieces.turn).toEqual(whole.turn);
        expect(joined(pieces.deltas, 'text')).toBe(whole.turn.content ?? '');
        expect(joined(pieces.deltas, 'reasoning')).toBe(whole.turn.reasoning ?? '');
      }
    }
  });

  it('passes text on at once but holds a tail that may begin a <tool_call> tag', () => {
    const parser = new HermesStreamParser();
    expect(parser.push('<think>\nhm\n</think>\n\nHello there <tool')).toEqual([
      { kind: 'reasoning', text: 'hm' },
      { kind: 'text', text: 'Hello there' },
    ]);
    expect(parser.push('_call>\n{"name": "bash", "arguments": {"command": "x"}}')).toEqual([]);
    const end = parser.finish();
    expect(end.deltas).toEqual([]);
    expect(end.turn.toolCalls).toEqual([{ name: 'bash', arguments: { command: 'x' } }]);
  });

  it('releases a held tail that turns out not to be a tag', () => {
    const parser = new HermesStreamParser();
    expect(parser.push('use the <tool')).toEqual([{ kind: 'text', text: 'use the' }]);
    expect(parser.push('box> element')).toEqual([{ kind: 'text', text: ' <toolbox> element' }]);
  });

  it('hands back a malformed call as text, as the hermes parser does', () => {
    const text = 'Trying.\n<tool_call>\n{"name": "bash", "arguments": {oops}\n</tool_call>';
    const turn = streamed(text, 4);
    expect(turn.turn.toolCalls).toEqual([]);
    expect(turn.turn.content).toBe(text);
    expect(joined(turn.deltas, 'text')).toBe(text);
    expect(parseAssistantTurn(text).toolCalls).toEqual([]);
  });

  it('refuses a call whose arguments are not an object, and reads missing arguments as {}', () => {
    expect(
      parseHermesTurn('<tool_call>\n{"name": "bash", "arguments": [1]}\n</tool_call>').toolCalls,
    ).toEqual([]);
    expect(parseHermesTurn('<tool_call>\n{"name": "finish"}\n</tool_call>').toolCalls).toEqual([
      { name: 'finish', arguments: {} },
    ]);
  });

  it('keeps reasoning cut off by the token limit as reasoning', () => {
    expect(parseHermesTurn('<think>\nStill thinking about')).toEqual({
      reasoning: 'Still thinking about',
      content: null,
      toolCalls: [],
    });
  });
});
