/**
 * Joins calls with the same key while one is in flight: the first call does the work, later ones
 * wait for its result. A settled call is forgotten, so a failure is tried again by the next call.
 * (A host builds an image once when several solves of one base commit claim it at the same time.)
 */
export function singleFlight<V>(): (key: string, work: () => Promise<V>) => Promise<V> {
  const inFlight = new Map<string, Promise<V>>();
  return (key, work) => {
    const running = inFlight.get(key);
    if (running) return running;
    const started = work().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  };
}
