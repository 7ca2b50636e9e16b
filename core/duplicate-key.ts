/**
 * A rollout-1 patch's key in a run's duplicate index: 16 hex digits (64 bits) of its sha256
 * artifact id. Two different patches share a key with odds of about n²/2⁶⁵ among n accepted
 * samples (under one in 10⁹ at 80,000), and the key is a quarter of the id's size.
 */
export function duplicateKey(patchId: string): string {
  return patchId.replace(/^sha256:/, '').slice(0, 16);
}
