import { FIX_STEPS_CLOSE, FIX_STEPS_OPEN } from '../agent/side-prompts';
import { bracePr, braceJudge, patchLanguages } from './brace-review';
import { SYMPTOMS } from './categories';
import { languageOf } from './languages';
import type { EditKind } from './python-edits';

/**
 * The teacher's two side answers: the judge and the PR description of rollout 1's edit, each
 * between output tags. The judge asks one question of a patch, is it a meaningful change, whether
 * it gets the patch (the spec's judge) or rollout 1's steps (the authors' judge: the patch is the
 * diff the submit review showed). Python's answers are as they always were; the brace languages
 * have theirs in brace-review.ts.
 */
function changedLines(patch: string): string[] {
  return patch
    .split('\n')
    .filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---)( |$)/.test(l))
    .map((l) => l.slice(1).trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const tagged = (answer: string): string => `<output>${answer}</output>`;

function judgePatch(patch: string): 'yes' | 'no' {
  if (patchLanguages(patch).some((l) => l !== 'python')) return braceJudge(patch);
  return changedLines(patch).length > 0 ? 'yes' : 'no';
}

/** The spec's judge: the patch is in the prompt. */
export function judge(user: string): string {
  return tagged(judgePatch(/<patch>\n?([\s\S]*?)<\/patch>/.exec(user)?.[1] ?? ''));
}

/** The authors' judge: the last diff a submit showed in the steps; no diff, no fix. */
export function judgeSteps(user: string): string {
  const review = stepsOf(user)
    .filter((s) => actionOf(s)?.name === 'submit')
    .map((s) => diffIn(s.observation ?? ''))
    .filter((d) => d !== '')
    .pop();
  return tagged(review ? judgePatch(review) : 'no');
}

interface Step {
  action?: string;
  observation?: string;
  response?: string;
}

/** The steps JSON between the fix_steps tags ([] when it does not parse). */
function stepsOf(user: string): Step[] {
  // The tags on lines of their own: the prompt's words mention them too.
  const open = `\n${FIX_STEPS_OPEN}\n`;
  const start = user.indexOf(open);
  const end = user.lastIndexOf(`\n${FIX_STEPS_CLOSE}`);
  if (start < 0 || end < start) return [];
  try {
    const steps = JSON.parse(user.slice(start + open.length, end)) as unknown;
    return Array.isArray(steps) ? (steps as Step[]) : [];
  } catch {
    return [];
  }
}

interface Action {
  name?: string;
  arguments?: { command?: string; path?: string; old_str?: string; new_str?: string };
}

function actionOf(step: Step): Action | undefined {
  try {
    return JSON.parse(step.action ?? '') as Action;
  } catch {
    return undefined;
  }
}

/** The diff a submit review shows: between <diff> tags, or from the first `diff --git` on. */
function diffIn(observation: string): string {
  const inTags = /<diff>\n?([\s\S]*?)<\/diff>/.exec(observation)?.[1];
  if (inTags !== undefined) return inTags;
  const at = observation.indexOf('diff --git ');
  return at < 0 ? '' : observation.slice(at);
}

/**
 * The function rollout 1 changed, as the teacher named it in its own answers ("I will change `f`
 * around line 3", "I will find `f` first"), or failing those from its Python locate command.
 */
function functionNamed(steps: Step[]): string | undefined {
  for (const pattern of [/I will change `([^`]+)` around line/, /I will find `([^`]+)` first/]) {
    const found = steps.map((s) => pattern.exec(s.response ?? '')?.[1]).find(Boolean);
    if (found) return found;
  }
  return steps
    .map((s) => /grep -n "def (\w+)"/.exec(actionOf(s)?.arguments?.command ?? '')?.[1])
    .find(Boolean);
}

/** Reads rollout 1's edit out of the steps and describes its symptom, naming where it shows. */
export function writePr(user: string): string {
  const steps = stepsOf(user);
  const edit = steps
    .map(actionOf)
    .filter((a) => a?.name === 'str_replace_editor' && a.arguments?.command === 'str_replace')
    .pop()?.arguments;
  const functionName = functionNamed(steps);
  if (!functionName || !edit?.path || !edit.old_str || edit.new_str === undefined) {
    return tagged('\nA function in this library behaves unexpectedly.\n');
  }
  const file = edit.path;
  const language = languageOf(file);
  if (language !== 'python')
    return tagged(`\n${bracePr(functionName, file, language, edit.old_str, edit.new_str)}\n`);
  const kind = classify(edit.old_str, edit.new_str);
  const anchor =
    kind === 'rename_local'
      ? /_value\b/.test(edit.new_str)
        ? renamedName(edit.old_str, edit.new_str)
        : ''
      : firstChangedLine(edit.old_str, edit.new_str);
  return tagged(
    [
      '',
      `\`${functionName}\` in \`${file}\` ${SYMPTOMS[kind]}.`,
      '',
      `I narrowed it down to this part of \`${functionName}\`: \`${anchor}\``,
      '',
    ].join('\n'),
  );
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
