import type { ArtifactStore } from '../core/artifacts';
import type { LedgerEntry } from '../core/sft/sample-record';
import type { SvgRunResult } from '../workflows/svg-run';

/**
 * Every finished sample's fate and patches, one line each in index order: what "the same
 * samples" means when two runs of one config are compared (the drill, and the tests that run a
 * config twice).
 */
export async function sampleOutcomes(
  store: ArtifactStore,
  generation: Pick<SvgRunResult, 'ledger'>,
): Promise<string[]> {
  const out: Array<{ index: number; line: string }> = [];
  for (const chunk of generation.ledger) {
    for (const entry of JSON.parse((await store.get(chunk)).toString('utf8')) as LedgerEntry[]) {
      const record = entry.record
        ? (JSON.parse((await store.get(entry.record)).toString('utf8')) as {
            rollout1?: { patch?: { id: string } };
            rollout2?: { patch?: { id: string } };
            recall?: number;
          })
        : undefined;
      const fate = entry.accepted ? 'accepted' : `rejected ${entry.reason}`;
      out.push({
        index: entry.index,
        line: `#${entry.index} ${fate} patch1 ${record?.rollout1?.patch?.id ?? '-'} patch2 ${record?.rollout2?.patch?.id ?? '-'} recall ${record?.recall ?? '-'}`,
      });
    }
  }
  return out.sort((a, b) => a.index - b.index).map((o) => o.line);
}
