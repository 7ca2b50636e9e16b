import { findBraceFunction, type BraceSpan } from './brace-functions';
import { LINE_RULES } from './brace-rules';
import { maskCode } from './code-mask';
import type { BraceLanguage } from './languages';
import type { EditCandidate, EditKind } from './python-edits';

/**
 * The edits the offline teacher makes to a function in JavaScript, TypeScript, Go, Rust or Java:
 * the same kinds as in Python, each a str_replace with an `oldStr` unique in the source.
 * `near` (a 0-based line) picks among several functions of the same plain name.
 */
export function braceEditCandidates(
  source: string,
  language: BraceLanguage,
  functionName: string,
  kinds: readonly EditKind[],
  near = 0,
): EditCandidate[] {
  const lines = source.split('\n');
  const masked = maskCode(source, language).split('\n');
  const span = findBraceFunction(masked, language, functionName, near);
  if (!span) return [];
  const file = { lines, masked, language, span };
  const candidates: EditCandidate[] = [];
  for (const kind of kinds) {
    candidates.push(...lineCandidates(file, kind));
    if (kind === 'validation') candidates.push(...removedRejections(file));
    if (kind === 'rename_local') candidates.push(...renameCandidates(file));
    if (kind === 'docstring') candidates.push(...docCandidates(file));
  }
  return candidates;
}

interface SourceFile {
  lines: string[];
  masked: string[];
  language: BraceLanguage;
  span: BraceSpan;
}

/** The smallest block of lines around [first, last] that occurs once in the source. */
function uniqueBlock(
  file: SourceFile,
  first: number,
  last: number,
): { from: number; to: number; oldStr: string } | undefined {
  const text = file.lines.join('\n');
  const { start, end } = file.span;
  for (let grow = 0; grow < 8; grow += 1) {
    const from = Math.max(Math.min(start, first), first - Math.floor(grow / 2));
    const to = Math.min(end - 1, last + Math.ceil(grow / 2));
    const oldStr = file.lines.slice(from, to + 1).join('\n');
    if (oldStr.trim() !== '' && text.split(oldStr).length - 1 === 1) return { from, to, oldStr };
  }
  return undefined;
}

function candidate(
  file: SourceFile,
  kind: EditKind,
  first: number,
  last: number,
  replacement: string[],
  anchorLine = first,
): EditCandidate | undefined {
  const block = uniqueBlock(file, first, last);
  if (!block) return undefined;
  const newLines = [
    ...file.lines.slice(block.from, first),
    ...replacement,
    ...file.lines.slice(last + 1, block.to + 1),
  ];
  return {
    kind,
    line: anchorLine + 1,
    anchor: (file.lines[anchorLine] ?? '').trim(),
    oldStr: block.oldStr,
    newStr: newLines.join('\n'),
  };
}

function signature(file: SourceFile): string {
  const { start, open, bodyFrom } = file.span;
  return file.masked.slice(start, (open ?? bodyFrom) + 1).join('\n');
}

function lineCandidates(file: SourceFile, kind: EditKind): EditCandidate[] {
  const rules = LINE_RULES[file.language][kind];
  if (!rules) return [];
  const out: EditCandidate[] = [];
  const { bodyFrom, bodyTo } = file.span;
  let previous = file.masked[bodyFrom - 1] ?? '';
  for (let i = bodyFrom; i < bodyTo; i += 1) {
    const code = file.masked[i] ?? '';
    const line = file.lines[i] ?? '';
    if (code.trim() === '') continue;
    const context = { signature: signature(file), previous };
    previous = code;
    for (const rule of rules) {
      const changed = rule(code, line, context);
      if (changed === undefined || changed === line) continue;
      const made = candidate(file, kind, i, i, [changed]);
      if (made) out.push(made);
      break;
    }
  }
  return out;
}

const REJECTS: Record<BraceLanguage, RegExp | undefined> = {
  javascript: /^\s*throw\b/,
  typescript: /^\s*throw\b/,
  java: /^\s*throw\b/,
  rust: /^\s*(?:return\s+Err\(|panic!\(|bail!\()/,
  go: undefined, // Go's rejections are returned errors: brace-rules.ts drops them instead
};

/** Validation: the statement that rejects bad input inside an `if` block is removed. */
function removedRejections(file: SourceFile): EditCandidate[] {
  const rejects = REJECTS[file.language];
  if (!rejects) return [];
  const out: EditCandidate[] = [];
  const { bodyFrom, bodyTo } = file.span;
  for (let i = Math.max(bodyFrom, 1); i < bodyTo; i += 1) {
    const code = file.masked[i] ?? '';
    if (!rejects.test(code)) continue;
    if (!/^\s*(?:\}\s*)?(?:if\b.*|else)\s*\{\s*$/.test(file.masked[i - 1] ?? '')) continue;
    const last = statementEnd(file.masked, i, bodyTo);
    if (last === undefined || !/^\s*\}/.test(file.masked[last + 1] ?? '')) continue;
    const made = candidate(file, 'validation', i - 1, last, [file.lines[i - 1] ?? ''], i);
    if (made) out.push(made);
  }
  return out;
}

function statementEnd(masked: string[], from: number, to: number): number | undefined {
  let depth = 0;
  for (let l = from; l < to; l += 1) {
    for (const ch of masked[l] ?? '') {
      if ('([{'.includes(ch)) depth += 1;
      else if (')]}'.includes(ch)) depth -= 1;
    }
    if (depth === 0) return l;
  }
  return undefined;
}

/** A name's declaration as a local, per language (masked line). */
const LOCAL_DECLARATION: Record<BraceLanguage, RegExp> = {
  javascript: /^\s*(?:const|let|var)\s+([a-z_$][\w$]*)\s*[:=]/,
  typescript: /^\s*(?:const|let|var)\s+([a-z_$][\w$]*)\s*[:=]/,
  go: /^\s*(?:var\s+([a-z_]\w*)\b|([a-z_]\w*)(?:\s*,\s*\w+)*\s*:=)/,
  rust: /^\s*let\s+(?:mut\s+)?([a-z_]\w*)\s*[:=]/,
  java: /^\s*(?:final\s+)?(?:var|int|long|short|byte|char|boolean|double|float|[A-Z][\w$]*(?:<[^=;]*>)?(?:\[\])*)\s+([a-z_$][\w$]*)\s*=[^=]/,
};

function renameCandidates(file: SourceFile): EditCandidate[] {
  const { start, end, bodyFrom, bodyTo } = file.span;
  if (file.span.open === undefined) return []; // an expression body has no locals
  const sig = signature(file);
  const body = file.masked.slice(bodyFrom, bodyTo);
  const names = new Set<string>();
  for (const code of body) {
    const m = LOCAL_DECLARATION[file.language].exec(code);
    const name = m?.[1] ?? m?.[2];
    if (name && name.length > 2 && !new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`).test(sig))
      names.add(name);
  }
  const suffix = file.language === 'rust' ? '_value' : 'Value';
  const whole = file.lines.join('\n');
  const out: EditCandidate[] = [];
  for (const name of names) {
    const renamed = `${name}${suffix}`;
    if (
      whole.includes(renamed) ||
      (file.language !== 'go' && file.language !== 'rust' && shorthand(body, name))
    )
      continue;
    const pattern = new RegExp(`(?<![\\w$.]|\\?\\.)${escape(name)}(?![\\w$])(?!\\s*:(?![:=]))`, 'g');
    const newLines = file.lines.slice(start, end).map((line, k) => {
      const index = start + k;
      if (index < bodyFrom || index >= bodyTo) return line;
      const code = file.masked[index] ?? '';
      let result = '';
      let last = 0;
      for (const m of code.matchAll(pattern)) {
        result += line.slice(last, m.index) + renamed;
        last = m.index + name.length;
      }
      return result + line.slice(last);
    });
    const first = body.findIndex((code) => new RegExp(pattern.source).test(code));
    const oldStr = file.lines.slice(start, end).join('\n');
    if (whole.split(oldStr).length - 1 !== 1) continue;
    out.push({
      kind: 'rename_local',
      line: bodyFrom + 1 + Math.max(first, 0),
      anchor: name,
      oldStr,
      newStr: newLines.join('\n'),
    });
  }
  return out;
}

const escape = (name: string): string => name.replace(/[$]/g, '\\$');

/** An object literal's shorthand property (`{ name }`) would change its key with the name. */
function shorthand(body: string[], name: string): boolean {
  const n = escape(name);
  return body.some(
    (code) =>
      new RegExp(`(?:(?<!\\$)\\{|,)\\s*${n}\\s*[,}]`).test(code) ||
      new RegExp(`^\\s*${n}\\s*,?\\s*$`).test(code) ||
      new RegExp(`\\.\\.\\.${n}\\b`).test(code),
  );
}

const NOT_CACHED = 'Results are not cached.';

/**
 * Documentation: the doc comment above the function (JSDoc, Javadoc, Rust's `///`, Go's `//`)
 * says results are not cached; a function without one gets one.
 */
function docCandidates(file: SourceFile): EditCandidate[] {
  const { start, indent } = file.span;
  const above = start - 1;
  const previous = file.lines[above] ?? '';
  if (file.language === 'go') {
    const name = /^func\s*(?:\([^)]*\)\s*)?(\w+)/.exec(file.masked[start] ?? '')?.[1] ?? 'It';
    const made = /^\/\//.test(previous)
      ? candidate(file, 'docstring', above, above, [`${previous.trimEnd()} ${NOT_CACHED}`])
      : candidate(file, 'docstring', start, start, [
          `// ${name} returns its result; results are not cached.`,
          file.lines[start] ?? '',
        ]);
    return made ? [made] : [];
  }
  if (file.language === 'rust' && /^\s*\/\/\//.test(previous)) {
    let first = above;
    while (first > 0 && /^\s*\/\/\//.test(file.lines[first - 1] ?? '')) first -= 1;
    const line = file.lines[first] ?? '';
    const made = candidate(file, 'docstring', first, first, [`${line.trimEnd()} ${NOT_CACHED}`]);
    return made ? [made] : [];
  }
  if (/\*\/\s*$/.test(previous)) {
    let first = above;
    while (first > 0 && !/^\s*\/\*\*/.test(file.lines[first] ?? '')) first -= 1;
    if (!/^\s*\/\*\*/.test(file.lines[first] ?? '')) return [];
    const opener = file.lines[first] ?? '';
    // The first line with text: the opener itself, or the one after it.
    const textLine = /^\s*\/\*\*\s*$/.test(opener) ? first + 1 : first;
    const line = file.lines[textLine] ?? '';
    const changed = /\*\/\s*$/.test(line)
      ? line.replace(/\s*\*\/\s*$/, ` ${NOT_CACHED} */`)
      : `${line.trimEnd()} ${NOT_CACHED}`;
    const made = candidate(file, 'docstring', textLine, textLine, [changed]);
    return made ? [made] : [];
  }
  const comment =
    file.language === 'rust'
      ? `${indent}/// Returns the result; results are not cached.`
      : `${indent}/** Returns the result; results are not cached. */`;
  const made = candidate(file, 'docstring', start, start, [comment, file.lines[start] ?? '']);
  return made ? [made] : [];
}
