/**
 * The judge of rollout 1 and the synthetic PR writer, as the svg activities run them: prompts from
 * core/agent/side-prompts.ts, asked again and shortened as core/judge-attempts.ts says, answers read
 * from the final answer only (chatOnce keeps reasoning apart).
 */
import type { ModelSettings } from '../../core/agent/rollout-input';
import {
  extractPrDescription,
  judgeAnswer,
  judgePrompt,
  prDescriptionPrompt,
  trajectoryJudgePrompt,
  type JudgeStyle,
} from '../../core/agent/side-prompts';
import { taskPromptOf, trajectorySteps } from '../../core/agent/steps';
import type { Trajectory } from '../../core/agent/trajectory';
import { askAgainShorter, type Ask, type AskAgainResult } from '../../core/judge-attempts';
import { SeededRandom } from '../../core/teacher/random';
import { chatOnce } from './chat';
import { isContextOverflow } from './model-errors';

/** A prompt too long for the server's context, as the raw error or as the failure chatOnce made of it. */
export function promptTooLong(error: unknown): boolean {
  if (isContextOverflow(error)) return true;
  const cause = error instanceof Error ? error.cause : undefined;
  return cause !== undefined && isContextOverflow(cause);
}

const askModel =
  (model: ModelSettings): Ask =>
  async (prompt) => {
    const { text, usage } = await chatOnce(model, prompt);
    return { text, usage };
  };

export interface JudgeOutcome extends Omit<AskAgainResult<'yes' | 'no'>, 'value'> {
  answer?: 'yes' | 'no';
  /** Steps of rollout 1 (before any were left out). */
  steps: number;
}

/**
 * `authors`: the task message and rollout 1's steps, "is the final change a valid fix that fits
 * the task?"; each unreadable answer or prompt too long leaves out a further quarter of the
 * earliest steps. `spec`: the patch, "is it a meaningful change?", asked again as it is.
 */
export async function judgeTrajectory(input: {
  trajectory: Trajectory;
  patch: string;
  style: JudgeStyle;
  tries: number;
  model: ModelSettings;
  ask?: Ask;
}): Promise<JudgeOutcome> {
  const ask = input.ask ?? askModel(input.model);
  const steps = trajectorySteps(input.trajectory);
  const task = taskPromptOf(input.trajectory);
  const outcome = await askAgainShorter({
    steps,
    tries: input.tries,
    prompt: (kept) => (input.style === 'spec' ? judgePrompt(input.patch) : trajectoryJudgePrompt(task, kept)),
    read: judgeAnswer,
    ask,
    isOverflow: promptTooLong,
    shortenWhenUnreadable: input.style === 'authors',
  });
  const { value, ...rest } = outcome;
  return { ...rest, ...(value ? { answer: value } : {}), steps: steps.length };
}

/** `count` issues of the pool in an order the seed decides (all of them when count ≥ the pool). */
export function pickDemonstrations(
  pool: readonly string[],
  count: number,
  seed: ReadonlyArray<string | number>,
): string[] {
  return new SeededRandom('demonstrations', ...seed).shuffle(pool).slice(0, Math.max(1, count));
}

export interface PrOutcome extends Omit<AskAgainResult<string>, 'value'> {
  description?: string;
  /** The demonstrations the prompt showed, as indexes into the pool. */
  demonstrations: number[];
}

/**
 * Rollout 1's steps from where the judge left off (`shortenings` quarter-cuts) and the chosen
 * demonstrations; an answer without output tags is asked again as it was, a prompt too long
 * leaves out a further quarter.
 */
export async function writeSyntheticPr(input: {
  trajectory: Trajectory;
  pool: readonly string[];
  demonstrations: number;
  seed: ReadonlyArray<string | number>;
  shortenings: number;
  tries: number;
  model: ModelSettings;
  ask?: Ask;
}): Promise<PrOutcome> {
  const chosen = pickDemonstrations(input.pool, input.demonstrations, input.seed);
  const outcome = await askAgainShorter({
    steps: trajectorySteps(input.trajectory),
    shortenings: input.shortenings,
    tries: input.tries,
    prompt: (kept) => prDescriptionPrompt(kept, chosen),
    read: extractPrDescription,
    ask: input.ask ?? askModel(input.model),
    isOverflow: promptTooLong,
    shortenWhenUnreadable: false,
  });
  const { value, ...rest } = outcome;
  return {
    ...rest,
    ...(value ? { description: value } : {}),
    demonstrations: chosen.map((d) => input.pool.indexOf(d)),
  };
}
