// A tiny workflow for the payload encryption test: its input, activity input and result, heartbeat
// details, a signal and a query all carry the caller's text, so the test can look for it in the
// stored history. It runs on a test queue of its own, never on the project's queues.
import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from './payload-codec-activities';

export const CODEC_TEST_QUEUE = 'payload-codec-test';
export const revealSignal = defineSignal<[string]>('reveal');
export const revealedQuery = defineQuery<string | undefined>('revealed');

const { echoText } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

export async function echoSecret(input: { text: string }): Promise<{ echoed: string; revealed: string }> {
  let revealed: string | undefined;
  setHandler(revealSignal, (text) => {
    revealed = text;
  });
  setHandler(revealedQuery, () => revealed);
  const echoed = await echoText(input.text);
  await condition(() => revealed !== undefined);
  return { echoed, revealed: revealed ?? '' };
}
