import { LINE_RULES } from './brace-rules';
import { symptomOf } from './categories';
import { maskCode } from './code-mask';
import { languageOf, type BraceLanguage, type TeacherLanguage } from './languages';
import { EDIT_KINDS, type EditKind } from './python-edits';

/** The languages of the files a unified diff touches. */
export function patchLanguages(patch: string): TeacherLanguage[] {
  return [...patch.matchAll(/^\+\+\+ (?:b\/)?(\S+)/gm)].map((m) => languageOf(m[1] ?? ''));
}

/**
 * The judge for patches in brace languages: a changed line counts unless it is blank or a plain
 * comment. Documentation counts, as Python's docstrings do: `/** … *\/` blocks, Rust's `///`,
 * and Go's `//` lines right above a declaration.
 */
export function braceJudge(patch: string): 'yes' | 'no' {
  const lines = patch.split('\n');
  let language: TeacherLanguage = 'python';
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const file = /^\+\+\+ (?:b\/)?(\S+)/.exec(line)?.[1];
    if (file) language = languageOf(file);
    if (!/^[+-]/.test(line) || /^(\+\+\+|---)( |$)/.test(line)) continue;
    const text = line.slice(1).trim();
    if (text === '') continue;
    if (language === 'python' ? !text.startsWith('#') : counts(text, language, lines, i)) return 'yes';
  }
  return 'no';
}

function counts(text: string, language: TeacherLanguage, lines: string[], at: number): boolean {
  if (text.startsWith('///') || text.startsWith('/**') || text.startsWith('*')) return true;
  if (text.startsWith('/*')) return false;
  if (!text.startsWith('//')) return true;
  if (language !== 'go') return false;
  // A Go doc comment: the next line that is not a changed comment declares something.
  for (let j = at + 1; j < lines.length; j += 1) {
    const next = lines[j] ?? '';
    if (/^[+-]\s*\/\//.test(next)) continue;
    return /^[ +](?:func|type|var|const)\b/.test(next);
  }
  return false;
}

/** Rollout 1's edit as a PR description (without its tags): the symptom of its kind and the line it started from. */
export function bracePr(
  functionName: string,
  file: string,
  language: BraceLanguage,
  oldStr: string,
  newStr: string,
): string {
  const kind = classifyBraceEdit(language, oldStr, newStr);
  const anchor = kind === 'rename_local' ? renamedFrom(oldStr, newStr) : firstChanged(oldStr, newStr);
  return [
    `\`${functionName}\` in \`${file}\` ${symptomOf(kind, language)}.`,
    '',
    `I narrowed it down to this part of \`${functionName}\`: ${codeSpan(anchor)}`,
  ].join('\n');
}

/** Markdown inline code that may itself hold backquotes (template literals). */
function codeSpan(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function firstChanged(oldStr: string, newStr: string): string {
  const o = oldStr.split('\n');
  const n = newStr.split('\n');
  return (o.find((line, i) => line !== n[i]) ?? o[0] ?? '').trim();
}

/** The local a rename_local edit renamed (`name` → `nameValue`, Rust `name_value`), if any. */
function renamedFrom(oldStr: string, newStr: string): string {
  const found = [...newStr.matchAll(/(?<![\w$])([A-Za-z_$][\w$]*?)(?:Value|_value)(?![\w$])/g)].find(
    (m) => !oldStr.includes(m[0]) && oldStr.includes(m[1] ?? '\u0000'),
  );
  return found?.[1] ?? '';
}

/** Which kind of edit turned oldStr into newStr: the rule that makes the first changed line. */
export function classifyBraceEdit(language: BraceLanguage, oldStr: string, newStr: string): EditKind {
  if (renamedFrom(oldStr, newStr) !== '') return 'rename_local';
  if (newStr.includes('not cached') && !oldStr.includes('not cached')) return 'docstring';
  const o = oldStr.split('\n');
  const n = newStr.split('\n');
  if (o.length !== n.length) return 'validation';
  const at = o.findIndex((line, i) => line !== n[i]);
  const before = o[at] ?? '';
  const after = n[at] ?? '';
  if (/\breturn\s+!\(/.test(after) && !/\breturn\s+!\(/.test(before)) return 'return_value';
  const context = { signature: '', previous: maskCode(o[at - 1] ?? 'if x {', language) };
  const code = maskCode(before, language);
  const made = EDIT_KINDS.find((kind) =>
    (LINE_RULES[language][kind] ?? []).some((rule) => rule(code, before, context) === after),
  );
  return made ?? 'off_by_one';
}
