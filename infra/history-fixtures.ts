import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { historyFixturesDir } from './paths';

// A CommonJS package: its namespaces come off the default export.
const History = proto.temporal.api.history.v1.History;

/** One recorded history of a set (infra/record-histories.ts, or a test through addHistoryFixture). */
export interface HistoryFixture {
  workflowType: string;
  workflowId: string;
  /** `<type>.pb.gz`: the gzipped protobuf History. */
  file: string;
  events: number;
}

/**
 * Writes a history as the replay test reads it: its own protobuf encoding (what the server
 * stores), gzipped, to `<dir>/<name>.pb.gz`; returns its entry for the set's index.
 */
export function writeHistoryFixture(
  dir: string,
  name: string,
  workflow: { type: string; workflowId: string },
  history: proto.temporal.api.history.v1.IHistory,
): HistoryFixture {
  const file = `${name}.pb.gz`;
  writeFileSync(path.join(dir, file), gzipSync(History.encode(history).finish()));
  return {
    workflowType: workflow.type,
    workflowId: workflow.workflowId,
    file,
    events: history.events?.length ?? 0,
  };
}

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
  const fixture = writeHistoryFixture(
    dir,
    options.name,
    { type: description.type, workflowId: options.workflowId },
    history,
  );
  const indexFile = path.join(dir, 'index.json');
  const index: HistoryFixtureIndex = existsSync(indexFile)
    ? (JSON.parse(readFileSync(indexFile, 'utf8')) as HistoryFixtureIndex)
    : { recordedFrom: 'integration tests', partial: options.partial, fixtures: [] };
  index.fixtures = [...index.fixtures.filter((f) => f.file !== fixture.file), fixture];
  writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
}
