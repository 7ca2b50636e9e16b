import { describe, expect, it } from 'vitest';
import {
  capacityRefusal,
  ClaimBook,
  containerCap,
  hostLoad,
  RESERVATION_TTL_MS,
  type CountedContainer,
} from '../../core/host-capacity';

const running = (workflowId: string): CountedContainer => ({ workflowId, state: 'running' });

describe('containerCap', () => {
  it('is the host queue concurrency unless SERA_SANDBOX_MAX_CONTAINERS is set', () => {
    expect(containerCap(8, {})).toBe(8);
    expect(containerCap(8, { SERA_SANDBOX_MAX_CONTAINERS: '' })).toBe(8);
    expect(containerCap(8, { SERA_SANDBOX_MAX_CONTAINERS: '24' })).toBe(24);
  });

  it('refuses a value that is not a whole number of at least 1, naming the variable', () => {
    for (const raw of ['0', '-3', '2.5', 'many'])
      expect(() => containerCap(8, { SERA_SANDBOX_MAX_CONTAINERS: raw })).toThrow(
        `SERA_SANDBOX_MAX_CONTAINERS=${JSON.stringify(raw)}: expected a whole number of at least 1`,
      );
  });
});

describe('hostLoad', () => {
  const now = 1_000_000;

  it('counts running containers only', () => {
    const containers = [
      running('a'),
      running('b'),
      { workflowId: 'c', state: 'exited' },
      // The repository copy's source container: created, never started.
      { workflowId: 'd', state: 'created' },
    ];
    expect(hostLoad(containers, [], now)).toBe(2);
  });

  it('adds granted claims whose workflow has no running container yet', () => {
    const reservations = [
      { workflowId: 'a', at: now - 1000 },
      { workflowId: 'x', at: now - 1000 },
      { workflowId: 'y', at: now },
    ];
    // 'a' already runs its container: it counts once.
    expect(hostLoad([running('a')], reservations, now)).toBe(3);
  });

  it('drops claims older than the reservation time', () => {
    const reservations = [
      { workflowId: 'old', at: now - RESERVATION_TTL_MS },
      { workflowId: 'fresh', at: now - RESERVATION_TTL_MS + 1 },
    ];
    expect(hostLoad([], reservations, now)).toBe(1);
  });
});

describe('capacityRefusal', () => {
  it('lets a claim in below the cap', () => {
    expect(capacityRefusal('host-a', 0, 1)).toBeUndefined();
    expect(capacityRefusal('host-a', 7, 8)).toBeUndefined();
  });

  it('refuses at or above the cap, naming the host, the count and the cap', () => {
    for (const load of [8, 9]) {
      const refusal = capacityRefusal('host-a', load, 8);
      expect(refusal).toContain('sandbox host host-a');
      expect(refusal).toContain(`runs ${load} containers`);
      expect(refusal).toContain('cap of 8');
    }
  });
});

describe('ClaimBook', () => {
  it('keeps one reservation per workflow, the latest', () => {
    let clock = 0;
    const book = new ClaimBook(() => clock);
    book.reserve('a');
    clock = 50;
    book.reserve('a');
    book.reserve('b');
    expect(book.list()).toEqual([
      { workflowId: 'a', at: 50 },
      { workflowId: 'b', at: 50 },
    ]);
    book.release('a');
    expect(book.list()).toEqual([{ workflowId: 'b', at: 50 }]);
  });

  it('forgets expired reservations as new ones come', () => {
    let clock = 0;
    const book = new ClaimBook(() => clock);
    book.reserve('a');
    clock = RESERVATION_TTL_MS;
    book.reserve('b');
    expect(book.list().map((r) => r.workflowId)).toEqual(['b']);
  });

  it('fills a host to its cap and no further when claims come at once', () => {
    const book = new ClaimBook(() => 0);
    const granted: string[] = [];
    for (const id of ['w1', 'w2', 'w3', 'w4']) {
      if (capacityRefusal('h', hostLoad([running('old')], book.list(), 0), 3) === undefined) {
        book.reserve(id);
        granted.push(id);
      }
    }
    expect(granted).toEqual(['w1', 'w2']);
  });
});
