/**
 * The two prompts besides the rollouts: the judge of rollout 1 and the synthetic PR writer. Both
 * answer between <output> tags, and only the final answer counts: text in the model's thinking or
 * outside the tags never decides anything.
 *
 * The judge has two forms. `authors` (default): it reads rollout 1's task message and its steps,
 * and says whether the final change is a valid fix that fits the task. `spec`: it reads the patch
 * and says whether it is a meaningful change.
 */

export interface TrajectoryStep {
  action: string;
  observation: string;
  response: string;
}

export const JUDGE_STYLES = ['authors', 'spec'] as const;
export type JudgeStyle = (typeof JUDGE_STYLES)[number];

/** The first line of each prompt: what the offline teacher tells them apart by. */
export const TRAJECTORY_JUDGE_LEAD =
  'Below is the work of an engineer who was asked to fix a problem in a repository.';
export const PATCH_JUDGE_LEAD = 'Below is a patch that was made to a repository.';
export const PR_WRITER_LEAD = 'Write the text of an issue that a user of a repository might open.';

export const FIX_STEPS_OPEN = '<fix_steps>';
export const FIX_STEPS_CLOSE = '</fix_steps>';
export const TASK_PROMPT_OPEN = '<initial_prompt>';
export const TASK_PROMPT_CLOSE = '</initial_prompt>';
export const DEMO_OPEN = '<demonstration_issue>';
export const DEMO_CLOSE = '</demonstration_issue>';

/** The authors' judge: the task message rollout 1 got, and its steps as JSON. */
export function trajectoryJudgePrompt(taskPrompt: string, steps: TrajectoryStep[]): string {
  return [
    TRAJECTORY_JUDGE_LEAD,
    'The request they were given is in <initial_prompt>; every step they took (what they did, what',
    'they saw, what they said) is in <fix_steps> as JSON.',
    '',
    TASK_PROMPT_OPEN,
    taskPrompt.trim(),
    TASK_PROMPT_CLOSE,
    '',
    FIX_STEPS_OPEN,
    JSON.stringify(steps),
    FIX_STEPS_CLOSE,
    '',
    'Judge the change they ended with: is it a valid fix, and does it address what the initial prompt',
    'asks for? Answer yes or no between <output> and </output>, e.g. <output>yes</output>.',
  ].join('\n');
}

/** The spec's judge: the patch alone, "is it a meaningful change?". */
export function judgePrompt(patch: string): string {
  return [
    PATCH_JUDGE_LEAD,
    'Is it a meaningful change to the code (not empty, not only whitespace or comments)?',
    'Answer yes or no between <output> and </output>, e.g. <output>no</output>.',
    '',
    '<patch>',
    patch,
    '</patch>',
  ].join('\n');
}

/** A reasoning block left in the answer is not part of it. */
function withoutThinking(reply: string): string {
  return reply.replace(/<think>[\s\S]*?(<\/think>|$)/g, '');
}

/** The first <output>…</output> of the final answer, trimmed; undefined when there is none. */
export function outputOf(reply: string): string | undefined {
  return /<output>([\s\S]*?)<\/output>/i.exec(withoutThinking(reply))?.[1]?.trim();
}

/** yes / no from inside the output tags; anything else (no tags, another word) is unreadable. */
export function judgeAnswer(reply: string): 'yes' | 'no' | undefined {
  const word = outputOf(reply)
    ?.toLowerCase()
    .replace(/^[\s"'`*]+|[\s"'`*.!]+$/g, '');
  return word === 'yes' || word === 'no' ? word : undefined;
}

/**
 * The PR writer: rollout 1's steps as JSON and one demonstration issue, whose style, layout and
 * length the description takes. It describes what a user sees, never the fix.
 */
export function prDescriptionPrompt(steps: TrajectoryStep[], demonstrations: string[]): string {
  return [
    PR_WRITER_LEAD,
    'An engineer changed the code of the repository; their steps (what they did, what they saw, what they',
    'said) are in <fix_steps> as JSON. Write the issue a user would have opened about the behaviour that',
    'change is about, before it was made.',
    '',
    ...demonstrations.flatMap((demo) => [DEMO_OPEN, demo.trim(), DEMO_CLOSE]),
    '',
    FIX_STEPS_OPEN,
    JSON.stringify(steps),
    FIX_STEPS_CLOSE,
    '',
    'Guidelines:',
    '- Write like the demonstration issue: its style, layout, markdown, length and the small talk a person adds.',
    '- Say nothing about the fix or about what causes the problem: describe how to run into it.',
    '- Do not mention pytest or the names of tests that fail.',
    '- If you can, show how to reproduce it: what was run, what came out, what was expected instead,',
    '  written the way the demonstration would write it.',
    '- Do not write as if the problem were fixed already.',
    '- Write as a person would; if a name is needed, make one up.',
    '- Include code or a script only if the demonstration does, and in the same form.',
    '',
    'Put the issue text between <output> and </output>.',
  ].join('\n');
}

/**
 * The description from the final answer: inside <output> tags, or failing those inside
 * <pr_description> tags (the form this project's earlier prompt asked for).
 */
export function extractPrDescription(reply: string): string | undefined {
  const text =
    outputOf(reply) ??
    /<pr_description>([\s\S]*?)<\/pr_description>/.exec(withoutThinking(reply))?.[1]?.trim();
  return text ? text : undefined;
}
