/**
 * How many samples a generation accepted, whichever version of svgRun wrote its result: runs
 * before the compact-run-state patch listed every accepted sample, later ones give a count.
 */
export function acceptedCountOf(result: { acceptedCount?: number; accepted?: readonly unknown[] }): number {
  return result.acceptedCount ?? result.accepted?.length ?? 0;
}
