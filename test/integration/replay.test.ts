import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import proto from '@temporalio/proto';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { historyFixturesDir, workflowBundlePath } from '../../infra/paths';
import type { HistoryFixture, HistoryFixtureIndex } from '../../infra/history-fixtures';
import { useTestServer } from '../support/temporal';

// A CommonJS package: its namespaces come off the default export.
const History = proto.temporal.api.history.v1.History;

useTestServer(); // installs the quiet runtime logger

/** Every recorded set (one per recording, kept across releases) and its fixtures. */
const sets = readdirSync(historyFixturesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const indexOf = (set: string): HistoryFixtureIndex =>
  JSON.parse(readFileSync(path.join(historyFixturesDir, set, 'index.json'), 'utf8')) as HistoryFixtureIndex;
const fixturesOf = (set: string): HistoryFixture[] => indexOf(set).fixtures;
const historyOf = (set: string, fixture: HistoryFixture): proto.temporal.api.history.v1.History =>
  History.decode(gunzipSync(readFileSync(path.join(historyFixturesDir, set, fixture.file))));

/**
 * Histories of a real run of the example, recorded by `npm run record-histories`, replayed
 * against today's workflow code: a change that would break a live run (a command added, removed
 * or reordered without `patched`) fails here, not in production.
 */
describe('recorded histories replay against the current workflow code', () => {
  it('has sets of fixtures, each with every workflow type of the lifecycle (a cancelled run: up to its generation; a set recorded from tests: what it names)', () => {
    expect(sets.length).toBeGreaterThan(0);
    const whole = sets.filter((s) => indexOf(s).partial === undefined);
    for (const set of sets.filter((s) => indexOf(s).partial !== undefined))
      expect(fixturesOf(set).length).toBeGreaterThan(0);
    for (const set of whole.filter((s) => indexOf(s).ending === 'cancelled'))
      expect(fixturesOf(set).map((f) => f.workflowType)).toEqual(
        expect.arrayContaining(['specializeRepository', 'svgRun', 'svgSample', 'rollout']),
      );
    for (const set of whole.filter((s) => indexOf(s).ending !== 'cancelled'))
      expect(fixturesOf(set).map((f) => f.workflowType)).toEqual(
        expect.arrayContaining([
          'specializeRepository',
          'prepareEnvironment',
          'svgRun',
          'svgSample',
          'rollout',
          'buildDataset',
          'trainStudentModel',
          'evaluateModel',
          'solveInstance',
        ]),
      );
  });

  for (const set of sets) {
    for (const fixture of fixturesOf(set)) {
      it(`${set}: ${fixture.workflowType} (${fixture.workflowId})`, async () => {
        await Worker.runReplayHistory(
          { workflowBundle: { codePath: workflowBundlePath } },
          historyOf(set, fixture),
          fixture.workflowId,
        );
      });
    }
  }

  it('fails a history whose commands the code no longer makes', async () => {
    const set = sets[0]!;
    const fixture = fixturesOf(set).find((f) => f.workflowType === 'specializeRepository')!;
    const history = historyOf(set, fixture);
    // As if the code had once called another activity first: the code's first command no longer matches.
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType = { name: 'anActivityTheCodeNoLongerCalls' };
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: workflowBundlePath } },
        history,
        fixture.workflowId,
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
