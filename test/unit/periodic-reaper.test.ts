import { describe, expect, it } from 'vitest';
import { reapIntervalSeconds } from '../../workers/periodic-reaper';

describe('the sandbox worker container sweep interval', () => {
  it('defaults to ten minutes and takes 0 for off', () => {
    expect(reapIntervalSeconds({})).toBe(600);
    expect(reapIntervalSeconds({ SERA_REAP_INTERVAL_SECONDS: '0' })).toBe(0);
    expect(reapIntervalSeconds({ SERA_REAP_INTERVAL_SECONDS: '45' })).toBe(45);
  });

  it('refuses a value that is not a number of seconds, naming the variable', () => {
    expect(() => reapIntervalSeconds({ SERA_REAP_INTERVAL_SECONDS: 'soon' })).toThrow(
      /SERA_REAP_INTERVAL_SECONDS must be a whole number of seconds/,
    );
    expect(() => reapIntervalSeconds({ SERA_REAP_INTERVAL_SECONDS: '-5' })).toThrow(/not "-5"/);
    expect(() => reapIntervalSeconds({ SERA_REAP_INTERVAL_SECONDS: '2.5' })).toThrow(/whole number/);
    // Past Node's longest timer the sweep would run without pause.
    expect(() => reapIntervalSeconds({ SERA_REAP_INTERVAL_SECONDS: '3000000' })).toThrow(/up to 2000000/);
  });
});
