/**
 * The str_replace_editor's behaviour on file text, pure: the activity reads the file from the
 * sandbox, calls these, and writes the result back. Messages are what the model sees.
 */
export type EditOutcome = { ok: true; content: string; message: string } | { ok: false; message: string };

export const EDITED = 'has been edited';

/** `cat -n` style: line number right-aligned in 6 columns, a tab, the line. */
export function numberLines(content: string, firstLine = 1): string {
  return content
    .split('\n')
    .map((line, i) => `${String(i + firstLine).padStart(6)}\t${line}`)
    .join('\n');
}

export function viewFile(path: string, content: string, range?: [number, number]): EditOutcome {
  const lines = content.split('\n');
  if (content.endsWith('\n')) lines.pop();
  if (!range)
    return {
      ok: true,
      content,
      message: `Here is ${path} with line numbers:\n${numberLines(lines.join('\n'))}`,
    };
  const [start, rawEnd] = range;
  // An end past the last line is read as "to the end", as people mean it.
  const end = rawEnd === -1 ? lines.length : Math.min(rawEnd, lines.length);
  if (start < 1 || start > lines.length || end < start) {
    return {
      ok: false,
      message: `Error: view_range [${start}, ${rawEnd}] is outside ${path}, which has ${lines.length} lines`,
    };
  }
  const part = lines.slice(start - 1, end).join('\n');
  return {
    ok: true,
    content,
    message: `Here are lines ${start}–${end} of ${path}:\n${numberLines(part, start)}`,
  };
}

function snippet(content: string, around: number): string {
  const lines = content.split('\n');
  const from = Math.max(0, around - 4);
  return numberLines(lines.slice(from, around + 5).join('\n'), from + 1);
}

export function strReplace(path: string, content: string, oldStr: string, newStr: string): EditOutcome {
  if (oldStr === '') return { ok: false, message: 'Error: old_str must not be empty' };
  const count = content.split(oldStr).length - 1;
  if (count === 0)
    return { ok: false, message: `Error: old_str does not occur in ${path}; nothing was replaced` };
  if (count > 1) {
    return {
      ok: false,
      message: `Error: old_str occurs ${count} times in ${path}; make it unique (add surrounding lines)`,
    };
  }
  const at = content.indexOf(oldStr);
  const updated = content.slice(0, at) + newStr + content.slice(at + oldStr.length);
  const line = content.slice(0, at).split('\n').length - 1;
  return {
    ok: true,
    content: updated,
    message: `The file ${path} ${EDITED}. The changed part now reads:\n${snippet(updated, line)}`,
  };
}

export function insertAfter(path: string, content: string, insertLine: number, newStr: string): EditOutcome {
  const lines = content.split('\n');
  const trailing = content.endsWith('\n');
  if (trailing) lines.pop();
  if (insertLine > lines.length) {
    return {
      ok: false,
      message: `Error: insert_line ${insertLine} is past the end of ${path} (${lines.length} lines)`,
    };
  }
  lines.splice(insertLine, 0, ...newStr.split('\n'));
  const updated = lines.join('\n') + (trailing ? '\n' : '');
  return {
    ok: true,
    content: updated,
    message: `The file ${path} ${EDITED}. The changed part now reads:\n${snippet(updated, insertLine)}`,
  };
}
