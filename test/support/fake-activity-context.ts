import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { noopMetricMeter } from '@temporalio/common';

export interface FakeActivityRun<T> {
  value: T;
  /** Every heartbeat the code sent, with its details. */
  heartbeats: unknown[];
}

/**
 * Runs `fn` as if it were an activity (Context.current() answers), recording its heartbeats:
 * code that heartbeats through the context is tested without a worker or a server. Every fake
 * activity belongs to the same (fake) workflow run, so a container one makes is another's to use.
 */
export async function inFakeActivity<T>(
  fn: () => Promise<T>,
  info: Partial<Info> = {},
): Promise<FakeActivityRun<T>> {
  const heartbeats: unknown[] = [];
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
  const context = new Context(
    {
      attempt: 1,
      activityType: 'fake',
      heartbeatTimeoutMs: 30_000,
      workflowExecution: { workflowId: 'fake-activity', runId: `fake-${process.pid}` },
      ...info,
    } as Info,
    new Promise<never>(() => undefined),
    new AbortController().signal,
    (details?: unknown) => heartbeats.push(details),
    undefined,
    quiet,
    noopMetricMeter,
    {},
  );
  const value = await asyncLocalStorage.run(context, fn);
  return { value, heartbeats };
}
