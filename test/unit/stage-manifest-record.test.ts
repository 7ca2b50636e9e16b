import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { ApplicationFailure, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { noopMetricMeter } from '@temporalio/common';
import { isRecordName } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import type { StageRecord } from '../../core/lifecycle-stages';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { createResumeActivities } from '../../activities/run/resume';
import {
  manifestRecordName,
  readManifestRecord,
  writeManifestRecord,
} from '../../activities/run/stage-manifest-record';

const root = mkdtempSync(path.join(os.tmpdir(), 'sera-stage-manifest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const finished = (stage: StageRecord['stage'], result?: unknown): StageRecord => ({
  stage,
  status: 'finished',
  key: `${stage}-key`,
  workflowId: `run-${stage}`,
  seconds: 2,
  ...(result === undefined ? {} : { result }),
});

const generationStarted: StageRecord = {
  stage: 'generation',
  status: 'started',
  key: 'generation-key',
  workflowId: 'run-svg',
  seconds: 0,
};

/** What a stub Temporal knows: the runs its visibility list shows, and the runs describe() finds. */
interface StubTemporal {
  listed?: { runId: string; startTime: Date }[];
  described?: Record<string, { runId: string; status: string; memo?: Record<string, unknown> }>;
}

/** Runs `fn` as an activity of run `runId` of workflow `workflowId`, its client answering from `temporal`. */
async function asActivityOf<T>(
  run: { workflowId: string; runId: string },
  temporal: StubTemporal,
  fn: () => Promise<T>,
): Promise<T> {
  const client = {
    workflow: {
      list: async function* () {
        yield* temporal.listed ?? [];
      },
      getHandle: (workflowId: string, runId?: string) => ({
        describe: () => {
          const known = temporal.described?.[runId ?? 'latest'];
          if (!known) return Promise.reject(new WorkflowNotFoundError('not found', workflowId, runId));
          return Promise.resolve({ ...known, status: { name: known.status } });
        },
      }),
    },
  } as unknown as Client;
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
  const context = new Context(
    { attempt: 1, activityType: 'resume', workflowExecution: run } as Info,
    new Promise<never>(() => undefined),
    new AbortController().signal,
    () => undefined,
    client,
    quiet,
    noopMetricMeter,
    {},
  );
  return asyncLocalStorage.run(context, fn);
}

describe('stage-manifest records', () => {
  const store = new LocalArtifactStore(root);

  it('read back the stages a run wrote, results included, and nothing for another workflow id', async () => {
    const stages = [finished('environment', { image: 'sha256:abc', passed: true }), generationStarted];
    await writeManifestRecord(store, { workflowId: 'spec-1', runId: 'r1', manifest: 'sha256:m1', stages });
    const record = await readManifestRecord(store, 'spec-1');
    expect(record).toMatchObject({ workflowId: 'spec-1', runId: 'r1', manifest: 'sha256:m1', stages });
    expect(Number.isNaN(Date.parse(record!.writtenAt))).toBe(false);
    expect(await readManifestRecord(store, 'spec-2')).toBeUndefined();

    // A later write replaces the record whole.
    await writeManifestRecord(store, {
      workflowId: 'spec-1',
      runId: 'r1',
      manifest: 'sha256:m2',
      stages: [stages[0]!, finished('generation', { ledger: 'sha256:l' })],
    });
    expect((await readManifestRecord(store, 'spec-1'))?.stages.map((s) => s.status)).toEqual([
      'finished',
      'finished',
    ]);
  });

  it('say COMPLETED only once the report stage is finished', async () => {
    const before = [finished('environment'), finished('generation'), finished('dataset')];
    await writeManifestRecord(store, { workflowId: 'spec-st', runId: 'r', manifest: 'm', stages: before });
    expect((await readManifestRecord(store, 'spec-st'))?.status).toBe('RUNNING');
    await writeManifestRecord(store, {
      workflowId: 'spec-st',
      runId: 'r',
      manifest: 'm',
      stages: [...before, finished('report')],
    });
    expect((await readManifestRecord(store, 'spec-st'))?.status).toBe('COMPLETED');
  });

  it('read a damaged record, or one of another workflow, as absent', async () => {
    await store.putNamed(manifestRecordName('spec-bad'), '{"workflowId": "spec-bad", "runId": "r1", "sta');
    expect(await readManifestRecord(store, 'spec-bad')).toBeUndefined();

    await writeManifestRecord(store, { workflowId: 'spec-a', runId: 'r', manifest: 'm', stages: [] });
    const foreign = (await store.getNamed(manifestRecordName('spec-a')))!.toString('utf8');
    await store.putNamed(manifestRecordName('spec-b'), foreign);
    expect(await readManifestRecord(store, 'spec-b')).toBeUndefined();

    // A stage the lifecycle does not have is not trusted either.
    const strange = JSON.parse(foreign) as Record<string, unknown>;
    await store.putNamed(
      manifestRecordName('spec-c'),
      JSON.stringify({ ...strange, workflowId: 'spec-c', stages: [{ ...finished('dataset'), stage: 'x' }] }),
    );
    expect(await readManifestRecord(store, 'spec-c')).toBeUndefined();
  });

  it('keep odd workflow ids apart, each under one safe name', async () => {
    const ids = ['a/b', 'a%2Fb', '../up', '..', 'ünï code', 'x'.repeat(1000), `${'x'.repeat(1000)}y`];
    for (const id of ids) expect(isRecordName(manifestRecordName(id)), id).toBe(true);
    expect(manifestRecordName('sera-run-7')).toBe('runs/sera-run-7/stages.json');
    expect(manifestRecordName('a/b')).toBe('runs/a%2Fb/stages.json');
    for (const [i, id] of ids.entries())
      await writeManifestRecord(store, { workflowId: id, runId: `r${i}`, manifest: 'm', stages: [] });
    for (const [i, id] of ids.entries())
      expect((await readManifestRecord(store, id))?.runId, id).toBe(`r${i}`);
  });
});

describe('findPreviousRun when Temporal has forgotten the earlier run', () => {
  const store = new LocalArtifactStore(root);
  const activities = createResumeActivities({ artifacts: store });
  const forgotten: StubTemporal = {};

  it('takes the stages from the record writeStageManifest left, and refuses nothing', async () => {
    const stages = [finished('environment', { passed: true }), finished('generation'), finished('dataset')];
    const manifest = await asActivityOf({ workflowId: 'spec-gone', runId: 'old-run' }, forgotten, () =>
      activities.writeStageManifest({ runId: 'sera-1', stages }),
    );
    expect(await store.get(manifest)).toBeDefined();

    // An explicit resumeFrom of a run recorded midway: Temporal has no record, so it is not running.
    const previous = await asActivityOf({ workflowId: 'spec-new', runId: 'new-run' }, forgotten, () =>
      activities.findPreviousRun({ workflowId: 'spec-gone', currentRunId: 'new-run', required: true }),
    );
    expect(previous).toEqual({
      workflowId: 'spec-gone',
      runId: 'old-run',
      status: 'NOT COMPLETED (history gone)',
      stages,
    });
  });

  it('reads the record when the run is still listed but deleted, and says a finished run completed', async () => {
    const stages = [finished('generation'), finished('report')];
    await asActivityOf({ workflowId: 'spec-listed', runId: 'old' }, forgotten, () =>
      activities.writeStageManifest({ runId: 'sera-2', stages }),
    );
    const previous = await asActivityOf(
      { workflowId: 'spec-listed', runId: 'again' },
      { listed: [{ runId: 'old', startTime: new Date(0) }] },
      () => activities.findPreviousRun({ workflowId: 'spec-listed', currentRunId: 'again', required: false }),
    );
    expect(previous).toMatchObject({ runId: 'old', status: 'COMPLETED (history gone)', stages });
  });

  it("does not take the caller's own record for an earlier run's", async () => {
    await asActivityOf({ workflowId: 'spec-self', runId: 'me' }, forgotten, () =>
      activities.writeStageManifest({ runId: 'sera-3', stages: [finished('environment')] }),
    );
    const previous = await asActivityOf(
      { workflowId: 'spec-self', runId: 'me' },
      { described: { latest: { runId: 'me', status: 'RUNNING' } } },
      () => activities.findPreviousRun({ workflowId: 'spec-self', currentRunId: 'me', required: false }),
    );
    expect(previous).toBeUndefined();
  });

  it('still refuses a run Temporal knows to be running', async () => {
    const refused = asActivityOf(
      { workflowId: 'spec-x', runId: 'mine' },
      { described: { latest: { runId: 'theirs', status: 'RUNNING' } } },
      () => activities.findPreviousRun({ workflowId: 'spec-gone', currentRunId: 'mine', required: true }),
    );
    await expect(refused).rejects.toThrow(/still running/);
  });

  it('with no record either: nothing to reuse, or for an explicit resumeFrom InvalidInput naming the record', async () => {
    const find = (required: boolean) =>
      asActivityOf({ workflowId: 'spec-y', runId: 'mine' }, forgotten, () =>
        activities.findPreviousRun({ workflowId: 'never/ran', currentRunId: 'mine', required }),
      );
    expect(await find(false)).toBeUndefined();
    const error = await find(true).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe(ErrorTypes.InvalidInput);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).message).toContain('runs/never%2Fran/stages.json');
  });
});
