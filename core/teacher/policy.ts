import { EDITED } from '../agent/editor';
import { parseBugInstruction } from '../agent/instructions';
import { TASK_CLOSE, TASK_OPEN } from '../agent/prompts';
import { PATCH_JUDGE_LEAD, PR_WRITER_LEAD, TRAJECTORY_JUDGE_LEAD } from '../agent/side-prompts';
import type { ChatMessage, ToolCallRecord } from '../agent/trajectory';
import { editKindsFor, symptomOf } from './categories';
import { editCandidatesIn } from './edits';
import { habitsFor } from './habits';
import { languageOf, TEACHER_LANGUAGES } from './languages';
import { EDIT_KINDS, stripLineNumbers, type EditCandidate, type EditKind } from './python-edits';
import { SeededRandom } from './random';
import { judge, judgeSteps, writePr } from './review';

/**
 * The offline teacher's mind: from a chat request it decides the next reply, deterministically.
 * It is stateless (everything it knows is in the messages) and acts through the same tool calls a
 * real model would make. It knows Python (python-edits.ts) and the brace languages JavaScript,
 * TypeScript, Go, Rust and Java (brace-edits.ts), told apart by the file's extension.
 */
export interface TeacherSettings {
  /** Chance that rollout 2 reproduces each changed line of the described change. */
  fidelity: number;
}

export interface TeacherReply {
  content: string | null;
  toolCalls: Array<{ name: string; arguments: Record<string, unknown> }>;
}

/** How much of the file it reads from the function's first line. */
const VIEW_LINES = 150;

interface PastCall {
  name: string;
  args: Record<string, unknown>;
  observation: string;
}

export function teacherReply(
  messages: ChatMessage[],
  seed: number,
  hasTools: boolean,
  settings: TeacherSettings,
): TeacherReply {
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  if (hasTools && user.includes(TASK_OPEN)) return rolloutStep(messages, user, seed, settings);
  if (user.startsWith(TRAJECTORY_JUDGE_LEAD)) return { content: judgeSteps(user), toolCalls: [] };
  if (user.startsWith(PATCH_JUDGE_LEAD)) return { content: judge(user), toolCalls: [] };
  if (user.startsWith(PR_WRITER_LEAD)) return { content: writePr(user), toolCalls: [] };
  return {
    content: 'I can help with repository tasks given with tools, patch reviews and PR descriptions.',
    toolCalls: [],
  };
}

function pastCalls(messages: ChatMessage[]): PastCall[] {
  const observations = new Map<string, string>();
  for (const m of messages) if (m.role === 'tool') observations.set(m.tool_call_id, m.content);
  const calls: PastCall[] = [];
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const call of m.tool_calls ?? []) calls.push(toPastCall(call, observations.get(call.id) ?? ''));
  }
  return calls;
}

function toPastCall(call: ToolCallRecord, observation: string): PastCall {
  let args: Record<string, unknown> = {};
  try {
    args = JSON.parse(call.function.arguments) as Record<string, unknown>;
  } catch {
    // A garbled call of its own: it is in the history with its error observation, nothing more.
  }
  return { name: call.function.name, args, observation };
}

const bash = (command: string): TeacherReply['toolCalls'][number] => ({
  name: 'bash',
  arguments: { command },
});
const editor = (args: Record<string, unknown>): TeacherReply['toolCalls'][number] => ({
  name: 'str_replace_editor',
  arguments: args,
});
const say = (content: string, call: TeacherReply['toolCalls'][number]): TeacherReply => ({
  content,
  toolCalls: [call],
});

interface Plan {
  functionName: string;
  file: string;
  /**
   * Candidates in the order the teacher tries them; `near` is the 0-based line of `source` where
   * the function was found (it picks among functions of the same plain name).
   */
  choose(source: string, attempt: number, near?: number): EditCandidate | undefined;
}

function taskText(user: string): string {
  return user.slice(user.indexOf(TASK_OPEN) + TASK_OPEN.length, user.indexOf(TASK_CLOSE)).trim();
}

export function changePlan(task: string, seed: number): Plan | undefined {
  const parsed = parseBugInstruction(task);
  if (!parsed) return undefined;
  return editPlan(parsed.functionName, parsed.file, parsed.category, new SeededRandom(seed, task));
}

/** Edits of the kinds that fit a bug category, in an order the seed shuffles. */
function editPlan(functionName: string, file: string, category: string, random: SeededRandom): Plan {
  const kinds = editKindsFor(category);
  // The seed picks among the category's kinds; the others stay as fallbacks.
  const preferred = kinds.slice(0, 3);
  const first = random.pick(preferred) ?? preferred[0];
  const order = [first, ...kinds.filter((k) => k !== first)].filter((k): k is EditKind => Boolean(k));
  const offset = Math.floor(random.next() * 1000);
  return {
    functionName,
    file,
    choose(source, attempt, near) {
      for (const kind of order) {
        const candidates = editCandidatesIn(file, source, functionName, [kind], near);
        if (candidates.length === 0) continue;
        if (attempt < candidates.length) return candidates[(offset + attempt) % candidates.length];
        attempt -= candidates.length;
      }
      return undefined;
    },
  };
}

/** Functions an issue text names, as Sphinx roles (:func:`x`) or in backquotes, in order. */
export function namedFunctions(task: string): string[] {
  const names = [...task.matchAll(/:(?:func|meth|class):`~?([\w.]+)`|``?([A-Za-z_]\w*)\(\)?``?/g)]
    .map((m) => (m[1] ?? m[2] ?? '').split('.').pop() ?? '')
    .filter((n) => /^[A-Za-z_]\w*$/.test(n));
  return [...new Set(names)];
}

const MAX_SOLVE_LOOKUPS = 4;
const locateCommand = (name: string): string =>
  `grep -rn "def ${name}(" --include=*.py --exclude-dir=tests . | head -5`;

/**
 * An evaluation task (an issue, no bug instruction): the teacher looks for the functions the text
 * names, in an order the seed decides, and changes the first one it finds as it would in
 * rollout 1. It cannot read an issue for meaning; its patches are wrong, but real and seeded.
 */
function solveStep(task: string, seed: number, calls: PastCall[], random: SeededRandom): Plan | TeacherReply {
  const names = random.shuffle(namedFunctions(task)).slice(0, MAX_SOLVE_LOOKUPS);
  for (const name of names) {
    const lookup = calls.find((c) => c.name === 'bash' && c.args.command === locateCommand(name));
    if (!lookup) return say(`The issue mentions \`${name}\`; let me find it.`, bash(locateCommand(name)));
    const file = /^(?:\.\/)?([^:\n]+\.py):\d+:/m.exec(lookup.observation.replace(/^OBSERVATION:\n/, ''))?.[1];
    if (file) return editPlan(name, file, '', new SeededRandom(seed, task, name));
  }
  return say('I found nothing I could change for this issue, so I submit as it is.', {
    name: 'submit',
    arguments: {},
  });
}

const PR_LOCATION = /`([\w.$]+)` in `([^`]+)` /;
// Code holding backquotes is quoted between double ones (brace-review.ts).
const PR_ANCHOR = /this part of `[\w.$]+`: (?:`` (.+?) ``|`([^`]+)`)/;

export function reproducePlan(task: string, seed: number, settings: TeacherSettings): Plan | undefined {
  const location = PR_LOCATION.exec(task);
  if (!location?.[1] || !location[2]) return undefined;
  const file = location[2];
  const language = languageOf(file);
  const kind =
    EDIT_KINDS.find((k) => task.includes(symptomOf(k, language))) ??
    EDIT_KINDS.find((k) => TEACHER_LANGUAGES.some((l) => task.includes(symptomOf(k, l))));
  const quoted = PR_ANCHOR.exec(task);
  const anchor = quoted?.[1] ?? quoted?.[2];
  const functionName = location[1];
  const random = new SeededRandom(seed, task, 'reproduce');
  return {
    functionName,
    file,
    choose(source, attempt, near) {
      const all = editCandidatesIn(file, source, functionName, [...EDIT_KINDS], near);
      const ofKind = all.filter((c) => c.kind === kind);
      // The quoted code names the place; failing an exact match, any edit of that kind around it.
      const target =
        ofKind.find((c) => c.anchor === anchor) ??
        ofKind.find((c) => anchor && c.oldStr.includes(anchor)) ??
        ofKind[0];
      const others = all.filter((c) => c !== target);
      const ordered = target ? [faithful(target, random, settings.fidelity, others), ...others] : all;
      return ordered[attempt];
    },
  };
}

/** Reproduces each changed line with chance `fidelity`; a miss on a one-line edit edits elsewhere. */
function faithful(
  target: EditCandidate,
  random: SeededRandom,
  fidelity: number,
  others: EditCandidate[],
): EditCandidate {
  const oldLines = target.oldStr.split('\n');
  const newLines = target.newStr.split('\n');
  const changed = oldLines.map((line, i) => line !== newLines[i]).filter(Boolean).length;
  if (changed <= 1 || oldLines.length !== newLines.length) {
    return random.next() < fidelity ? target : (random.pick(others) ?? target);
  }
  const kept = newLines.map((line, i) =>
    line !== oldLines[i] && random.next() >= fidelity ? (oldLines[i] ?? line) : line,
  );
  if (kept.join('\n') === target.oldStr)
    kept[newLines.findIndex((l, i) => l !== oldLines[i])] = newLines.find((l, i) => l !== oldLines[i]) ?? '';
  return { ...target, newStr: kept.join('\n') };
}

function rolloutStep(
  messages: ChatMessage[],
  user: string,
  seed: number,
  settings: TeacherSettings,
): TeacherReply {
  const task = taskText(user);
  const reproducing = PR_LOCATION.test(task) && !parseBugInstruction(task);
  const calls = pastCalls(messages);
  const random = new SeededRandom(seed, task, calls.length);
  let plan = reproducing ? reproducePlan(task, seed, settings) : changePlan(task, seed);
  if (!plan) {
    if (calls.some((c) => c.name === 'submit')) return say('Submitting.', { name: 'submit', arguments: {} });
    const step = solveStep(task, seed, calls, new SeededRandom(seed, task, 'solve'));
    if (!('functionName' in step)) return step;
    plan = step;
  }
  const { file, functionName } = plan;
  const habits = habitsFor(file, functionName);

  if (!calls.some((c) => c.name === 'bash' && habits.isLocate(String(c.args.command)))) {
    return say(`I will find \`${functionName}\` first.`, bash(habits.locate));
  }
  // An imperfect habit: sometimes it also looks at the callers, which a careful engineer might skip.
  const lookedAtCallers = calls.some(
    (c) => c.name === 'bash' && String(c.args.command).startsWith('grep -rn "'),
  );
  if (calls.length === 1 && !lookedAtCallers && random.next() < 0.3) {
    return say('Who calls it?', bash(habits.callers));
  }
  const located = calls.find((c) => c.name === 'bash' && habits.isLocate(String(c.args.command)));
  const defLine = habits.definitionLine(located?.observation ?? '');
  const view = [...calls]
    .reverse()
    .find(
      (c) =>
        c.name === 'str_replace_editor' &&
        c.args.command === 'view' &&
        c.args.path === file &&
        c.observation.includes('\t'),
    );
  if (!view) {
    return say(
      `Now the function itself.`,
      editor({ command: 'view', path: file, view_range: [habits.viewStart(defLine), defLine + VIEW_LINES] }),
    );
  }
  const source = stripLineNumbers(view.observation.split('\n').slice(1).join('\n'));
  const range = view.args.view_range;
  const near = Math.max(0, defLine - (Array.isArray(range) ? Number(range[0]) || 1 : 1));

  const edits = calls.filter((c) => c.name === 'str_replace_editor' && c.args.command === 'str_replace');
  const lastEditIndex = calls.findLastIndex(
    (c) =>
      c.name === 'str_replace_editor' && c.args.command === 'str_replace' && c.observation.includes(EDITED),
  );
  const after = lastEditIndex >= 0 ? calls.slice(lastEditIndex + 1) : [];
  const undone = after.some((c) => c.name === 'str_replace_editor' && c.args.command === 'undo_edit');
  if (lastEditIndex >= 0 && !undone) {
    const check = after.find((c) => c.name === 'bash' && habits.isCheck(String(c.args.command)));
    if (!check) return say('Does it still compile?', bash(habits.check));
    if (!habits.checkPassed(check.observation))
      return say('That broke the file; undoing it.', editor({ command: 'undo_edit', path: file }));
    const submits = after.filter((c) => c.name === 'submit').length;
    return say(submits === 0 ? 'Let me review the diff.' : 'The diff is what I meant; submitting.', {
      name: 'submit',
      arguments: {},
    });
  }
  const candidate = plan.choose(source, edits.length, near);
  if (!candidate)
    return say('I found nothing to change here; submitting as is.', { name: 'submit', arguments: {} });
  return say(
    `I will change \`${functionName}\` around line ${candidate.line}.`,
    editor({ command: 'str_replace', path: file, old_str: candidate.oldStr, new_str: candidate.newStr }),
  );
}
