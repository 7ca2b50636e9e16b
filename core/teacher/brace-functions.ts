import type { BraceLanguage } from './languages';

/**
 * Finding a function by its (possibly qualified) name in a brace language, on masked source
 * (code-mask.ts). `Outer.name` is a method: JavaScript, TypeScript and Java `Class.method`, Go
 * `Type.Method` (a receiver method), Rust `Type.method` (inside `impl Type` or `trait Type`).
 * Arrow functions bound to a name are that name; class fields `f = () => …` are `Class.f`.
 */
export interface BraceSpan {
  /** Index of the line naming the function. */
  start: number;
  /** Lines the edits may touch: [bodyFrom, bodyTo). */
  bodyFrom: number;
  bodyTo: number;
  /** Index after the function's last line. */
  end: number;
  /** Line of the body's opening brace; undefined for an expression-bodied arrow function. */
  open: number | undefined;
  indent: string;
}

const escape = (name: string): string => name.replace(/[$]/g, '\\$');

const JS_MODIFIERS =
  '(?:(?:export|default|declare|public|private|protected|static|readonly|async|override|abstract|get|set|accessor)\\s+)*';

/** Regular expressions for a line (masked) that defines `name`. */
export function definitionPatterns(language: BraceLanguage, name: string, receiver?: string): RegExp[] {
  const n = escape(name);
  switch (language) {
    case 'javascript':
    case 'typescript':
      return [
        new RegExp(`^\\s*${JS_MODIFIERS}function\\s*\\*?\\s*${n}\\s*[<(]`),
        new RegExp(
          `^\\s*${JS_MODIFIERS}(?:const\\s+|let\\s+|var\\s+)?#?${n}\\s*[?!]?\\s*(?::[^=]*)?=\\s*(?:async\\s+)?(?:function\\b|\\(|[\\w$]+\\s*=>|<)`,
        ),
        new RegExp(`^\\s*${JS_MODIFIERS}\\*?\\s*#?${n}\\s*[?!]?\\s*(?:<[^>]*>\\s*)?\\(`),
        new RegExp(`^\\s*${n}\\s*:\\s*(?:async\\s+)?(?:function\\b|\\()`),
      ];
    case 'go': {
      const recv = receiver ? `\\*?\\s*${escape(receiver)}(?:\\[[^\\]]*\\])?` : '[^)]*';
      return receiver
        ? [new RegExp(`^func\\s*\\(\\s*(?:\\w+\\s+)?${recv}\\s*\\)\\s*${n}\\s*[[(]`)]
        : [new RegExp(`^func\\s+${n}\\s*[[(]`), new RegExp(`^func\\s*\\(${recv}\\)\\s*${n}\\s*[[(]`)];
    }
    case 'rust':
      return [
        new RegExp(
          `^\\s*(?:pub(?:\\([^)]*\\))?\\s+)?(?:(?:const|async|unsafe|default)\\s+)*(?:extern\\s+"[^"]*"\\s+)?fn\\s+${n}\\s*[<(]`,
        ),
      ];
    case 'java':
      return [
        new RegExp(
          `^\\s*(?:(?:public|private|protected|static|final|abstract|synchronized|native|default|strictfp)\\s+)*(?:<[^>]+>\\s+)?(?:[\\w$.<>\\[\\]?, ]+\\s+)?${n}\\s*\\(`,
        ),
      ];
  }
}

/** A line (masked) that opens the container `outer` (a class, an impl block). */
export function containerPattern(language: BraceLanguage, outer: string): RegExp {
  const o = escape(outer);
  switch (language) {
    case 'rust':
      return new RegExp(
        `^\\s*(?:unsafe\\s+)?(?:impl\\b(?:<[^{]*?>)?\\s+(?:[^{]*?\\bfor\\s+)?|(?:pub\\S*\\s+)?trait\\s+)${o}\\b`,
      );
    case 'java':
      return new RegExp(`\\b(?:class|interface|enum|record)\\s+${o}\\b`);
    default:
      return new RegExp(`\\b(?:class|interface|namespace)\\s+${o}\\b`);
  }
}

const WORDS_NOT_NAMES = /^(?:if|for|while|switch|catch|return|function|with|else|do|new|typeof)$/;

/**
 * The span of the function called `name` in masked lines. A qualified name is looked for inside
 * its container; when the container is not there (a partial view of the file), the plain last
 * part is. `near` prefers the first definition at or after that line.
 */
export function findBraceFunction(
  masked: string[],
  language: BraceLanguage,
  name: string,
  near = 0,
): BraceSpan | undefined {
  const parts = name.split('.');
  const last = parts[parts.length - 1] ?? name;
  if (WORDS_NOT_NAMES.test(last)) return undefined;
  const outer = parts.length > 1 ? parts[parts.length - 2] : undefined;
  if (language === 'go' && outer) {
    const span = firstSpan(
      masked,
      language,
      last,
      definitionPatterns(language, last, outer),
      0,
      masked.length,
      near,
    );
    if (span) return span;
  } else if (outer) {
    let range = { from: 0, to: masked.length };
    for (const container of parts.slice(0, -1)) {
      const pattern = containerPattern(language, container);
      const at = masked.findIndex((line, i) => i >= range.from && i < range.to && pattern.test(line));
      const open = at < 0 ? undefined : bodyBraces(masked, at, 0);
      if (at < 0 || !open) {
        range = { from: -1, to: -1 };
        break;
      }
      range = { from: at, to: open.closeLine + 1 };
    }
    if (range.from >= 0) {
      const span = firstSpan(
        masked,
        language,
        last,
        definitionPatterns(language, last),
        range.from,
        range.to,
        0,
      );
      if (span) return span;
    }
  }
  const patterns = definitionPatterns(language, last);
  // Go: a plain name is a function before it is any type's method.
  const preferred = language === 'go' ? patterns.slice(0, 1) : patterns;
  return (
    firstSpan(masked, language, last, preferred, 0, masked.length, near) ??
    firstSpan(masked, language, last, patterns, 0, masked.length, near)
  );
}

/** The column right after the function's name in a definition's match. */
function afterName(match: string, name: string): number {
  const all = [...match.matchAll(new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`, 'g'))];
  const last = all[all.length - 1];
  return last ? last.index + name.length : match.length;
}

function firstSpan(
  masked: string[],
  language: BraceLanguage,
  name: string,
  patterns: RegExp[],
  from: number,
  to: number,
  near: number,
): BraceSpan | undefined {
  const spans: BraceSpan[] = [];
  for (let i = from; i < to; i += 1) {
    const line = masked[i] ?? '';
    const pattern = patterns.find((p) => p.test(line));
    if (!pattern) continue;
    const span = spanAt(masked, language, i, afterName(pattern.exec(line)?.[0] ?? '', name));
    if (span && span.end <= to) spans.push(span);
  }
  return spans.find((s) => s.start >= near) ?? spans[0];
}

interface Braces {
  openLine: number;
  closeLine: number;
}

/** Masked lines as one text, with a way back from an offset to its line. */
function flat(masked: string[]): {
  text: string;
  lineOf: (offset: number) => number;
  offsetOf: (line: number) => number;
} {
  const starts: number[] = [];
  let at = 0;
  for (const line of masked) {
    starts.push(at);
    at += line.length + 1;
  }
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  return { text: masked.join('\n'), lineOf, offsetOf: (line) => starts[line] ?? at };
}

/**
 * The body's braces of a definition whose signature starts at (line, column): the first `{` at
 * bracket depth 0, skipping type-level braces (`): { a: T } {`, Go's `interface{}`). A `;` first
 * means a declaration without a body.
 */
function bodyBraces(masked: string[], line: number, column: number): Braces | undefined {
  const { text, lineOf, offsetOf } = flat(masked);
  let depth = 0;
  for (let i = offsetOf(line) + column; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '(' || ch === '[') depth += 1;
    else if (ch === ')' || ch === ']') depth -= 1;
    else if (ch === ';' && depth === 0) return undefined;
    else if (ch === '{' && depth === 0) {
      const close = matching(text, i);
      if (close === undefined) return undefined;
      const before = text.slice(Math.max(0, i - 20), i);
      if (/(?::|\binterface|\bstruct|\||&)\s*$/.test(before)) {
        i = close; // type-level braces: go on after them
        continue;
      }
      return { openLine: lineOf(i), closeLine: lineOf(close) };
    }
  }
  return undefined;
}

function matching(text: string, open: number): number | undefined {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    else if (text[i] === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return undefined;
}

function spanAt(
  masked: string[],
  language: BraceLanguage,
  start: number,
  column: number,
): BraceSpan | undefined {
  const indent = /^\s*/.exec(masked[start] ?? '')?.[0] ?? '';
  const js = language === 'javascript' || language === 'typescript';
  if (js && expressionBodied(masked, start, column)) {
    const last = expressionEnd(masked, start, column);
    return { start, bodyFrom: start, bodyTo: last + 1, end: last + 1, open: undefined, indent };
  }
  const braces = bodyBraces(masked, start, column);
  if (!braces) return undefined;
  const { openLine, closeLine } = braces;
  const bodyFrom = openLine === closeLine ? openLine : openLine + 1;
  const bodyTo = openLine === closeLine ? openLine + 1 : closeLine;
  return { start, bodyFrom, bodyTo, end: closeLine + 1, open: openLine, indent };
}

/** An arrow function whose body is an expression, not a block. */
function expressionBodied(masked: string[], start: number, column: number): boolean {
  let depth = 0;
  for (let l = start; l < masked.length && l < start + 40; l += 1) {
    const text = masked[l] ?? '';
    for (let c = l === start ? column : 0; c < text.length; c += 1) {
      const ch = text[c];
      if (ch === '(' || ch === '[') depth += 1;
      else if (ch === ')' || ch === ']') depth -= 1;
      else if (depth === 0 && (ch === '{' || ch === ';')) return false;
      else if (depth === 0 && ch === '=' && text[c + 1] === '>') {
        return !`${text.slice(c + 2)}\n${masked[l + 1] ?? ''}`.trimStart().startsWith('{');
      }
    }
  }
  return false;
}

/** The last line of an expression body: a `;` at depth 0, or a line that closes all its brackets. */
function expressionEnd(masked: string[], start: number, column: number): number {
  let depth = 0;
  for (let l = start; l < masked.length; l += 1) {
    const text = masked[l] ?? '';
    for (let c = l === start ? column : 0; c < text.length; c += 1) {
      const ch = text[c];
      if ('([{'.includes(ch ?? '')) depth += 1;
      else if (')]}'.includes(ch ?? '')) depth -= 1;
      else if (ch === ';' && depth <= 0) return l;
    }
    const trimmed = text.trimEnd();
    const continues = /(?:=>|[(,=?:&|+\-*/])$/.test(trimmed) || /^\s*[.?:&|+]/.test(masked[l + 1] ?? '');
    if (depth <= 0 && !continues) return l;
  }
  return masked.length - 1;
}
