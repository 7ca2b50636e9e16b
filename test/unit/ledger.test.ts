import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countDuplicates, foldLedger, readLedger } from '../../activities/common/ledger';
import { mergeLedgerEntries, type LedgerEntry } from '../../core/sft/sample-record';
import { LocalArtifactStore } from '../../infra/local-artifact-store';

const root = mkdtempSync(path.join(os.tmpdir(), 'sera-ledger-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const accepted = (index: number, patch?: string): LedgerEntry => ({
  index,
  record: `sha256:${String(index).padStart(64, '0')}`,
  accepted: true,
  ...(patch ? { patch } : {}),
});

describe('the ledger as its readers see it', () => {
  it('applies the duplicate rule to entries with a patch key: the lowest index keeps it, whatever the chunk order', () => {
    const merged = mergeLedgerEntries([
      accepted(7, 'aaaa'),
      { index: 2, record: 'sha256:r2', accepted: false, reason: 'recall_below_threshold' },
      accepted(5, 'bbbb'),
      accepted(3, 'aaaa'),
      accepted(9, 'bbbb'),
      accepted(4),
    ]);
    expect(merged.map((e) => [e.index, e.accepted, e.reason])).toEqual([
      [2, false, 'recall_below_threshold'],
      [3, true, undefined],
      [4, true, undefined],
      [5, true, undefined],
      [7, false, 'duplicate_patch'],
      [9, false, 'duplicate_patch'],
    ]);
  });

  it('leaves entries without a patch key as written, corrections applied (ledgers of runs that decided duplicates themselves)', () => {
    const merged = mergeLedgerEntries([
      accepted(1),
      accepted(2),
      { index: 1, accepted: false, reason: 'duplicate_patch' },
    ]);
    expect(merged).toEqual([
      { index: 1, record: accepted(1).record, accepted: false, reason: 'duplicate_patch' },
      accepted(2),
    ]);
  });

  it('expands chunk indexes, nested too, in order, reads the same ledger as the chunks themselves, and folds flat', async () => {
    const store = new LocalArtifactStore(root);
    const put = async (value: unknown): Promise<string> =>
      (await store.put(JSON.stringify(value), 'application/json')).id;
    const chunks = [
      await put([accepted(0, 'k0'), accepted(1, 'k1')]),
      await put([accepted(3, 'k0'), { index: 2, accepted: false, reason: 'sample_failed' }]),
      await put([accepted(4, 'k4')]),
    ];
    const inner = await put({ ledgerChunks: chunks.slice(0, 2) });
    const outer = await put({ ledgerChunks: [inner, chunks[2]] });
    // A fold flattens the index it is given with the chunks after it, as a run's next fold does.
    const flat = await put(
      await foldLedger(store, [await put({ ledgerChunks: chunks.slice(0, 2) }), chunks[2]!]),
    );
    expect(await foldLedger(store, [flat])).toEqual({ ledgerChunks: chunks });
    expect(await readLedger(store, [flat])).toEqual(await readLedger(store, chunks));
    const viaIndex = await readLedger(store, [outer]);
    expect(viaIndex).toEqual(await readLedger(store, chunks));
    expect(viaIndex.map((e) => [e.index, e.accepted, e.reason])).toEqual([
      [0, true, undefined],
      [1, true, undefined],
      [2, false, 'sample_failed'],
      [3, false, 'duplicate_patch'],
      [4, true, undefined],
    ]);
    // The run's end counts them without reading the ledger into one list: the same number.
    expect(await countDuplicates(store, [outer])).toBe(
      viaIndex.filter((e) => e.reason === 'duplicate_patch').length,
    );
  });
});
