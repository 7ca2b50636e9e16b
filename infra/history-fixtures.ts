import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { historyFixturesDir } from './paths';
import type { HistoryFixture } from './record-histories';

// A CommonJS package: its namespaces come off the default export.
const History = proto.temporal.api.history.v1.History;

/** A set's index.json: what the replay test reads. */
export interface HistoryFixtureIndex {
  recordedFrom: string;
  /** A cancelled run: its histories end cancelled. */
  ending?: 'cancelled';
  /** Why the set holds only some workflow types (it was recorded from tests, not from a whole run). */
  partial?: string;
  fixtures: HistoryFixture[];
}

/**
 * Adds one workflow's history to a fixture set as `<name>.pb.gz`, replacing an earlier one of that
 * name, for a set recorded from integration tests (SERA_RECORD_HISTORIES, test/support/record.ts).
 */
export async function addHistoryFixture(
  client: Client,
  options: { set: string; workflowId: string; name: string; partial: string },
): Promise<void> {
  const dir = path.join(historyFixturesDir, options.set);
  mkdirSync(dir, { recursive: true });
  const handle = client.workflow.getHandle(options.workflowId);
  const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
  const file = `${options.name}.pb.gz`;
  writeFileSync(path.join(dir, file), gzipSync(History.encode(history).finish()));
  const indexFile = path.join(dir, 'index.json');
  const index: HistoryFixtureIndex = existsSync(indexFile)
    ? (JSON.parse(readFileSync(indexFile, 'utf8')) as HistoryFixtureIndex)
    : { recordedFrom: 'integration tests', partial: options.partial, fixtures: [] };
  index.fixtures = [
    ...index.fixtures.filter((f) => f.file !== file),
    {
      workflowType: description.type,
      workflowId: options.workflowId,
      file,
      events: history.events?.length ?? 0,
    },
  ];
  writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
}
