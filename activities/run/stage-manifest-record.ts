import { z } from 'zod';
import type { ArtifactStore } from '../../core/artifacts';
import { LIFECYCLE_STAGES, type StageRecord } from '../../core/lifecycle-stages';
import { activityContext } from '../common/activity-context';
import { readNamedJson, runRecordFolder } from './record-names';

/*
 * A specialization's stage manifest, kept in the artifact store by name as well as in its memo:
 * every manifest write (each stage's end, and the generation's start) replaces
 * `runs/<workflow id>/stages.json`, so a resume finds the stages an earlier run finished after
 * Temporal has forgotten that run (retention, `temporal workflow delete`). A run that failed or
 * was cancelled midway left the record of its last write: every stage it finished.
 */

/**
 * What a manifest record holds (docs/formats.md, "Stage-manifest record"). `status` is the run's
 * status when the record was written, as far as the run knew it: `COMPLETED` once the report
 * stage is in, `RUNNING` before (a run that failed later never wrote again).
 */
const ManifestRecordSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  status: z.enum(['RUNNING', 'COMPLETED']),
  writtenAt: z.string(),
  /** The manifest artifact the run's memo names (stageManifest). */
  manifest: z.string(),
  stages: z.array(
    z
      .object({
        stage: z.enum(LIFECYCLE_STAGES),
        status: z.enum(['finished', 'reused', 'started']),
        key: z.string(),
        workflowId: z.string(),
        seconds: z.number(),
        // Optional said outright: zod 4 requires an unknown() key (a started stage and the report have none).
        result: z.unknown().optional(),
      })
      .passthrough(),
  ),
});

export interface ManifestRecord {
  workflowId: string;
  /** Temporal's run id of the run that wrote it. */
  runId: string;
  status: 'RUNNING' | 'COMPLETED';
  writtenAt: string;
  manifest: string;
  stages: StageRecord[];
}

/** Where the specialization with workflow id `workflowId` keeps its latest stage manifest. */
export function manifestRecordName(workflowId: string): string {
  return `${runRecordFolder(workflowId)}/stages.json`;
}

/** The status a run's manifest shows: the report is the last stage, written just before it returns. */
export function statusOfStages(stages: readonly StageRecord[]): ManifestRecord['status'] {
  return stages.some((s) => s.stage === 'report' && s.status === 'finished') ? 'COMPLETED' : 'RUNNING';
}

/** Replaces the run's record with its latest manifest; writing it again (a retried activity) is harmless. */
export async function writeManifestRecord(
  store: ArtifactStore,
  record: Omit<ManifestRecord, 'status' | 'writtenAt'>,
): Promise<void> {
  const full: ManifestRecord = {
    ...record,
    status: statusOfStages(record.stages),
    writtenAt: new Date().toISOString(),
  };
  await store.putNamed(manifestRecordName(record.workflowId), JSON.stringify(full, null, 2));
}

/**
 * The latest manifest recorded for `workflowId`. A record that is not one (or names another
 * workflow) counts as absent: a resume then redoes the stages rather than trust it.
 */
export async function readManifestRecord(
  store: ArtifactStore,
  workflowId: string,
): Promise<ManifestRecord | undefined> {
  const name = manifestRecordName(workflowId);
  const found = await readNamedJson(store, name);
  if (!found) return undefined;
  const record = ManifestRecordSchema.safeParse(found.value);
  if (!record.success || record.data.workflowId !== workflowId) {
    activityContext()?.log.warn(`stage-manifest record ${name} is not readable; it is left out`);
    return undefined;
  }
  // The schema checks what reusableStage reads; `result` stays as the stage returned it.
  return record.data as ManifestRecord;
}
