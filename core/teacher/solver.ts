import { parsePatch } from 'diff';
import { TASK_CLOSE, TASK_OPEN } from '../agent/prompts';
import type { ChatMessage } from '../agent/trajectory';
import type { TeacherReply } from './policy';
import { SeededRandom } from './random';

/**
 * The offline teacher's solving mode: a TEST INSTRUMENT, not a model. The harness hands the
 * teacher server the evaluation instances with their reference changes (a private fixture: it is
 * read in the server's process and never put in the agent's sandbox). When a rollout's task holds
 * one of their problem statements, a draw from (instance, request seed, model name) against the
 * model's solve rate says whether this run solves it. A run that solves writes the reference
 * change through the agent's own bash tool (`git apply` of each file's part) and submits; a run
 * that does not falls back to the ordinary teacher's seeded, wrong edit. So an evaluation sees
 * real `resolved` grades that differ by seed and by "model", through the whole solve → grade path.
 */

/** One evaluation instance as the solver needs it. */
export interface ReferenceInstance {
  instanceId: string;
  problemStatement: string;
  /** The reference change, a `git diff`. */
  patch: string;
}

/** A reference instance ready to be applied: the bash commands that write its change, in order. */
export interface Solution {
  instanceId: string;
  statement: string;
  steps: ApplyStep[];
}

export interface ApplyStep {
  command: string;
  /** The files this step changes (the last chunk of a big file names it). */
  files: string[];
}

/**
 * Patch bytes one bash call carries. Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN)
 * and the sandbox runs a command as `bash -c <command>`; 24 KiB stays far below it and still
 * fits the example set's release diffs (up to 58 KB) in three calls, leaving room in a 12-call run.
 */
export const STEP_BUDGET_BYTES = 24 * 1024;
/** The most bytes a produced command may have, whatever the patch: well below 128 KiB. */
export const MAX_COMMAND_BYTES = 64 * 1024;
/** Where a file too big for one call is gathered in pieces: outside the repository, so never in the diff. */
const GATHER_FILE = '/tmp/sera-reference.patch';

const byteLength = (text: string): number => new TextEncoder().encode(text).length;

/**
 * The patch cut at each `diff --git` header, every part verbatim (text before the first header,
 * such as a commit message, is left out); a patch without such headers is one part.
 */
export function splitByFile(patch: string): Array<{ file: string; text: string }> {
  const starts = [...patch.matchAll(/^diff --git /gm)].map((m) => m.index);
  const cuts = starts.length > 0 ? starts : [0];
  return cuts
    .map((start, i) => patch.slice(start, cuts[i + 1] ?? patch.length))
    .filter((text) => text.trim() !== '')
    .map((text) => ({ file: fileOf(text), text }));
}

function fileOf(part: string): string {
  const parsed = parsePatch(part)[0];
  const name =
    parsed?.newFileName && parsed.newFileName !== '/dev/null' ? parsed.newFileName : parsed?.oldFileName;
  const fromHeader = /^diff --git a\/(\S+) b\//.exec(part)?.[1];
  return (name ?? fromHeader ?? '(unnamed)').replace(/^[ab]\//, '');
}

/** A heredoc delimiter that no line of `text` equals, so the quoted heredoc ends where it should. */
export function heredocDelimiter(text: string): string {
  const lines = new Set(text.split(/\r?\n/));
  for (let n = 0; ; n += 1) {
    const delimiter = n === 0 ? 'SERA_REFERENCE_EOF' : `SERA_REFERENCE_EOF_${n}`;
    if (!lines.has(delimiter)) return delimiter;
  }
}

/** `command <<'D'` … `D`: the quoted delimiter keeps `$`, backquotes and backslashes as they are. */
function heredoc(command: string, text: string): string {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  const delimiter = heredocDelimiter(body);
  return `${command} <<'${delimiter}'\n${body}${delimiter}`;
}

const APPLY = 'git apply --verbose --whitespace=nowarn';

/** Cuts text at line ends into pieces of at most `budget` bytes (a longer single line is a piece alone). */
function piecesOf(text: string, budget: number): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const line of text.split(/(?<=\n)/)) {
    if (current && byteLength(current) + byteLength(line) > budget) {
      pieces.push(current);
      current = '';
    }
    current += line;
  }
  if (current) pieces.push(current);
  return pieces;
}

/**
 * The bash commands that write a reference change: files packed in order into calls of at most
 * `budget` patch bytes, each file applied from its own heredoc (`git apply --verbose` names it in
 * the observation); a file bigger than the budget is gathered in a temporary file over several
 * calls and applied by the last.
 */
export function applySteps(patch: string, budget = STEP_BUDGET_BYTES): ApplyStep[] {
  const steps: ApplyStep[] = [];
  let group: Array<{ file: string; text: string }> = [];
  const flush = (): void => {
    if (group.length === 0) return;
    steps.push({
      command: ['set -e', ...group.map((part) => heredoc(APPLY, part.text))].join('\n'),
      files: group.map((part) => part.file),
    });
    group = [];
  };
  for (const part of splitByFile(patch)) {
    const size = byteLength(part.text);
    if (size > budget) {
      flush();
      const pieces = piecesOf(part.text, budget);
      pieces.forEach((piece, i) => {
        const write = heredoc(`cat ${i === 0 ? '>' : '>>'} ${GATHER_FILE}`, piece);
        const last = i === pieces.length - 1;
        steps.push({
          command: last
            ? ['set -e', write, `${APPLY} ${GATHER_FILE}`, `rm -f ${GATHER_FILE}`].join('\n')
            : write,
          files: last ? [part.file] : [],
        });
      });
      continue;
    }
    if (group.length > 0 && byteLength(group.map((p) => p.text).join('')) + size > budget) flush();
    group.push(part);
  }
  flush();
  for (const step of steps)
    if (byteLength(step.command) > MAX_COMMAND_BYTES)
      throw new Error(`a solver command of ${byteLength(step.command)} bytes is over ${MAX_COMMAND_BYTES}`);
  return steps;
}

export function solutionsFor(
  instances: readonly ReferenceInstance[],
  budget = STEP_BUDGET_BYTES,
): Solution[] {
  return instances.map((instance) => ({
    instanceId: instance.instanceId,
    statement: instance.problemStatement.trim(),
    steps: applySteps(instance.patch, budget),
  }));
}

/** The task between the task tags of the first user message, if there is one. */
function taskOf(messages: readonly ChatMessage[]): string | undefined {
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  const open = user.indexOf(TASK_OPEN);
  const close = user.indexOf(TASK_CLOSE, open);
  if (open < 0 || close < 0) return undefined;
  return user.slice(open + TASK_OPEN.length, close);
}

/** The instance whose problem statement the task holds (the longest, should one contain another). */
export function recognise(task: string, solutions: readonly Solution[]): Solution | undefined {
  return solutions
    .filter((s) => s.statement !== '' && task.includes(s.statement))
    .sort((a, b) => b.statement.length - a.statement.length)[0];
}

/**
 * Whether a run solves its instance: one uniform draw from (instance, seed, model) against the
 * model's rate. A rate of 0 never solves, 1 always does; the model's name is in the draw, so two
 * "models" differ instance by instance, not only in how many they solve.
 */
export function solvesRun(instanceId: string, seed: number, model: string, rate: number): boolean {
  return new SeededRandom('solve', model, instanceId, seed).next() < rate;
}

interface IssuedCall {
  name: string;
  command?: string;
}

function issuedCalls(messages: readonly ChatMessage[]): IssuedCall[] {
  const calls: IssuedCall[] = [];
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const call of m.tool_calls ?? []) {
      let command: string | undefined;
      try {
        const args = JSON.parse(call.function.arguments) as { command?: unknown };
        if (typeof args.command === 'string') command = args.command;
      } catch {
        // A garbled call of its own carries no command; it counts as a call all the same.
      }
      calls.push({ name: call.function.name, ...(command !== undefined ? { command } : {}) });
    }
  }
  return calls;
}

export interface SolveRequest {
  seed: number;
  /** The model the request names; its solve rate is `rates[model]` (none: it never solves). */
  model: string;
}

/**
 * The next reply of a run that solves, or undefined when this run does not solve (the ordinary
 * teacher answers then). Stateless, as the teacher is: a run that already applied a step of the
 * reference change goes on with it whatever the seed of this request (a retry asks with the seed
 * plus its attempt); a run that began another way never turns into a solving one.
 */
export function solverReply(
  messages: readonly ChatMessage[],
  request: SolveRequest,
  solutions: readonly Solution[],
  rates: Readonly<Record<string, number>>,
): TeacherReply | undefined {
  const task = taskOf(messages);
  const solution = task === undefined ? undefined : recognise(task, solutions);
  if (!solution || solution.steps.length === 0) return undefined;
  const calls = issuedCalls(messages);
  const planned = new Set(solution.steps.map((s) => s.command));
  const lastApplied = calls.findLastIndex((c) => c.name === 'bash' && planned.has(c.command ?? ''));
  if (lastApplied < 0) {
    if (calls.length > 0) return undefined;
    if (!solvesRun(solution.instanceId, request.seed, request.model, rates[request.model] ?? 0))
      return undefined;
  }
  const issued = new Set(calls.map((c) => c.command));
  const next = solution.steps.findIndex((s) => !issued.has(s.command));
  const step = solution.steps[next];
  if (step) {
    const what = step.files.length > 0 ? step.files.join(', ') : 'a large file, in pieces';
    return {
      content: `Applying the change (${next + 1}/${solution.steps.length}): ${what}.`,
      toolCalls: [{ name: 'bash', arguments: { command: step.command } }],
    };
  }
  // The authors' scaffold answers the first submit with a review; the second submits.
  const reviewed = calls.slice(lastApplied + 1).some((c) => c.name === 'submit');
  return {
    content: reviewed
      ? 'The diff is the whole change; submitting.'
      : 'The change is in; let me review the diff.',
    toolCalls: [{ name: 'submit', arguments: {} }],
  };
}
