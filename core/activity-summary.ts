import type { ToolAction } from './agent/tool-call';

/**
 * One-line summaries for the Temporal UI's timeline (an activity's or a child workflow's user
 * metadata), so a person auditing a run reads what each step did without opening it. The UI
 * shows them as typed, one line, and the server keeps at most 200 bytes. They carry a command's
 * first line or a path, never file contents or replies.
 */

/** How much of a command a summary shows. */
export const SUMMARY_COMMAND_CHARS = 80;
/** The server's limit on a summary, in UTF-8 bytes. */
export const SUMMARY_MAX_BYTES = 200;
/** A command's share of it: the rest holds the turn and the tool's name. */
const COMMAND_MAX_BYTES = 140;

const ELLIPSIS = '…';

function utf8Bytes(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/** `text` cut to `maxChars` code points and `maxBytes` UTF-8 bytes, an ellipsis marking a cut. */
export function truncateSummary(text: string, maxChars: number, maxBytes = SUMMARY_MAX_BYTES): string {
  const points = Array.from(text);
  if (points.length <= maxChars && points.reduce((n, p) => n + utf8Bytes(p.codePointAt(0)!), 0) <= maxBytes)
    return text;
  // Room for the ellipsis (3 bytes, 1 code point).
  let bytes = utf8Bytes(ELLIPSIS.codePointAt(0)!);
  let kept = '';
  for (const point of points.slice(0, Math.max(0, maxChars - 1))) {
    bytes += utf8Bytes(point.codePointAt(0)!);
    if (bytes > maxBytes) break;
    kept += point;
  }
  return `${kept.trimEnd()}${ELLIPSIS}`;
}

/**
 * A command as one short line: its first non-blank line with runs of blanks made one space (a
 * heredoc shows its `cat > f <<EOF`, not the file), an ellipsis marking what was left out.
 */
export function commandLine(command: string, maxChars = SUMMARY_COMMAND_CHARS): string {
  const lines = command.split(/\r?\n|\r/).filter((line) => line.trim() !== '');
  const first = (lines[0] ?? '').replace(/\s+/g, ' ').trim();
  const cut = truncateSummary(first, maxChars, COMMAND_MAX_BYTES);
  return lines.length > 1 && !cut.endsWith(ELLIPSIS) ? `${cut} ${ELLIPSIS}` : cut;
}

/** The tool call: `bash: pytest -q`, `str_replace_editor view src/a.py:1-40`, `submit`. */
export function toolSummary(action: ToolAction): string {
  switch (action.tool) {
    case 'bash':
      return `bash: ${commandLine(action.command)}`;
    case 'str_replace_editor': {
      const where = action.viewRange
        ? `:${action.viewRange[0]}-${action.viewRange[1]}`
        : action.insertLine !== undefined
          ? `:${action.insertLine}`
          : '';
      return `str_replace_editor ${action.command} ${commandLine(action.path)}${where}`;
    }
    case 'submit':
      return 'submit';
  }
}

/** A rollout's model call: `turn 7`, and a reply asked again: `turn 7 · asked again (1)`. */
export function agentTurnSummary(turn: number, askedAgain = 0): string {
  return askedAgain === 0 ? `turn ${turn}` : `turn ${turn} · asked again (${askedAgain})`;
}

/** A rollout's tool call: `turn 7 · bash: pytest -q tests/test_x.py`. */
export function runToolSummary(turn: number, action: ToolAction): string {
  return truncateSummary(`turn ${turn} · ${toolSummary(action)}`, SUMMARY_MAX_BYTES);
}

/** A step of one SVG sample: `sample 42 · judge`. */
export function sampleStepSummary(index: number, step: string): string {
  return truncateSummary(`sample ${index} · ${step}`, SUMMARY_MAX_BYTES);
}

/** One evaluation task, or a step of it: `seed 1 · instance foo-123`, `grade · seed 1 · instance foo-123`. */
export function evalTaskSummary(seed: number, instanceId: string, step?: string): string {
  const task = `seed ${seed} · instance ${instanceId}`;
  return truncateSummary(step ? `${step} · ${task}` : task, SUMMARY_MAX_BYTES);
}
