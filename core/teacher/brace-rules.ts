import type { EditKind } from './python-edits';
import type { BraceLanguage } from './languages';

/**
 * One-line edits for brace languages. A rule reads the masked line (strings and comments
 * blanked, code-mask.ts) to find code, and changes the real line at the same place.
 */
export interface RuleContext {
  /** The function's signature, masked: says what it returns. */
  signature: string;
  /** The previous line of code, masked. */
  previous: string;
}
export type LineRule = (code: string, line: string, context: RuleContext) => string | undefined;

/** Replaces the first match of `pattern` in the code by `to` (or what `to` makes of the match). */
function swap(pattern: RegExp, to: string | ((m: RegExpExecArray) => string)): LineRule {
  return (code, line) => {
    const m = pattern.exec(code);
    if (!m) return undefined;
    const replacement = typeof to === 'string' ? to : to(m);
    return line.slice(0, m.index) + replacement + line.slice(m.index + m[0].length);
  };
}

const when =
  (test: RegExp, rule: LineRule): LineRule =>
  (code, line, context) =>
    test.test(code) ? rule(code, line, context) : undefined;

const OFF_BY_ONE: LineRule[] = [
  swap(/(?<= )<=(?= )/, '<'),
  swap(/(?<= )<(?= )/, '<='),
  swap(/(?<= )>=(?= )/, '>'),
  swap(/(?<= )>(?= )/, '>='),
  swap(/ - 1(?![\w.])/, ''),
  swap(/ \+ 1(?![\w.])/, ''),
  swap(/(?<=[\w)\]])(?<!\d[eE])-1(?![\w.])/, ''),
  swap(/(?<=[\w)\]])(?<!\d[eE])\+1(?![\w.])/, ''),
  // An index or a slice bound one away: `u[9]` → `u[8]`, `s[:4]` → `s[:3]`, `.slice(1)` → `.slice(2)`.
  swap(/(?<=[\w)\]]\[(?:[\w.]*:)?)\d+(?=\])/, (m) => String(m[0] === '0' ? 1 : Number(m[0]) - 1)),
  swap(/(?<=\.(?:slice|substring|charAt|at)\()\d+(?=[,)])/, (m) => String(Number(m[0]) + 1)),
];

const RUST_RANGES: LineRule[] = [
  swap(/(?<=[\w)\]])\.\.=(?=[\w(])/, '..'),
  swap(/(?<=[\w)\]])\.\.(?=[\w(])/, '..='),
];

const nullChecks = (nothing: string): LineRule[] => [
  swap(new RegExp(`===(?= ${nothing}\\b)`), '!=='),
  swap(new RegExp(`!==(?= ${nothing}\\b)`), '==='),
  swap(new RegExp(`(?<![=!])==(?= ${nothing}\\b)`), '!='),
  swap(new RegExp(`!=(?= ${nothing}\\b)`), '=='),
  swap(new RegExp(`(?<=\\b${nothing} )(?:===|!==|==|!=)(?= )`), (m) => flipEquality(m[0])),
];

function flipEquality(op: string): string {
  return { '===': '!==', '!==': '===', '==': '!=', '!=': '==' }[op] ?? op;
}

const BOOLEAN: LineRule[] = [
  swap(/ && /, ' || '),
  swap(/ \|\| /, ' && '),
  swap(/\btrue\b/, 'false'),
  swap(/\bfalse\b/, 'true'),
];

/** `return x` → `return !(x)`, where the function returns a boolean or the expression is one. */
const negateReturn =
  (booleanType: RegExp): LineRule =>
  (code, line, context) => {
    const m = /^(\s*return\s+)(.*?)(;?)\s*$/.exec(code);
    const expression = m?.[2] ?? '';
    if (
      !m ||
      expression === '' ||
      /^(?:true|false)$/.test(expression) ||
      !balanced(expression) ||
      /[,(=+\-*/&|?:]$/.test(expression)
    )
      return undefined;
    const looksBoolean =
      /[<>]=?|[!=]==?|&&|\|\||^!|\btrue\b|\bfalse\b|\.(?:test|startsWith|endsWith|includes|has|some|every|is\w*|Contains|HasPrefix|HasSuffix|Equal|equals|contains|is_\w+)\(|^(?:is|has)[A-Z_]/.test(
        expression,
      );
    if (!booleanType.test(context.signature) && !looksBoolean) return undefined;
    if (topLevelParts(expression).length > 1) return undefined; // several results
    const start = (m[1] ?? '').length;
    const original = line.slice(start, start + expression.length);
    return `${line.slice(0, start)}!(${original})${line.slice(start + expression.length)}`;
  };

function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if ('([{'.includes(ch)) depth += 1;
    else if (')]}'.includes(ch)) depth -= 1;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** Go: an `if` block's `return …, err` returns nil instead: the error is dropped. */
const goDropError: LineRule = (code, line, context) => {
  if (!/^\s*(?:if|else)\b.*\{\s*$|^\s*\}\s*else\s*\{\s*$/.test(context.previous)) return undefined;
  const m = /^(\s*return\s+)(.+?)\s*$/.exec(code);
  if (!m?.[2] || !balanced(m[2])) return undefined;
  const parts = topLevelParts(m[2]);
  const last = parts[parts.length - 1];
  if (!last) return undefined;
  const text = last.text.trim();
  if (
    !/^(?:err\w*|\w*Err\w*|errors\.New\(.*\)|fmt\.Errorf\(.*\)|&?\w*Error\{.*\}|\w*Error\(.*\))$/.test(text)
  ) {
    return undefined;
  }
  const from = (m[1] ?? '').length + last.offset + (last.text.length - last.text.trimStart().length);
  return `${line.slice(0, from)}nil${line.slice(from + text.length)}`;
};

function topLevelParts(text: string): Array<{ text: string; offset: number }> {
  const parts: Array<{ text: string; offset: number }> = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] ?? '';
    if ('([{'.includes(ch)) depth += 1;
    else if (')]}'.includes(ch)) depth -= 1;
    else if (ch === ',' && depth === 0) {
      parts.push({ text: text.slice(from, i), offset: from });
      from = i + 1;
    }
  }
  parts.push({ text: text.slice(from), offset: from });
  return parts;
}

/** Go: `%w` → `%v` in an Errorf, so the cause is no longer wrapped and `errors.Is` misses it. */
const goUnwrap: LineRule = (code, line) => {
  const at = code.indexOf('Errorf(');
  const w = at < 0 ? -1 : line.indexOf('%w', at);
  return w < 0 ? undefined : `${line.slice(0, w)}%v${line.slice(w + 2)}`;
};

const JS_ERRORS = when(
  /\bthrow\b|\breject\(/,
  swap(/(?<=\bnew )[A-Z]?\w*Error(?=\()/, (m) => (m[0] === 'Error' ? 'TypeError' : 'Error')),
);

const JAVA_EXCEPTIONS = swap(/(?<=\bthrow new )\w*Exception(?=\()/, (m) =>
  m[0] === 'IllegalArgumentException' || m[0] === 'RuntimeException'
    ? 'IllegalStateException'
    : 'IllegalArgumentException',
);

type Rules = Partial<Record<EditKind, LineRule[]>>;

const JS_RULES: Rules = {
  off_by_one: OFF_BY_ONE,
  none_guard: [
    ...nullChecks('(?:null|undefined)'),
    swap(/(?<=\btypeof\s+[\w$.[\]]+\s+)(?:===|!==|==|!=)(?= )/, (m) => flipEquality(m[0])),
    swap(/\?\.(?=[A-Za-z_$])/, '.'),
    swap(/ \?\? /, ' || '),
  ],
  exception: [JS_ERRORS],
  boolean: BOOLEAN,
  return_value: [negateReturn(/\)\s*:\s*boolean\b|:\s*boolean\s*=>/)],
};

export const LINE_RULES: Record<BraceLanguage, Rules> = {
  javascript: JS_RULES,
  typescript: JS_RULES,
  go: {
    off_by_one: OFF_BY_ONE,
    none_guard: nullChecks('nil'),
    exception: [goUnwrap, swap(/\berrors\.Is\(([\w.]+), ([\w.]+)\)/, (m) => `${m[1]} == ${m[2]}`)],
    validation: [goDropError],
    boolean: BOOLEAN,
    return_value: [negateReturn(/\)\s*bool\s*\{?\s*$/)],
  },
  rust: {
    off_by_one: [...OFF_BY_ONE, ...RUST_RANGES],
    none_guard: [
      swap(/\.is_none\(\)/, '.is_some()'),
      swap(/\.is_some\(\)/, '.is_none()'),
      swap(/(?<= )==(?= None\b)/, '!='),
      swap(/(?<= )!=(?= None\b)/, '=='),
    ],
    exception: [
      swap(/\)\?(?=[\s;.),]|$)/, ').unwrap()'),
      swap(/\.is_ok\(\)/, '.is_err()'),
      swap(/\.is_err\(\)/, '.is_ok()'),
    ],
    boolean: BOOLEAN,
    return_value: [negateReturn(/->\s*bool\b/)],
  },
  java: {
    off_by_one: OFF_BY_ONE,
    none_guard: [
      ...nullChecks('null'),
      swap(/\bObjects\.isNull\(/, 'Objects.nonNull('),
      swap(/\bObjects\.nonNull\(/, 'Objects.isNull('),
    ],
    exception: [JAVA_EXCEPTIONS],
    boolean: BOOLEAN,
    return_value: [negateReturn(/\bboolean\s+[\w$]+\s*\(/)],
  },
};
