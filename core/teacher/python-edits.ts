/**
 * The edits the offline teacher knows how to make to a Python function, one kind per bug type.
 * Each candidate is a str_replace a model could have written: an `oldStr` unique in the file and
 * the `newStr` that replaces it.
 */
export const EDIT_KINDS = [
  'off_by_one',
  'none_guard',
  'exception',
  'validation',
  'boolean',
  'return_value',
  'rename_local',
  'docstring',
] as const;
export type EditKind = (typeof EDIT_KINDS)[number];

export interface EditCandidate {
  kind: EditKind;
  /** 1-based line of the function the edit starts on. */
  line: number;
  /** The original line, trimmed: what a PR description can quote. */
  anchor: string;
  oldStr: string;
  newStr: string;
}

export interface FunctionSpan {
  start: number; // index of the def line (0-based)
  bodyStart: number; // index of the first line after the signature
  end: number; // index after the last body line
  indent: string;
}

/**
 * Finds `def name(` and its indented body. `Class.method` is the `def method` inside `class
 * Class`; when the class is not in the text (a partial view), the first `def method`.
 */
export function findFunction(lines: string[], name: string): FunctionSpan | undefined {
  if (name.includes('.')) return findQualified(lines, name.split('.'));
  const def = new RegExp(`^(\\s*)(async\\s+)?def\\s+${name.replace(/[^\w]/g, '')}\\s*\\(`);
  const start = lines.findIndex((line) => def.test(line));
  if (start < 0) return undefined;
  return spanFrom(lines, start, def.exec(lines[start] ?? '')?.[1] ?? '');
}

function findQualified(lines: string[], parts: string[]): FunctionSpan | undefined {
  const last = parts[parts.length - 1] ?? '';
  let from = 0;
  let to = lines.length;
  for (const outer of parts.slice(0, -1)) {
    const opener = new RegExp(`^(\\s*)(?:class|(?:async\\s+)?def)\\s+${outer.replace(/[^\w]/g, '')}\\b`);
    const at = lines.findIndex((line, i) => i >= from && i < to && opener.test(line));
    if (at < 0) return findFunction(lines, last);
    const span = spanFrom(lines, at, opener.exec(lines[at] ?? '')?.[1] ?? '');
    from = span.bodyStart;
    to = span.end;
  }
  const inner = findFunction(lines.slice(from, to), last);
  if (!inner) return findFunction(lines, last);
  return { ...inner, start: inner.start + from, bodyStart: inner.bodyStart + from, end: inner.end + from };
}

/** The span of the def (or class) starting at `start`: its signature, then its indented body. */
function spanFrom(lines: string[], start: number, indent: string): FunctionSpan {
  let end = start + 1;
  // The signature may continue over several lines, up to the line ending with ':'.
  while (end < lines.length && !/:\s*(#.*)?$/.test(lines[end - 1] ?? '')) end += 1;
  const bodyStart = end;
  while (end < lines.length) {
    const line = lines[end] ?? '';
    if (line.trim() !== '' && !line.startsWith(`${indent} `) && !line.startsWith(`${indent}\t`)) break;
    end += 1;
  }
  while (end > start + 1 && (lines[end - 1] ?? '').trim() === '') end -= 1;
  return { start, bodyStart, end, indent };
}

type LineRule = { pattern: RegExp; replace: (line: string) => string };

const LINE_RULES: Partial<Record<EditKind, LineRule[]>> = {
  off_by_one: [
    { pattern: /[^<>=!]<=[^=]/, replace: (l) => l.replace(/([^<>=!])<=([^=])/, '$1<$2') },
    { pattern: /[^<>=!-]<[^<=]/, replace: (l) => l.replace(/([^<>=!-])<([^<=])/, '$1<=$2') },
    { pattern: /[^<>=!]>=[^=]/, replace: (l) => l.replace(/([^<>=!])>=([^=])/, '$1>$2') },
    { pattern: /[^<>=!-]>[^>=]/, replace: (l) => l.replace(/([^<>=!-])>([^>=])/, '$1>=$2') },
    { pattern: /\brange\(([^()]+)\)/, replace: (l) => l.replace(/\brange\(([^()]+)\)/, 'range($1 - 1)') },
    { pattern: / - 1\b/, replace: (l) => l.replace(/ - 1\b/, '') },
    { pattern: / \+ 1\b/, replace: (l) => l.replace(/ \+ 1\b/, '') },
  ],
  none_guard: [
    { pattern: /\bis not None\b/, replace: (l) => l.replace(/\bis not None\b/, 'is None') },
    { pattern: /\bis None\b/, replace: (l) => l.replace(/\bis None\b/, 'is not None') },
  ],
  exception: [
    {
      pattern: /^\s*except\s+[\w.(), ]+(\s+as\s+\w+)?:/,
      replace: (l) => l.replace(/except\s+[\w.(), ]+?(\s+as\s+\w+)?:/, 'except Exception$1:'),
    },
    {
      pattern: /\braise\s+ValueError\b/,
      replace: (l) => l.replace(/\braise\s+ValueError\b/, 'raise RuntimeError'),
    },
    {
      pattern: /\braise\s+TypeError\b/,
      replace: (l) => l.replace(/\braise\s+TypeError\b/, 'raise ValueError'),
    },
  ],
  validation: [{ pattern: /^\s*raise\s+\w/, replace: (l) => l.replace(/^(\s*)raise\b.*$/, '$1pass') }],
  boolean: [
    { pattern: / and /, replace: (l) => l.replace(/ and /, ' or ') },
    { pattern: / or /, replace: (l) => l.replace(/ or /, ' and ') },
    { pattern: /\bTrue\b/, replace: (l) => l.replace(/\bTrue\b/, 'False') },
    { pattern: /\bFalse\b/, replace: (l) => l.replace(/\bFalse\b/, 'True') },
  ],
  return_value: [
    {
      pattern: /^\s*return\s+\S/,
      replace: (l) => l.replace(/^(\s*)return\s+(.+?)\s*$/, '$1return not ($2)'),
    },
  ],
};

/** A line without its comment and with string literals emptied. */
function codeOf(line: string): string {
  return line.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''").replace(/#.*$/, '');
}

/** Lines inside (or opening or closing) triple-quoted strings: docstrings are not code. */
function stringLines(lines: string[], from: number, to: number): Set<number> {
  const inside = new Set<number>();
  let open = false;
  for (let i = from; i < to; i += 1) {
    const quotes = ((lines[i] ?? '').match(/"""|'''/g) ?? []).length;
    if (open || quotes > 0) inside.add(i);
    if (quotes % 2 === 1) open = !open;
  }
  return inside;
}

function uniqueOldStr(
  lines: string[],
  index: number,
  end: number,
): { oldStr: string; count: number } | undefined {
  const text = lines.join('\n');
  for (let extra = 0; extra < 4 && index + extra < end; extra += 1) {
    const oldStr = lines.slice(index, index + extra + 1).join('\n');
    if (text.split(oldStr).length - 1 === 1) return { oldStr, count: extra + 1 };
  }
  return undefined;
}

/** Every edit of the given kinds the function admits, in line order. */
export function editCandidates(
  source: string,
  functionName: string,
  kinds: readonly EditKind[],
): EditCandidate[] {
  const lines = source.split('\n');
  const span = findFunction(lines, functionName);
  if (!span) return [];
  const candidates: EditCandidate[] = [];
  const body = { from: span.bodyStart, to: span.end };
  for (const kind of kinds) {
    const rules = LINE_RULES[kind];
    if (rules) {
      const inString = stringLines(lines, body.from, body.to);
      for (let i = body.from; i < body.to; i += 1) {
        const line = lines[i] ?? '';
        const code = codeOf(line);
        if (code.trim() === '' || inString.has(i)) continue;
        const rule = rules.find((r) => r.pattern.test(code));
        if (!rule) continue;
        const changed = rule.replace(line);
        // The rule must have changed code, not the text of a string on the same line.
        if (changed === line || codeOf(changed) === code) continue;
        const unique = uniqueOldStr(lines, i, body.to);
        if (!unique) continue;
        const rest = lines.slice(i + 1, i + unique.count);
        candidates.push({
          kind,
          line: i + 1,
          anchor: line.trim(),
          oldStr: unique.oldStr,
          newStr: [changed, ...rest].join('\n'),
        });
      }
    }
    if (kind === 'rename_local') candidates.push(...renameCandidates(lines, span));
    if (kind === 'docstring') candidates.push(...docstringCandidates(lines, span));
  }
  return candidates;
}

function renameCandidates(lines: string[], span: FunctionSpan): EditCandidate[] {
  const bodyLines = lines.slice(span.start, span.end);
  const body = bodyLines.join('\n');
  const names = new Set<string>();
  // Parameters are not locals: renaming them in the body alone would break the function.
  const signature = bodyLines.slice(0, span.bodyStart - span.start).join('\n');
  for (const line of bodyLines.slice(span.bodyStart - span.start)) {
    const m = /^\s*([a-z_][a-z0-9_]*)\s*=[^=]/.exec(line);
    if (
      m?.[1] &&
      m[1].length > 2 &&
      !['self', 'cls'].includes(m[1]) &&
      !new RegExp(`\\b${m[1]}\\b`).test(signature)
    ) {
      names.add(m[1]);
    }
  }
  const out: EditCandidate[] = [];
  for (const name of names) {
    const renamed = `${name}_value`;
    if (body.includes(renamed)) continue;
    const pattern = new RegExp(`(?<![\\w.])${name}\\b`, 'g');
    const inString = stringLines(lines, span.start, span.end);
    const newBody = bodyLines
      .map((line, i) => (i === 0 || inString.has(span.start + i) ? line : line.replace(pattern, renamed)))
      .join('\n');
    const probe = new RegExp(pattern.source);
    const first = bodyLines.findIndex(
      (line, i) => i > 0 && !inString.has(span.start + i) && probe.test(line),
    );
    out.push({
      kind: 'rename_local',
      line: span.start + 1 + Math.max(first, 0),
      anchor: name,
      oldStr: body,
      newStr: newBody,
    });
  }
  return out;
}

function docstringCandidates(lines: string[], span: FunctionSpan): EditCandidate[] {
  const defEnd = lines.slice(span.start, span.end).findIndex((l) => /:\s*(#.*)?$/.test(l));
  const next = lines[span.start + defEnd + 1];
  if (next === undefined) return [];
  const bodyIndent = /^(\s*)/.exec(next)?.[1] ?? `${span.indent}    `;
  const m = /^(\s*)("""|''')(.*)$/.exec(next);
  if (m) {
    const changed = m[3]?.includes(m[2] ?? '"""')
      ? next.replace(/("""|''')\s*$/, ' Results are not cached.$1')
      : `${next.trimEnd()} Results are not cached.`;
    const unique = uniqueOldStr(lines, span.start + defEnd + 1, span.end);
    if (!unique) return [];
    return [
      {
        kind: 'docstring',
        line: span.start + defEnd + 2,
        anchor: next.trim(),
        oldStr: unique.oldStr,
        newStr: [
          changed,
          ...lines.slice(span.start + defEnd + 2, span.start + defEnd + 1 + unique.count),
        ].join('\n'),
      },
    ];
  }
  const defLines = lines.slice(span.start, span.start + defEnd + 1).join('\n');
  return [
    {
      kind: 'docstring',
      line: span.start + 1,
      anchor: (lines[span.start] ?? '').trim(),
      oldStr: defLines,
      newStr: `${defLines}\n${bodyIndent}"""Return the result; results are not cached."""`,
    },
  ];
}

/** Removes the `cat -n` numbering of a view observation, giving the file's text back. */
export function stripLineNumbers(view: string): string {
  return view
    .split('\n')
    .filter((line) => /^\s*\d+\t/.test(line))
    .map((line) => line.replace(/^\s*\d+\t/, ''))
    .join('\n');
}
