import type { Client } from '@temporalio/client';
import { addHistoryFixture } from '../../infra/history-fixtures';

/**
 * With SERA_RECORD_HISTORIES=<set>, a test adds the history of a workflow it drove through a
 * rare path (a host move) to that fixture set, for the replay test; otherwise it does nothing.
 */
export async function recordForReplay(client: Client, workflowId: string, name: string): Promise<void> {
  const set = process.env.SERA_RECORD_HISTORIES;
  if (!set) return;
  await addHistoryFixture(client, {
    set,
    workflowId,
    name,
    partial: 'workflows the integration tests drove off a lost sandbox host',
  });
}
