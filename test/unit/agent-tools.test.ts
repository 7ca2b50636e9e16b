import { describe, expect, it } from 'vitest';
import { insertAfter, strReplace, viewFile } from '../../core/agent/editor';
import { bugInstruction, parseBugInstruction, TEMPLATE_COUNT } from '../../core/agent/instructions';
import { extractPrDescription, judgeAnswer } from '../../core/agent/side-prompts';
import { parseToolCall } from '../../core/agent/tool-call';
import { AGENT_TOOLS } from '../../core/agent/tools';

describe('parseToolCall', () => {
  it('accepts the three tools with their arguments', () => {
    expect(parseToolCall('bash', '{"command":"ls"}')).toEqual({
      ok: true,
      action: { tool: 'bash', command: 'ls' },
    });
    expect(parseToolCall('submit', '')).toEqual({ ok: true, action: { tool: 'submit' } });
    const edit = parseToolCall('str_replace_editor', '{"command":"view","path":"a.py","view_range":[3,-1]}');
    expect(edit).toMatchObject({ ok: true, action: { command: 'view', path: 'a.py', viewRange: [3, -1] } });
  });

  it('names the problem with bad JSON, an unknown tool or a missing argument', () => {
    expect(parseToolCall('bash', '{"command": "ls"')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/not valid JSON/),
    });
    expect(parseToolCall('python', '{}')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/unknown tool "python"/),
    });
    expect(parseToolCall('str_replace_editor', '{"command":"str_replace","path":"a.py"}')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/old_str: required for str_replace/),
    });
    expect(parseToolCall('str_replace_editor', '{"command":"delete","path":"a.py"}')).toMatchObject({
      ok: false,
    });
  });

  it('matches the tool schemas offered to the model', () => {
    expect(AGENT_TOOLS.map((t) => t.function.name)).toEqual(['bash', 'str_replace_editor', 'submit']);
  });
});

describe('the editor on text', () => {
  const text = 'a\nb\nc\n';

  it('views with line numbers, whole or a range', () => {
    expect(viewFile('/f', text)).toMatchObject({ ok: true, message: expect.stringContaining('     2\tb') });
    const part = viewFile('/f', text, [2, 99]);
    expect(part.message).toContain('     3\tc');
    expect(part.message).not.toContain('     1\ta');
    expect(viewFile('/f', text, [5, 6]).ok).toBe(false);
  });

  it('replaces a unique string and refuses a missing or repeated one', () => {
    expect(strReplace('/f', text, 'b\n', 'B\n')).toMatchObject({ ok: true, content: 'a\nB\nc\n' });
    expect(strReplace('/f', text, 'x', 'y')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/does not occur/),
    });
    expect(strReplace('/f', 'x\nx\n', 'x', 'y')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/occurs 2 times/),
    });
  });

  it('inserts after a line', () => {
    expect(insertAfter('/f', text, 0, 'top')).toMatchObject({ ok: true, content: 'top\na\nb\nc\n' });
    expect(insertAfter('/f', text, 3, 'end')).toMatchObject({ ok: true, content: 'a\nb\nc\nend\n' });
    expect(insertAfter('/f', text, 9, 'x').ok).toBe(false);
  });
});

describe('instructions and side prompts', () => {
  it('has 51 templates, each naming the function and file, and reads them back', () => {
    expect(TEMPLATE_COUNT).toBe(51);
    for (let i = 0; i < TEMPLATE_COUNT; i += 1) {
      expect(parseBugInstruction(bugInstruction(i, 'f', 'pkg/m.py'))).toMatchObject({
        functionName: 'f',
        file: 'pkg/m.py',
      });
    }
    expect(parseBugInstruction(bugInstruction(48, 'f', 'm.py'))?.category).toBe('null safety');
    expect(() => bugInstruction(51, 'f', 'm.py')).toThrow(/does not exist/);
  });

  it('reads the judge’s answer and the PR description', () => {
    expect(judgeAnswer('<output>Yes.</output>')).toBe('yes');
    expect(judgeAnswer('It only changes a comment. <output> no </output>')).toBe('no');
    // Only inside the tags, and never in thinking left in the answer.
    expect(judgeAnswer('yes')).toBeUndefined();
    expect(judgeAnswer('yes, <output>maybe</output>')).toBeUndefined();
    expect(judgeAnswer('<think>so <output>yes</output>?</think>\n<output>no</output>')).toBe('no');
    expect(judgeAnswer('<think><output>yes</output></think> I cannot tell.')).toBeUndefined();
    expect(extractPrDescription('x <output>\n Broken.\n</output> y')).toBe('Broken.');
    expect(extractPrDescription('x <pr_description>\n Broken.\n</pr_description> y')).toBe('Broken.');
    expect(extractPrDescription('<think><output>draft</output></think>')).toBeUndefined();
    expect(extractPrDescription('no tags')).toBeUndefined();
  });
});
