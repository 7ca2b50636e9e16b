import { z } from 'zod';
import type { ArtifactStore } from '../../core/artifacts';
import type { SvgSampleSummary } from '../../workflows/svg-sample';
import { activityContext } from '../common/activity-context';
import { readNamedJson, runRecordFolder } from './record-names';

// Kept here too: the escaping began with this record, and its callers import it from here.
export { nameSegment } from './record-names';

/*
 * A run's finished samples, kept in the artifact store by name: every sample of an svgRun writes
 * its summary under `runs/<run workflow id>/samples/<index>.json` when it finishes, and a resume
 * reads them there. Temporal forgets a closed sample after the namespace's retention (or a
 * `temporal workflow delete`); the store keeps what the sample made, and now its summary too.
 */

/** What a finished-sample record holds (docs/formats.md, "Finished-sample record"). */
const FinishedSampleSchema = z.object({
  runWorkflowId: z.string(),
  summary: z
    .object({
      index: z.number().int().nonnegative(),
      accepted: z.boolean(),
      tokens: z.number(),
      costUsd: z.number(),
      record: z.object({ id: z.string() }).passthrough(),
    })
    .passthrough(),
});

interface FinishedSample {
  runWorkflowId: string;
  summary: SvgSampleSummary;
}

/** Where sample `index` of the run with workflow id `runWorkflowId` keeps its summary. */
export function finishedSampleName(runWorkflowId: string, index: number): string {
  return `${runRecordFolder(runWorkflowId)}/samples/${index}.json`;
}

/** Keeps a finished sample's summary; writing it again (a retried activity) is harmless. */
export async function writeFinishedSample(
  store: ArtifactStore,
  runWorkflowId: string,
  summary: SvgSampleSummary,
): Promise<void> {
  const record: FinishedSample = { runWorkflowId, summary };
  await store.putNamed(finishedSampleName(runWorkflowId, summary.index), JSON.stringify(record, null, 2));
}

/**
 * Sample `index`'s summary if the run recorded it finished. A record that is not one (or names
 * another run or index) counts as absent, so the caller looks elsewhere or makes the sample again
 * rather than reuse something it cannot trust.
 */
export async function readFinishedSample(
  store: ArtifactStore,
  runWorkflowId: string,
  index: number,
): Promise<SvgSampleSummary | undefined> {
  const name = finishedSampleName(runWorkflowId, index);
  const found = await readNamedJson(store, name);
  if (!found) return undefined;
  const record = FinishedSampleSchema.safeParse(found.value);
  if (!record.success || record.data.runWorkflowId !== runWorkflowId || record.data.summary.index !== index) {
    activityContext()?.log.warn(`finished-sample record ${name} is not readable; it is left out`);
    return undefined;
  }
  // The schema checks the fields a resume relies on and keeps the rest as written by svgSample.
  return record.data.summary as unknown as SvgSampleSummary;
}
