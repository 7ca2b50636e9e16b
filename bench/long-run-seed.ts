import { duplicateKey } from '../core/duplicate-key';
import type { ArtifactStore } from '../core/artifacts';
import type { LedgerEntry, LedgerIndex } from '../core/sft/sample-record';
import { hash32 } from '../core/teacher/random';
import type { SvgRunState } from '../workflows/svg-run';

/** An id shaped like an artifact id (sha256: and 64 hex digits), as the stand-in samples make. */
function fakeId(seed: string): string {
  let out = '';
  for (let i = 0; out.length < 64; i += 1) out += hash32(`${seed}/${i}`).toString(16).padStart(8, '0');
  return `sha256:${out.slice(0, 64)}`;
}

/**
 * The state a generation carries after `finished` samples (`--long-start-at`), so the benchmark
 * runs the tail of a run that size with the real workflow: the counters, and a ledger of
 * `finished` entries in chunks of `perChunk` (as the segments would have written them) folded
 * into one chunk index, in the store the workers read. Entries follow the stand-in samples' odds
 * (bench/long-run-workflows.ts): 60 % accepted, 2 % of them sharing one of seven patches.
 */
export async function seededRunState(
  store: ArtifactStore,
  options: { finished: number; perChunk: number; seed: number; concurrency: number },
  progress: (line: string) => void,
): Promise<SvgRunState> {
  const chunks: string[] = [];
  let accepted = 0;
  let rejected = 0;
  for (let start = 0; start < options.finished; start += options.perChunk) {
    const entries: LedgerEntry[] = [];
    for (let index = start; index < Math.min(start + options.perChunk, options.finished); index += 1) {
      const roll = hash32(`${options.seed}:${index}`) % 100;
      const record = fakeId(`record-${index}`);
      if (roll < 60) {
        accepted += 1;
        const patch = fakeId(roll < 2 ? `dup-${index % 7}` : `p-${options.seed}-${index}`);
        entries.push({ index, record, accepted: true, patch: duplicateKey(patch) });
      } else {
        rejected += 1;
        entries.push({ index, record, accepted: false, reason: 'recall_below_threshold' });
      }
    }
    chunks.push((await store.put(JSON.stringify(entries), 'application/json')).id);
    if (chunks.length % 500 === 0)
      progress(`seeded ledger: ${chunks.length} chunks, ${start + options.perChunk} samples`);
  }
  const index: LedgerIndex = { ledgerChunks: chunks };
  return {
    cursor: options.finished,
    finished: options.finished,
    accepted: {},
    acceptedSeen: accepted,
    rejected: rejected > 0 ? { recall_below_threshold: rejected } : {},
    recallHistogram: Array.from({ length: 10 }, () => 0),
    tokens: 0,
    costUsd: 0,
    concurrency: options.concurrency,
    paused: false,
    startedAt: Date.now(),
    ledger: [(await store.put(JSON.stringify(index), 'application/json')).id],
  };
}
