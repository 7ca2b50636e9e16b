import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { historyFixturesDir, workflowBundlePath } from '../../infra/paths';

interface Fixture {
  workflowId: string;
  workflowType: string;
  history: unknown;
}

const fixtures: Fixture[] = readdirSync(historyFixturesDir)
  .filter((f) => f.endsWith('.json.gz'))
  .sort()
  .map(
    (f) => JSON.parse(gunzipSync(readFileSync(path.join(historyFixturesDir, f))).toString('utf8')) as Fixture,
  );

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
        historyFromJSON(fixture.history),
        fixture.workflowId,
      );
    });
  }

  it('fails a history whose commands the code no longer makes', async () => {
    const fixture = fixtures.find((f) => f.workflowType === 'specializeRepository')!;
    const history = historyFromJSON(fixture.history);
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
