import type { ArtifactStore } from '../../core/artifacts';
import type { CheckpointRecord } from '../../core/train/continue-training';
import { readNamedJson, runRecordFolder } from '../run/record-names';

/*
 * Each training keeps, by name in the artifact store, a record of its last stored checkpoint:
 * `runs/<training workflow id>/training-checkpoint.json`, replaced at every checkpoint. A later
 * run that resumes an earlier one reads it (core/train/continue-training.ts), whatever Temporal
 * still remembers of the earlier run.
 */

export function checkpointRecordName(workflowId: string): string {
  return `${runRecordFolder(workflowId)}/training-checkpoint.json`;
}

export async function writeCheckpointRecord(store: ArtifactStore, record: CheckpointRecord): Promise<void> {
  await store.putNamed(checkpointRecordName(record.workflowId), JSON.stringify(record));
}

export function readCheckpointRecord(
  store: ArtifactStore,
  workflowId: string,
): Promise<{ value: unknown } | undefined> {
  return readNamedJson(store, checkpointRecordName(workflowId));
}
