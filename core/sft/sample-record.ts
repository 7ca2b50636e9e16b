import { z } from 'zod';

const ArtifactRefSchema = z.object({ id: z.string(), size: z.number(), mediaType: z.string() }).loose();

const RolloutPartSchema = z
  .object({
    exitStatus: z.string(),
    trajectory: ArtifactRefSchema,
    patch: ArtifactRefSchema.optional(),
  })
  .loose();

/**
 * The part of an SVG sample record (written by the svgSample workflow) that the dataset stage
 * reads. Anything else in the record is carried along untouched.
 */
export const SampleRecordSchema = z
  .object({
    runId: z.string(),
    index: z.number().int().min(0),
    plan: z
      .object({
        template: z.number().int().min(0),
        function: z.object({ name: z.string(), file: z.string() }).loose(),
      })
      .loose(),
    accepted: z.boolean(),
    reason: z.string().optional(),
    rollout1: RolloutPartSchema.optional(),
    rollout2: RolloutPartSchema.optional(),
    verification: z.object({ recall: z.number().optional() }).loose().optional(),
  })
  .loose();

export type SampleRecord = z.output<typeof SampleRecordSchema>;

/**
 * One finished sample as the run saw it, kept in the run's ledger. A later chunk may hold a
 * second entry for an index: it corrects the first (a sample displaced as a duplicate after its
 * chunk was written), field by field.
 */
export interface LedgerEntry {
  index: number;
  /** The record artifact's id; absent when the sample workflow itself failed (or in a correction). */
  record?: string;
  accepted: boolean;
  reason?: string;
  /**
   * The duplicate key of an accepted sample's rollout-1 patch (core/duplicate-key.ts), in runs
   * whose ledger decides duplicates (patch ledger-decides-duplicates): the duplicate rule is
   * applied when the ledger is read. Absent: the run applied it before writing.
   */
  patch?: string;
}

/**
 * A ledger artifact is a chunk (a JSON array of entries) or, in runs with many segments, an index
 * of chunks: `{"ledgerChunks": [ids]}`, so the run carries one id instead of one per segment.
 */
export interface LedgerIndex {
  ledgerChunks: string[];
}

export function isLedgerIndex(parsed: unknown): parsed is LedgerIndex {
  return typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as LedgerIndex).ledgerChunks);
}

/**
 * The ledger's entries, chunk order in, one per index out (corrections applied), by index; then
 * the duplicate rule on entries that carry a patch key: of accepted samples with the same
 * rollout-1 patch, the lowest index keeps it and the others are `duplicate_patch`.
 */
export function mergeLedgerEntries(entries: readonly LedgerEntry[]): LedgerEntry[] {
  const byIndex = new Map<number, LedgerEntry>();
  for (const entry of entries) byIndex.set(entry.index, { ...byIndex.get(entry.index), ...entry });
  const merged = [...byIndex.values()].sort((a, b) => a.index - b.index);
  const held = new Set<string>();
  return merged.map((entry) => {
    if (!entry.accepted || entry.patch === undefined) return entry;
    if (!held.has(entry.patch)) {
      held.add(entry.patch);
      return entry;
    }
    return { ...entry, accepted: false, reason: 'duplicate_patch' };
  });
}
