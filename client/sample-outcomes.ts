import type { ArtifactStore } from '../core/artifacts';
import { readLedger } from '../activities/common/ledger';
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
  const lines: string[] = [];
  for (const entry of await readLedger(store, generation.ledger)) {
    const record = entry.record
      ? (JSON.parse((await store.get(entry.record)).toString('utf8')) as {
          rollout1?: { patch?: { id: string } };
          rollout2?: { patch?: { id: string } };
          recall?: number;
        })
      : undefined;
    const fate = entry.accepted ? 'accepted' : `rejected ${entry.reason}`;
    lines.push(
      `#${entry.index} ${fate} patch1 ${record?.rollout1?.patch?.id ?? '-'} patch2 ${record?.rollout2?.patch?.id ?? '-'} recall ${record?.recall ?? '-'}`,
    );
  }
  return lines;
}
