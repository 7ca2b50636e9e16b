import type { ArtifactStore } from '../../core/artifacts';
import { isLedgerIndex, mergeLedgerEntries, type LedgerEntry } from '../../core/sft/sample-record';

/** Every entry of the ledger artifacts, chunk by chunk, chunk indexes expanded in place. */
async function rawEntries(store: ArtifactStore, ids: readonly string[]): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for (const id of ids) {
    const parsed: unknown = JSON.parse((await store.get(id)).toString('utf8'));
    if (isLedgerIndex(parsed)) entries.push(...(await rawEntries(store, parsed.ledgerChunks)));
    else entries.push(...(parsed as LedgerEntry[]));
  }
  return entries;
}

/**
 * A run's ledger as its readers need it (the dataset build, the manifest, the sample outcomes):
 * one entry per sample in index order, corrections and the duplicate rule applied.
 */
export async function readLedger(store: ArtifactStore, ids: readonly string[]): Promise<LedgerEntry[]> {
  return mergeLedgerEntries(await rawEntries(store, ids));
}

/** The ids of a run's ledger chunks, its chunk indexes expanded (in order). */
export async function ledgerChunkIds(store: ArtifactStore, ids: readonly string[]): Promise<string[]> {
  const chunks: string[] = [];
  for (const id of ids) {
    const parsed: unknown = JSON.parse((await store.get(id)).toString('utf8'));
    if (isLedgerIndex(parsed)) chunks.push(...(await ledgerChunkIds(store, parsed.ledgerChunks)));
    else chunks.push(id);
  }
  return chunks;
}

/**
 * How many accepted entries the duplicate rule turns away, read chunk by chunk without holding the
 * ledger: a run that decides duplicates in its ledger writes each index once, so the count is the
 * accepted entries with a patch key less the distinct keys (a million samples: a set of keys).
 */
export async function countDuplicates(store: ArtifactStore, ids: readonly string[]): Promise<number> {
  const keys = new Set<string>();
  let keyed = 0;
  for (const chunk of await ledgerChunkIds(store, ids)) {
    for (const entry of JSON.parse((await store.get(chunk)).toString('utf8')) as LedgerEntry[]) {
      if (!entry.accepted || entry.patch === undefined) continue;
      keyed += 1;
      keys.add(entry.patch);
    }
  }
  return keyed - keys.size;
}
