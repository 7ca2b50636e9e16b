/**
 * The judge's and the PR writer's way of asking again, as the SERA authors' pipeline does: a reply
 * whose answer cannot be read is asked again, the judge each time with a further quarter of the
 * earliest steps left out; a prompt the server finds too long for its context is shortened the
 * same way instead of losing the sample. The PR writer starts from the steps the judge kept.
 */
import { stepsDropped } from './agent/steps';
import type { TrajectoryStep } from './agent/side-prompts';
import type { TokenUsage } from './agent/trajectory';

export type Ask = (prompt: string) => Promise<{ text: string; usage: TokenUsage }>;

export interface AskAgainOptions<T> {
  steps: TrajectoryStep[];
  /** Quarter-cuts already made (the PR writer starts where the judge ended). */
  shortenings?: number;
  /** Calls at most. */
  tries: number;
  prompt: (steps: TrajectoryStep[]) => string;
  read: (answer: string) => T | undefined;
  ask: Ask;
  isOverflow: (error: unknown) => boolean;
  /** The judge also leaves out a further quarter after an unreadable answer; the PR writer asks again as it was. */
  shortenWhenUnreadable: boolean;
}

export interface AskAgainResult<T> {
  value?: T;
  /** Quarter-cuts made by the end: the last prompt left out `stepsDropped(steps, shortenings)` steps. */
  shortenings: number;
  dropped: number;
  calls: number;
  unreadable: number;
  overflows: number;
  usage: TokenUsage;
  /** The start of the last answer, for the sample's record. */
  lastAnswer?: string;
}

export async function askAgainShorter<T>(options: AskAgainOptions<T>): Promise<AskAgainResult<T>> {
  const total = options.steps.length;
  const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  let shortenings = options.shortenings ?? 0;
  let calls = 0;
  let unreadable = 0;
  let overflows = 0;
  let lastAnswer: string | undefined;
  const shorten = (): boolean => {
    const before = stepsDropped(total, shortenings);
    shortenings += 1;
    return stepsDropped(total, shortenings) > before;
  };
  while (calls < options.tries) {
    const dropped = stepsDropped(total, shortenings);
    calls += 1;
    let text: string;
    try {
      const reply = await options.ask(options.prompt(options.steps.slice(dropped)));
      usage.promptTokens += reply.usage.promptTokens;
      usage.completionTokens += reply.usage.completionTokens;
      text = reply.text;
    } catch (error) {
      if (!options.isOverflow(error)) throw error;
      overflows += 1;
      // Nothing more to leave out: asking again would send the same prompt.
      if (!shorten()) break;
      continue;
    }
    lastAnswer = text.slice(0, 300);
    const value = options.read(text);
    if (value !== undefined)
      return { value, shortenings, dropped, calls, unreadable, overflows, usage, lastAnswer };
    unreadable += 1;
    if (options.shortenWhenUnreadable) shorten();
  }
  return {
    shortenings,
    dropped: stepsDropped(total, shortenings),
    calls,
    unreadable,
    overflows,
    usage,
    lastAnswer,
  };
}
