import type { BraceLanguage } from './languages';

/**
 * The source with the insides of comments, string literals and regular expressions blanked out,
 * character for character, so that a position in the mask is the same position in the source.
 * Edits and brace matching read the mask and so never act on text that is not code. A lexer, not
 * a parser: good enough to match braces and find tokens in ordinary code.
 */
export function maskCode(source: string, language: BraceLanguage): string {
  const out = source.split('');
  const blank = (from: number, to: number): void => {
    for (let i = from; i < to; i += 1) if (out[i] !== '\n') out[i] = ' ';
  };
  // Brace depths at which a template literal's `${` was opened (JavaScript, TypeScript).
  const templates: number[] = [];
  let depth = 0;
  let i = 0;
  const n = source.length;
  // A view that starts inside a block comment (` * …` lines of a doc comment) is still in it.
  if (/^\s*\*/.test(source) && source.includes('*/')) {
    i = source.indexOf('*/') + 2;
    blank(0, i - 2);
  }
  while (i < n) {
    const c = source[i] ?? '';
    const next = source[i + 1] ?? '';
    if (c === '/' && next === '/') {
      const end = lineEnd(source, i);
      blank(i + 2, end);
      i = end;
    } else if (c === '/' && next === '*') {
      const close = source.indexOf('*/', i + 2);
      const end = close < 0 ? n : close + 2;
      blank(i + 2, end - 2);
      i = end;
    } else if (c === '"' || (c === "'" && language !== 'rust')) {
      if (language === 'java' && source.startsWith('"""', i)) {
        const close = source.indexOf('"""', i + 3);
        const end = close < 0 ? n : close + 3;
        blank(i + 3, end - 3);
        i = end;
      } else {
        const end = quoted(source, i, c, language === 'go' || language === 'java' || language === 'rust');
        blank(i + 1, end - 1);
        i = end;
      }
    } else if (c === "'" && language === 'rust') {
      // A char literal ('a', '\n') or a lifetime ('a), which is code.
      const char = /^'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^'\\\n])'/.exec(source.slice(i, i + 12));
      if (char) {
        blank(i + 1, i + char[0].length - 1);
        i += char[0].length;
      } else i += 1;
    } else if (
      c === 'r' &&
      language === 'rust' &&
      /^r#*"/.test(source.slice(i, i + 8)) &&
      !/\w/.test(source[i - 1] ?? '')
    ) {
      const hashes = /^r(#*)"/.exec(source.slice(i, i + 8))?.[1] ?? '';
      const close = source.indexOf(`"${hashes}`, i + hashes.length + 2);
      const end = close < 0 ? n : close + 1 + hashes.length;
      blank(i + hashes.length + 2, end - 1 - hashes.length);
      i = end;
    } else if (c === '`' && language === 'go') {
      const close = source.indexOf('`', i + 1);
      const end = close < 0 ? n : close + 1;
      blank(i + 1, end - 1);
      i = end;
    } else if (c === '`' && (language === 'javascript' || language === 'typescript')) {
      i = templateText(source, i + 1, blank, templates, depth);
    } else if (c === '/' && (language === 'javascript' || language === 'typescript') && startsRegex(out, i)) {
      const end = regexEnd(source, i);
      blank(i + 1, end - 1);
      i = end;
    } else {
      if (c === '{') depth += 1;
      if (c === '}') {
        depth -= 1;
        if (templates.length > 0 && templates[templates.length - 1] === depth) {
          // The `}` closing a `${`: back into the template's text.
          templates.pop();
          i = templateText(source, i + 1, blank, templates, depth);
          continue;
        }
      }
      i += 1;
    }
  }
  return out.join('');
}

function lineEnd(source: string, from: number): number {
  const end = source.indexOf('\n', from);
  return end < 0 ? source.length : end;
}

/** The index after a quoted literal opened at `start`; ordinary strings end at the line's end. */
function quoted(source: string, start: number, quote: string, multiline: boolean): number {
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === quote) return i + 1;
    else if (c === '\n' && !multiline) return i;
    else i += 1;
  }
  return source.length;
}

/** Blanks a template literal's text from `from` up to its end or its next `${`; returns where code resumes. */
function templateText(
  source: string,
  from: number,
  blank: (from: number, to: number) => void,
  templates: number[],
  depth: number,
): number {
  let i = from;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === '`') {
      blank(from, i);
      return i + 1;
    } else if (c === '$' && source[i + 1] === '{') {
      blank(from, i);
      templates.push(depth);
      // The `{` opens an expression at depth + 1; its `}` brings depth back to `depth`.
      return i + 1;
    } else i += 1;
  }
  blank(from, source.length);
  return source.length;
}

/** A `/` starts a regular expression where a value is expected, not after one. */
function startsRegex(masked: string[], at: number): boolean {
  const next = masked[at + 1] ?? '';
  if (next === '/' || next === '*') return false;
  let j = at - 1;
  while (j >= 0 && /\s/.test(masked[j] ?? '')) j -= 1;
  if (j < 0) return true;
  const prev = masked[j] ?? '';
  if (/[(,=:[!&|?{};+\-*%<>~^]/.test(prev)) return true;
  let k = j;
  while (k >= 0 && /[\w$]/.test(masked[k] ?? '')) k -= 1;
  const word = masked.slice(k + 1, j + 1).join('');
  return /^(return|typeof|case|do|else|in|of|void|yield|await|throw|delete|instanceof)$/.test(word);
}

function regexEnd(source: string, start: number): number {
  let i = start + 1;
  let inClass = false;
  while (i < source.length) {
    const c = source[i];
    if (c === '\n') return start + 1; // not a regular expression after all: a division
    if (c === '\\') i += 2;
    else if (c === '[') {
      inClass = true;
      i += 1;
    } else if (c === ']') {
      inClass = false;
      i += 1;
    } else if (c === '/' && !inClass) return i + 1;
    else i += 1;
  }
  return start + 1;
}
