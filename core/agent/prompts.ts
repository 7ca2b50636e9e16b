/**
 * The words the agent sees. The teacher (any model) gets a system message, then one task
 * message: the repository's path and the task text, asking for a minimal change to non-test files.
 */
import { languageTitles } from '../languages';

export const REPO_DIR = '/repo';

export type TaskKind = 'change' | 'reproduce' | 'solve';

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

/**
 * Rollout 1 gets a vague instruction; rollout 2 gets a PR description. An evaluation task gets
 * rollout 2's words: SERA's point is that rollout 2 looks like the task the student is tested on.
 */
export function taskMessage(kind: TaskKind, text: string): string {
  const intro =
    kind === 'change'
      ? `The repository is uploaded at ${REPO_DIR}. Here is the task:`
      : `The repository is uploaded at ${REPO_DIR}. Consider the following pull request description:`;
  return [
    intro,
    '',
    '<task>',
    text.trim(),
    '</task>',
    '',
    'Make the smallest change to non-test files that does this. Do not modify or add tests.',
  ].join('\n');
}

export const TASK_OPEN = '<task>';
export const TASK_CLOSE = '</task>';
