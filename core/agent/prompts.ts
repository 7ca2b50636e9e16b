/**
 * The words the agent sees. The teacher (any model) gets a system message, then one task
 * message: the repository's path and the task text. Two styles:
 * - `authors` (default): as the SERA authors' scaffold asks, the task comes with a way of working
 *   (read the code, reproduce the problem with a script, edit, rerun the script, think about edge
 *   cases), minimal changes to non-test files, and room for long thinking; rollout 1's vague
 *   instruction is framed as a possible problem in or around the function it names;
 * - `spec`: the one-line request for a minimal change to non-test files that SERA's summary gives.
 */
import { languageTitles } from '../languages';

export const REPO_DIR = '/repo';

export type TaskKind = 'change' | 'reproduce' | 'solve';

export const PROMPT_STYLES = ['authors', 'spec'] as const;
export type PromptStyle = (typeof PROMPT_STYLES)[number];

/** "a TypeScript repository", "a Go and Python repository"; "a repository" when none is known. */
function repositoryPhrase(languages: readonly string[]): string {
  const titles = languageTitles(languages);
  if (!titles) return 'a repository';
  return `${/^[AEIOU]/i.test(titles) ? 'an' : 'a'} ${titles} repository`;
}

/** The system message, naming the repository's languages (from the run's config or the index). */
export function systemPrompt(languages: readonly string[] = []): string {
  return [
    `You are a software engineer working in ${repositoryPhrase(languages)} inside a sandbox.`,
    'Use the tools to explore the code, make your change and check it. Every tool result comes back',
    'as an observation. When you are done, call submit: the first call shows your diff for review,',
    'the second submits it.',
  ].join(' ');
}

export const TASK_OPEN = '<task>';
export const TASK_CLOSE = '</task>';

export interface TaskMessageOptions {
  /** The repository's languages: with exactly one, the reproduce step says how to run a script in it. */
  languages?: readonly string[];
  style?: PromptStyle;
}

/**
 * Rollout 1 gets a vague instruction; rollout 2 gets a PR description. An evaluation task gets
 * rollout 2's words: SERA's point is that rollout 2 looks like the task the student is tested on.
 */
export function taskMessage(kind: TaskKind, text: string, options: TaskMessageOptions = {}): string {
  return (options.style ?? 'authors') === 'spec'
    ? specTaskMessage(kind, text)
    : authorsTaskMessage(kind, text, options.languages ?? []);
}

function specTaskMessage(kind: TaskKind, text: string): string {
  const intro =
    kind === 'change'
      ? `The repository is uploaded at ${REPO_DIR}. Here is the task:`
      : `The repository is uploaded at ${REPO_DIR}. Consider the following pull request description:`;
  return [
    intro,
    '',
    TASK_OPEN,
    text.trim(),
    TASK_CLOSE,
    '',
    'Make the smallest change to non-test files that does this. Do not modify or add tests.',
  ].join('\n');
}

function authorsTaskMessage(kind: TaskKind, text: string, languages: readonly string[]): string {
  const intro =
    kind === 'change'
      ? `A code repository is uploaded at ${REPO_DIR}. Someone using it reported a possible problem:`
      : `A code repository is uploaded at ${REPO_DIR}. Here is a pull request description about it:`;
  const framing =
    kind === 'change'
      ? [
          '',
          'The report is only a lead. What goes wrong may be in the function it names, or in code that',
          'function calls or that calls it.',
        ]
      : [];
  return [
    intro,
    '',
    TASK_OPEN,
    text.trim(),
    TASK_CLOSE,
    ...framing,
    '',
    `Change the code in ${REPO_DIR} so that the problem described above is fixed. The tests are taken`,
    'care of already, so leave test files alone. Keep your changes to non-test files as small as you can.',
    '',
    'A way of working that helps:',
    '1. Find the code involved and read it.',
    `2. ${reproduceStep(languages)}`,
    '3. Edit the source code to fix the problem.',
    '4. Run your script again and check that the problem is gone.',
    '5. Think about edge cases and make sure your change handles them as well.',
    '',
    'Take your time: thinking at length before you act is fine.',
  ].join('\n');
}

/** How to run a throwaway script, for the one language a repository is written in. */
const SCRIPT_RUNS: Record<string, string> = {
  python: 'for example `reproduce.py`, run with `python reproduce.py`',
  javascript: 'for example `reproduce.js`, run with `node reproduce.js`',
  typescript: 'for example `reproduce.ts`, run with `npx tsx reproduce.ts` (or a `.js` file with `node`)',
  go: 'for example a small `main` package in `reproduce/main.go`, run with `go run ./reproduce`',
  rust: 'for example `examples/reproduce.rs`, run with `cargo run --example reproduce`',
  java: 'for example `Reproduce.java`, run with `java Reproduce.java`',
};

function reproduceStep(languages: readonly string[]): string {
  const distinct = [...new Set(languages.map((l) => l.toLowerCase()))];
  const run = distinct.length === 1 ? SCRIPT_RUNS[distinct[0] ?? ''] : undefined;
  return run
    ? `Write a short script that shows the problem (${run}) and run it with the bash tool to see the error.`
    : 'Write a short script that shows the problem and run it with the bash tool to see the error.';
}

/**
 * What the first call of submit answers. `authors`: the diff, with the request to rerun the
 * reproduction script if the code changed since, remove the script(s), put test files back with
 * `git checkout -- <file>`, then call submit again. `spec`: the diff alone.
 */
export function submitReview(diff: string, style: PromptStyle = 'authors'): string {
  if (diff.trim() === '')
    return 'There are no changes to submit yet. Call submit again to submit an empty change, or make your change first.';
  if (style === 'spec') return `Here is your change. Review it; call submit again to submit it.\n\n${diff}`;
  return [
    'Before the change is submitted, go through these steps:',
    '1. If you changed the code after you last ran your reproduction script, run the script again. If the',
    '   problem is still there, go back to your change. (Skip this if you have removed the script already.)',
    '2. Delete the reproduction script(s) you wrote.',
    '3. Undo any change you made to test files with `git checkout -- <file>`; the diff below shows which',
    '   files you changed.',
    '4. Call submit again.',
    '',
    'All of your changes so far:',
    '',
    '<diff>',
    diff.replace(/\n$/, ''),
    '</diff>',
  ].join('\n');
}
