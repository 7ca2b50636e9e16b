import { describe, expect, it } from 'vitest';
import { singleFlight } from '../../core/single-flight';

describe('singleFlight', () => {
  it('runs the work once for calls with the same key in flight, and separately for other keys', async () => {
    const once = singleFlight<string>();
    let runs = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const work = (value: string) => async () => {
      runs += 1;
      await gate;
      return value;
    };
    const calls = [once('a', work('first')), once('a', work('second')), once('b', work('other'))];
    release();
    expect(await Promise.all(calls)).toEqual(['first', 'first', 'other']);
    expect(runs).toBe(2);
  });

  it('forgets a settled call, so a failure is tried again', async () => {
    const once = singleFlight<number>();
    await expect(once('k', () => Promise.reject(new Error('build failed')))).rejects.toThrow('build failed');
    expect(await once('k', () => Promise.resolve(2))).toBe(2);
  });
});
