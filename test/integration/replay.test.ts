import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import proto from '@temporalio/proto';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { historyFixturesDir, workflowBundlePath } from '../../infra/paths';
import type { HistoryFixture } from '../../infra/record-histories';
import { useTestServer } from '../support/temporal';

// A CommonJS package: its namespaces come off the default export.
const History = proto.temporal.api.history.v1.History;

useTestServer(); // installs the quiet runtime logger

const { fixtures } = JSON.parse(readFileSync(path.join(historyFixturesDir, 'index.json'), 'utf8')) as {
  fixtures: HistoryFixture[];
};
const historyOf = (fixture: HistoryFixture): proto.temporal.api.history.v1.History =>
  History.decode(gunzipSync(readFileSync(path.join(historyFixturesDir, fixture.file))));

/**
 * Histories of a real run of the example, recorded by `npm run record-histories`, replayed
 * against today's workflow code: a change that would break a live run (a command added, removed
 * or reordered without `patched`) fails here, not in production.
 */
describe('recorded histories replay against the current workflow code', () => {
  it('has a fixture for every workflow type of the lifecycle', () => {
    expect(fixtures.map((f) => f.workflowType)).toEqual(
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

  for (const fixture of fixtures) {
    it(`${fixture.workflowType} (${fixture.workflowId})`, async () => {
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: workflowBundlePath } },
        historyOf(fixture),
        fixture.workflowId,
      );
    });
  }

  it('fails a history whose commands the code no longer makes', async () => {
    const fixture = fixtures.find((f) => f.workflowType === 'specializeRepository')!;
    const history = historyOf(fixture);
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
