import { describe, expect, it } from 'vitest';
import {
  SUMMARY_COMMAND_CHARS,
  SUMMARY_MAX_BYTES,
  agentTurnSummary,
  commandLine,
  runToolSummary,
  sampleStepSummary,
  toolSummary,
  truncateSummary,
} from '../../core/activity-summary';

const bytes = (text: string): number => new TextEncoder().encode(text).length;

describe('activity summaries for the UI timeline', () => {
  it('names the tool and its command or path', () => {
    expect(toolSummary({ tool: 'bash', command: 'pytest -q tests/test_x.py' })).toBe(
      'bash: pytest -q tests/test_x.py',
    );
    expect(toolSummary({ tool: 'str_replace_editor', command: 'view', path: 'src/a.py' })).toBe(
      'str_replace_editor view src/a.py',
    );
    expect(
      toolSummary({ tool: 'str_replace_editor', command: 'view', path: 'src/a.py', viewRange: [10, 40] }),
    ).toBe('str_replace_editor view src/a.py:10-40');
    expect(toolSummary({ tool: 'submit' })).toBe('submit');
    expect(agentTurnSummary(7)).toBe('turn 7');
    expect(runToolSummary(7, { tool: 'bash', command: 'ls' })).toBe('turn 7 · bash: ls');
    expect(sampleStepSummary(42, 'judge')).toBe('sample 42 · judge');
  });

  it('never shows file contents an edit carries', () => {
    const summary = toolSummary({
      tool: 'str_replace_editor',
      command: 'str_replace',
      path: 'src/secret.py',
      oldStr: 'API_KEY = 1',
      newStr: 'API_KEY = 2',
    });
    expect(summary).toBe('str_replace_editor str_replace src/secret.py');
  });

  it('keeps a multi-line command to its first line, marking what was left out', () => {
    const heredoc = "cat > src/a.py <<'EOF'\ndef f():\n    return 1\nEOF";
    expect(commandLine(heredoc)).toBe("cat > src/a.py <<'EOF' …");
    expect(commandLine('\n\n  cd src  &&\tls  \n')).toBe('cd src && ls');
    expect(runToolSummary(1, { tool: 'bash', command: heredoc })).not.toMatch(/[\r\n]/);
  });

  it('cuts a long command with an ellipsis', () => {
    const long = `python -c "${'x'.repeat(300)}"`;
    const line = commandLine(long);
    expect(Array.from(line)).toHaveLength(SUMMARY_COMMAND_CHARS);
    expect(line.endsWith('…')).toBe(true);
    expect(line.startsWith('python -c "xxx')).toBe(true);
  });

  it('stays within the server limit in bytes, also for wide characters', () => {
    const wide = '漢'.repeat(500);
    const summary = runToolSummary(12345, { tool: 'bash', command: `echo ${wide}` });
    expect(bytes(summary)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    expect(summary.startsWith('turn 12345 · bash: echo 漢')).toBe(true);
    expect(summary.endsWith('…')).toBe(true);
    expect(bytes(truncateSummary('😀'.repeat(100), 1000))).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    expect(truncateSummary('short', 80)).toBe('short');
  });
});
