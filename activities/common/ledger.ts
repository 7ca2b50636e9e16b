import type { ArtifactStore } from '../../core/artifacts';
import {
  isLedgerIndex,
  mergeLedgerEntries,
  type LedgerEntry,
  type LedgerIndex,
} from '../../core/sft/sample-record';

/**
 * Reads each ledger artifact once, in order, and hands every chunk's entries to `visit`; a chunk
 * index stands for the artifacts it lists.
 */
async function eachChunk(
  store: ArtifactStore,
  ids: readonly string[],
  visit: (entries: LedgerEntry[]) => void,
): Promise<void> {
  for (const id of ids) {
    const parsed: unknown = JSON.parse((await store.get(id)).toString('utf8'));
    if (isLedgerIndex(parsed)) await eachChunk(store, parsed.ledgerChunks, visit);
    else visit(parsed as LedgerEntry[]);
  }
}

/**
 * A run's ledger as its readers need it (the dataset build, the manifest, the sample outcomes):
 * one entry per sample in index order, corrections and the duplicate rule applied.
 */
export async function readLedger(store: ArtifactStore, ids: readonly string[]): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  await eachChunk(store, ids, (chunk) => entries.push(...chunk));
  return mergeLedgerEntries(entries);
}

/**
 * How many accepted entries the duplicate rule turns away, read chunk by chunk without holding the
 * ledger: a run that decides duplicates in its ledger writes each index once, so the count is the
 * accepted entries with a patch key less the distinct keys (a million samples: a set of keys).
 */
export async function countDuplicates(store: ArtifactStore, ids: readonly string[]): Promise<number> {
  const keys = new Set<string>();
  let keyed = 0;
  await eachChunk(store, ids, (chunk) => {
    for (const entry of chunk) {
      if (!entry.accepted || entry.patch === undefined) continue;
      keyed += 1;
      keys.add(entry.patch);
    }
  });
  return keyed - keys.size;
}

/**
 * One flat chunk index for a run's ledger ids: an index among them gives its list (indexes are
 * written flat, by this function), a chunk itself. Only the ids given are read, and only to tell
 * an index (a JSON object) from a chunk (an array), so a fold costs the same however long the
 * ledger already is.
 */
export async function foldLedger(store: ArtifactStore, ids: readonly string[]): Promise<LedgerIndex> {
  const ledgerChunks: string[] = [];
  for (const id of ids) {
    const text = (await store.get(id)).toString('utf8');
    if (!text.trimStart().startsWith('{')) {
      ledgerChunks.push(id);
      continue;
    }
    const parsed: unknown = JSON.parse(text);
    if (isLedgerIndex(parsed)) ledgerChunks.push(...parsed.ledgerChunks);
    else ledgerChunks.push(id);
  }
  return { ledgerChunks };
}
