import { parseBugInstruction } from '../agent/instructions';
import { bracePr, braceJudge, patchLanguages } from './brace-review';
import { SYMPTOMS } from './categories';
import { languageOf } from './languages';
import type { EditKind } from './python-edits';

/**
 * The teacher's two side answers: the judge (is a patch a meaningful change?) and the PR
 * description of rollout 1's edit. Python's are as they always were; the brace languages have
 * theirs in brace-review.ts.
 */
function changedLines(patch: string): string[] {
  return patch
    .split('\n')
    .filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---)( |$)/.test(l))
    .map((l) => l.slice(1).trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export function judge(user: string): string {
  const patch = /<patch>\n?([\s\S]*?)<\/patch>/.exec(user)?.[1] ?? '';
  if (patchLanguages(patch).some((l) => l !== 'python')) return braceJudge(patch);
  return changedLines(patch).length > 0 ? 'yes' : 'no';
}

/** Reads rollout 1's edit out of the steps and describes its symptom, naming where it shows. */
export function writePr(user: string): string {
  const json = /<trajectory>\n?([\s\S]*?)<\/trajectory>/.exec(user)?.[1] ?? '[]';
  let steps: Array<{ action?: string }> = [];
  try {
    steps = JSON.parse(json) as Array<{ action?: string }>;
  } catch {
    return '<pr_description>\nSomething in this library behaves unexpectedly.\n</pr_description>';
  }
  // The task is the first step's observation; reading the whole prompt finds it wherever it is.
  const parsed = parseBugInstruction(user);
  const edit = steps
    .map((s) => {
      try {
        return JSON.parse(s.action ?? '') as {
          name?: string;
          arguments?: { command?: string; old_str?: string; new_str?: string };
        };
      } catch {
        return undefined;
      }
    })
    .filter((a) => a?.name === 'str_replace_editor' && a.arguments?.command === 'str_replace')
    .pop()?.arguments;
  if (!parsed || !edit?.old_str || edit.new_str === undefined) {
    return '<pr_description>\nA function in this library behaves unexpectedly.\n</pr_description>';
  }
  const language = languageOf(parsed.file);
  if (language !== 'python')
    return bracePr(parsed.functionName, parsed.file, language, edit.old_str, edit.new_str);
  const kind = classify(edit.old_str, edit.new_str);
  const anchor =
    kind === 'rename_local'
      ? /_value\b/.test(edit.new_str)
        ? renamedName(edit.old_str, edit.new_str)
        : ''
      : firstChangedLine(edit.old_str, edit.new_str);
  return [
    '<pr_description>',
    `\`${parsed.functionName}\` in \`${parsed.file}\` ${SYMPTOMS[kind]}.`,
    '',
    `I narrowed it down to this part of \`${parsed.functionName}\`: \`${anchor}\``,
    '</pr_description>',
  ].join('\n');
}

export function firstChangedLine(oldStr: string, newStr: string): string {
  const o = oldStr.split('\n');
  const n = newStr.split('\n');
  return (o.find((line, i) => line !== n[i]) ?? o[0] ?? '').trim();
}

function renamedName(oldStr: string, newStr: string): string {
  const m = /\b([a-z_][a-z0-9_]*)_value\b/.exec(newStr);
  return m?.[1] && oldStr.includes(m[1]) ? m[1] : '';
}

function classify(oldStr: string, newStr: string): EditKind {
  if (/_value\b/.test(newStr) && !/_value\b/.test(oldStr)) return 'rename_local';
  if (newStr.includes('not cached')) return 'docstring';
  const before = firstChangedLine(oldStr, newStr);
  const after =
    newStr
      .split('\n')
      .find((line, i) => line !== oldStr.split('\n')[i])
      ?.trim() ?? '';
  if (/^pass$/.test(after) && /^raise\b/.test(before)) return 'validation';
  if (/return not \(/.test(after)) return 'return_value';
  if (/is (not )?None/.test(before)) return 'none_guard';
  if (/except|raise/.test(before)) return 'exception';
  if (
    / and | or |True|False/.test(before) &&
    before.replace(/ and | or |True|False/g, '') === after.replace(/ and | or |True|False/g, '')
  )
    return 'boolean';
  return 'off_by_one';
}
