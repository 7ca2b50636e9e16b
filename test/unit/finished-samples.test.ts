import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { noopMetricMeter } from '@temporalio/common';
import { isRecordName } from '../../core/artifacts';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import {
  finishedSampleName,
  nameSegment,
  readFinishedSample,
  writeFinishedSample,
} from '../../activities/run/finished-samples';
import { createResumeActivities } from '../../activities/run/resume';
import type { SvgSampleSummary } from '../../workflows/svg-sample';

const root = mkdtempSync(path.join(os.tmpdir(), 'sera-finished-samples-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const summary = (index: number, accepted = true): SvgSampleSummary => ({
  index,
  accepted,
  ...(accepted ? { recall: 1 } : { reason: 'judged_invalid' as const }),
  tokens: 100 + index,
  costUsd: 0.01,
  record: {
    id: `sha256:${String(index).padStart(64, '0')}`,
    size: 10,
    mediaType: 'application/json',
    preview: '',
  },
});

/**
 * Runs `fn` as an activity of workflow `workflowId` whose Temporal client knows only the
 * completed sample workflows in `temporal`; records which workflow ids it was asked about.
 */
async function asActivityOf<T>(
  workflowId: string,
  temporal: Record<string, SvgSampleSummary>,
  fn: () => Promise<T>,
): Promise<{ value: T; askedTemporal: string[]; heartbeats: unknown[] }> {
  const askedTemporal: string[] = [];
  const heartbeats: unknown[] = [];
  const client = {
    workflow: {
      getHandle: (id: string) => ({
        describe: () => {
          askedTemporal.push(id);
          if (!temporal[id])
            return Promise.reject(Object.assign(new Error(id), { name: 'WorkflowNotFoundError' }));
          return Promise.resolve({ status: { name: 'COMPLETED' } });
        },
        result: () => Promise.resolve(temporal[id]),
      }),
    },
  } as unknown as Client;
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
  const context = new Context(
    { attempt: 1, activityType: 'finishedSamples', workflowExecution: { workflowId, runId: 'r' } } as Info,
    new Promise<never>(() => undefined),
    new AbortController().signal,
    (details?: unknown) => heartbeats.push(details),
    client,
    quiet,
    noopMetricMeter,
    {},
  );
  const value = await asyncLocalStorage.run(context, fn);
  return { value, askedTemporal, heartbeats };
}

describe('named records in LocalArtifactStore', () => {
  const store = new LocalArtifactStore(root);

  it('reads back what was written under a name, the latest write whole, and nothing for an unwritten name', async () => {
    await store.putNamed('runs/a/samples/0.json', 'first');
    await store.putNamed('runs/a/samples/0.json', 'second');
    expect((await store.getNamed('runs/a/samples/0.json'))?.toString()).toBe('second');
    expect(await store.getNamed('runs/a/samples/1.json')).toBeUndefined();
    // Temporary files are renamed into place: none is left beside the record.
    expect(readdirSync(path.join(root, 'named', 'runs', 'a', 'samples'))).toEqual(['0.json']);
  });

  it('refuses a name that could leave its folder or meet a temporary file', async () => {
    for (const name of ['../outside', 'runs/../../x', 'runs/./x', '/abs', 'runs//x', '.hidden', 'a b'])
      expect(isRecordName(name), name).toBe(false);
    await expect(store.putNamed('../outside', 'x')).rejects.toThrow(/not a record name/);
    await expect(store.getNamed('runs/../../etc/passwd')).rejects.toThrow(/not a record name/);
    expect(isRecordName('runs/sera-run-1/samples/12.json')).toBe(true);
  });
});

describe('finished-sample records', () => {
  const store = new LocalArtifactStore(root);

  it('name every workflow id with safe segments, long ones cut and told apart by a hash', () => {
    for (const id of ['sera-run-x', 'a/../b', '..', 'ünï code', 'x'.repeat(1000), `${'x'.repeat(1000)}y`])
      expect(isRecordName(finishedSampleName(id, 3)), id).toBe(true);
    expect(finishedSampleName('sera-run-x-svg', 7)).toBe('runs/sera-run-x-svg/samples/7.json');
    expect(nameSegment('a/b')).not.toBe(nameSegment('a%2Fb'));
    expect(nameSegment('x'.repeat(1000))).not.toBe(nameSegment(`${'x'.repeat(1000)}y`));
    expect(nameSegment('x'.repeat(1000)).length).toBeLessThanOrEqual(200);
  });

  it('give back the summary a sample wrote, and nothing for another run, another index or a damaged record', async () => {
    await writeFinishedSample(store, 'run/one', summary(4, false));
    expect(await readFinishedSample(store, 'run/one', 4)).toEqual(summary(4, false));
    expect(await readFinishedSample(store, 'run/one', 5)).toBeUndefined();
    expect(await readFinishedSample(store, 'run-one', 4)).toBeUndefined();
    await store.putNamed(finishedSampleName('run/one', 6), '{"runWorkflowId": "run/one", "summ');
    expect(await readFinishedSample(store, 'run/one', 6)).toBeUndefined();
    // A record copied under the wrong index is not taken for that index.
    await store.putNamed(
      finishedSampleName('run/one', 8),
      JSON.stringify({ runWorkflowId: 'run/one', summary: summary(4) }),
    );
    expect(await readFinishedSample(store, 'run/one', 8)).toBeUndefined();
  });
});

describe('finishedSamples (the resume activity)', () => {
  const store = new LocalArtifactStore(root);
  const { finishedSamples } = createResumeActivities({ artifacts: store });

  it('takes the store first and asks Temporal only about the samples it lacks, heartbeating each', async () => {
    await writeFinishedSample(store, 'earlier-svg', summary(0));
    await writeFinishedSample(store, 'earlier-svg', summary(2, false));
    // Sample 1 finished before the store kept summaries: only its history has it.
    const temporal = { 'earlier-svg-s1': summary(1), 'earlier-svg-s2': summary(2) };
    const run = await asActivityOf('later-svg', temporal, () =>
      finishedSamples({ workflowId: 'earlier-svg', from: 0, to: 4 }),
    );
    expect(run.value).toEqual([summary(0), summary(1), summary(2, false)]);
    expect(run.askedTemporal).toEqual(['earlier-svg-s1', 'earlier-svg-s3']);
    expect(run.heartbeats).toEqual([0, 1, 2, 3]);
  });

  it("finds every sample with the histories gone, and records them as the resuming run's own", async () => {
    for (const index of [10, 11, 12]) await writeFinishedSample(store, 'first-svg', summary(index));
    const second = await asActivityOf('second-svg', {}, () =>
      finishedSamples({ workflowId: 'first-svg', from: 10, to: 13 }),
    );
    expect(second.value.map((s) => s.index)).toEqual([10, 11, 12]);
    expect(second.askedTemporal).toEqual([]);
    // A resume of the resumed run finds them too, though it never ran them.
    const third = await asActivityOf('third-svg', {}, () =>
      finishedSamples({ workflowId: 'second-svg', from: 10, to: 13 }),
    );
    expect(third.value).toEqual(second.value);
    expect(third.askedTemporal).toEqual([]);
  });
});
