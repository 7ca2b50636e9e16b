import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { TaskQueues } from '../../core/queues';
import type { ArtifactRef } from '../../core/artifacts';
import type { RunConfigRequest } from '../../core/run-config';
import { mergeLedgerEntries, type LedgerEntry } from '../../core/sft/sample-record';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunProgress, SvgRunResult, SvgRunState } from '../../workflows/svg-run';
import { sampleFinishedSignal } from '../../workflows/sample-report';
import type { SvgSampleSummary } from '../../workflows/svg-sample';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { readArtifact } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

interface RolloutPart {
  exitStatus: string;
  patch?: { id: string; linesAdded: number; linesDeleted: number };
}

/** The fields of a sample record (workflows/svg-sample.ts) these tests read. */
interface SampleRecord {
  accepted: boolean;
  reason?: string;
  recall?: number;
  rollout1?: RolloutPart;
  judge?: 'yes' | 'no' | 'unreadable';
  prDescription?: string;
  rollout2?: RolloutPart;
}

const artifact = (id: string): ArtifactRef => ({ id, size: 0, mediaType: 'application/json', preview: '' });
const diff = (id: string): ArtifactRef => ({ id, size: 0, mediaType: 'text/x-diff', preview: '' });

/**
 * SERA's recall, counted from its definition and not with core/soft-verify.ts: of rollout 1's
 * changed lines (`+`/`-` lines, not file headers, not blank), the share that rollout 2's patch
 * has too, each of its lines matching at most once.
 */
function recallByHand(patch1: string, patch2: string): number | undefined {
  const changed = (patch: string): string[] =>
    patch
      .split(/\r?\n/)
      .filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---)/.test(l) && l.slice(1).trim().length > 0);
  const left = changed(patch2);
  const wanted = changed(patch1);
  let found = 0;
  for (const line of wanted) {
    const at = left.indexOf(line);
    if (at >= 0) {
      found += 1;
      left.splice(at, 1);
    }
  }
  return wanted.length === 0 ? undefined : found / wanted.length;
}

/** Why a sample that has no recall stopped, read from its record in the order the sample runs. */
function reasonBeforeVerification(record: SampleRecord): string {
  const r1 = record.rollout1;
  if (r1?.exitStatus !== 'submitted' || !r1.patch) return `rollout1_${r1?.exitStatus}`;
  if (r1.patch.linesAdded + r1.patch.linesDeleted === 0) return 'empty_patch';
  if (record.judge === 'unreadable') return 'judge_unreadable';
  // The default scaffold's judge (the authors') says "no" for an invalid change.
  if (record.judge === 'no') return 'judged_invalid';
  if (!record.prDescription) return 'no_pr_description';
  const r2 = record.rollout2;
  if (r2?.exitStatus !== 'submitted' || !r2.patch) return `rollout2_${r2?.exitStatus}`;
  // Verified, but rollout 1's patch had no changed line to look for.
  return 'empty_rollout1_patch';
}

/**
 * Polls the run's progress until `ready` holds. Past the deadline it throws `what`, or with
 * `orLast` returns the last progress for the caller's assertion to judge.
 */
async function progressWhen(
  handle: WorkflowHandle,
  ready: (progress: SvgRunProgress) => boolean,
  what: string,
  orLast = false,
): Promise<SvgRunProgress> {
  const deadline = Date.now() + 180_000;
  let last: SvgRunProgress | undefined;
  for (;;) {
    last = ((await handle.query('progress').catch(() => undefined)) as SvgRunProgress | undefined) ?? last;
    if (last && ready(last)) return last;
    if (Date.now() > deadline) {
      if (orLast && last) return last;
      throw new Error(what);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The samples each continued run of a run took over from the one before it, in run order. */
async function carriedSamples(client: Client, workflowId: string): Promise<number[][]> {
  const runs: Array<{ runId: string; start: number }> = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
    runs.push({ runId: run.runId, start: run.startTime.getTime() });
  runs.sort((a, b) => a.start - b.start);
  const carried: number[][] = [];
  for (const run of runs.slice(1)) {
    const history = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[1];
    const state = JSON.parse(Buffer.from(input!.data!).toString('utf8')) as {
      inFlight?: Array<[number, string]>;
    };
    carried.push((state.inFlight ?? []).map(([index]) => index));
  }
  return carried;
}

describe('an SVG run on the example repository with the offline teacher', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  beforeAll(async () => {
    // Fidelity below 1 so that some samples fail verification.
    teacher = await startTeacherServer({ fidelity: 0.6 });
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: 'svg-tests' });
  });
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  function config(runId: string, overrides: Partial<RunConfigRequest> = {}): RunConfigRequest {
    const example = exampleRepository();
    return {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
      samples: 20,
      concurrency: 4,
      seed: 11,
      samplesPerContinue: 8,
      ...overrides,
    };
  }

  it('accepts exactly the samples whose recall reaches the threshold; the rest carry the reason they stopped', async () => {
    const runId = uniqueRunId('svg');
    // A threshold below 1 so that partial recall can pass, and six model calls a rollout, which
    // the offline teacher's longer rollouts (seven or eight calls) exceed: samples then stop in
    // rollout 1, in rollout 2, below the threshold and above it.
    const threshold = 0.4;
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { threshold, rolloutLimits: { maxModelCalls: 6 } })],
    });
    const result = (await handle.result()) as SvgRunResult;
    expect(result.status).toBe('completed');
    expect(result.finished).toBe(20);
    // The result does not grow with the run: accepted samples are found through the ledger.
    expect(result.accepted).toBeUndefined();
    const written = (
      await Promise.all(
        result.ledger.map(
          async (id) =>
            JSON.parse(
              await readArtifact({ id, size: 0, mediaType: 'application/json', preview: '' }),
            ) as LedgerEntry[],
        ),
      )
    ).flat();
    // An index written twice is a correction: a sample displaced as a duplicate after its chunk.
    const ledger = mergeLedgerEntries(written);
    expect(ledger.map((e) => e.index)).toEqual([...Array(20).keys()]);
    for (const e of written.filter((w) => !w.record))
      expect(e, 'a correction').toMatchObject({ accepted: false, reason: 'duplicate_patch' });

    // Samples outlived the segment that started them: each continued run took over samples still
    // running, and the run counted each exactly once (finished is 20, above).
    const carried = await carriedSamples(workers.client, `sera-run-${runId}`);
    expect(carried.length, 'continued runs').toBe(2);
    expect(carried.every((inFlight) => inFlight.length > 0)).toBe(true);

    const samples = await Promise.all(
      ledger.map(async (entry) => {
        expect(entry.record, `sample ${entry.index} failed outright`).toBeDefined();
        return { entry, record: JSON.parse(await readArtifact(artifact(entry.record!))) as SampleRecord };
      }),
    );

    // The rule, sample by sample, from what each record says happened.
    const seen = { atOne: 0, inBetween: 0, belowThreshold: 0, inRollout1: 0, inRollout2: 0 };
    for (const { entry, record } of samples) {
      const which = `sample ${entry.index}`;
      if (record.recall !== undefined) {
        // The recorded recall is what the stored patches give, counted here without core/.
        const p1 = await readArtifact(diff(record.rollout1!.patch!.id));
        const p2 = await readArtifact(diff(record.rollout2!.patch!.id));
        expect(record.recall, `${which}: recorded recall`).toBe(recallByHand(p1, p2));
        expect(record.accepted, `${which}: recall ${record.recall}, threshold ${threshold}`).toBe(
          record.recall >= threshold,
        );
        if (!record.accepted) expect(record.reason, which).toBe('recall_below_threshold');
        if (record.recall === 1) seen.atOne += 1;
        else if (record.recall >= threshold) seen.inBetween += 1;
        else seen.belowThreshold += 1;
      } else {
        expect(record.accepted, `${which} has no recall`).toBe(false);
        expect(record.reason, which).toBe(reasonBeforeVerification(record));
        if (record.reason?.startsWith('rollout1_')) seen.inRollout1 += 1;
        if (record.reason?.startsWith('rollout2_')) seen.inRollout2 += 1;
      }
    }

    // The run's verdict is the sample's own, except that a rollout-1 patch counts once: the
    // lowest sample index holding it keeps it.
    const holder = new Map<string, number>();
    for (const { entry, record } of samples) {
      if (!record.accepted) continue;
      const patch = record.rollout1!.patch!.id;
      holder.set(patch, Math.min(holder.get(patch) ?? entry.index, entry.index));
    }
    for (const { entry, record } of samples) {
      const which = `sample ${entry.index}`;
      if (!record.accepted) expect(entry, which).toMatchObject({ accepted: false, reason: record.reason });
      else if (holder.get(record.rollout1!.patch!.id) === entry.index)
        expect(entry, which).toMatchObject({ accepted: true });
      else expect(entry, which).toMatchObject({ accepted: false, reason: 'duplicate_patch' });
    }
    // Every case the rule tells apart was met, so none of the checks above was vacuous.
    for (const [kind, count] of Object.entries(seen)) expect(count, `samples ${kind}`).toBeGreaterThan(0);

    // The totals are the ledger's.
    expect(result.acceptedCount).toBe(holder.size);
    const tally: Record<string, number> = {};
    for (const e of ledger) if (!e.accepted) tally[e.reason!] = (tally[e.reason!] ?? 0) + 1;
    expect(result.rejectedByReason).toEqual(tally);
    const progress = (await handle.query('progress')) as SvgRunProgress;
    expect(progress).toMatchObject({ stage: 'done', finished: 20, accepted: holder.size });
    expect(await containersOfRun(runId)).toEqual([]);

    // Generation only: the config's dataset (built by default) is specializeRepository's stage.
    expect(result.dataset).toBeUndefined();
    const memo = (await handle.describe()).memo ?? {};
    expect(memo.dataset).toMatch(/not built by svgRun, which makes samples only/);
    const dataset = await workers.client.workflow
      .getHandle(`sera-run-${runId}-dataset`)
      .describe()
      .catch((e: unknown) => e);
    expect(dataset, 'no dataset workflow').toBeInstanceOf(Error);
  }, 600_000);

  it('counts a carried sample whose report reached the segment before its first workflow task', async () => {
    const runId = uniqueRunId('svg-early');
    const example = exampleRepository();
    const childRun = 'the-first-run-of-sample-0';
    const record = await new LocalArtifactStore(artifactsDir()).put('{"index":0}', 'application/json');
    const summary: SvgSampleSummary = {
      index: 0,
      accepted: true,
      recall: 1,
      patch1: `sha256:${'a'.repeat(64)}`,
      tokens: 10,
      costUsd: 0,
      record,
    };
    // A segment whose only sample was started by the segment before it, and whose report is the
    // signal the segment starts with (as when the sample ends while the run continues as new).
    const carried: SvgRunState = {
      sandbox: { hostQueue: 'none', hostId: 'none', image: 'none', baseCommit: example.commit },
      functions: record,
      functionCount: 1,
      cursor: 1,
      finished: 0,
      accepted: {},
      acceptedSeen: 0,
      rejected: {},
      recallHistogram: Array.from({ length: 10 }, () => 0),
      tokens: 0,
      costUsd: 0,
      concurrency: 1,
      paused: false,
      startedAt: Date.now(),
      ledger: [],
      inFlight: [[0, childRun]],
    };
    const handle = await workers.client.workflow.signalWithStart('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { samples: 1, dataset: { build: false } }), carried],
      signal: sampleFinishedSignal,
      signalArgs: [{ index: 0, runId: childRun, summary }],
    });
    // Counted from the signal at once, not by the check for silent samples 5 minutes later.
    const result = (await Promise.race([
      handle.result(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the report was not counted')), 60_000)),
    ])) as SvgRunResult;
    expect(result).toMatchObject({ finished: 1, acceptedCount: 1, rejectedByReason: {} });
  });

  it('starts no sample while paused though slots free up, starts again on resume, and changes concurrency', async () => {
    const runId = uniqueRunId('svg-steer');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { samples: 8, concurrency: 3 })],
    });
    // Paused with every slot busy: each sample that ends during the pause frees a slot that an
    // unpaused run fills at once.
    await progressWhen(handle, (p) => p.running === 3, 'the run never had 3 samples running');
    await handle.signal('pause');
    const atPause = await progressWhen(handle, (p) => p.paused, 'the run never showed itself paused', true);
    expect(atPause.paused, 'the pause signal took effect').toBe(true);
    // Long enough: until every sample in flight has ended, which unpaused would have started as many.
    const drained = await progressWhen(handle, (p) => p.running === 0, 'the samples in flight never ended');
    expect(drained.started, 'samples started while paused').toBe(atPause.started);
    // And slots did free up: the samples in flight at the pause ended during it.
    expect(atPause.running).toBeGreaterThan(0);
    expect(drained.finished - atPause.finished).toBe(atPause.running);
    expect(drained.stage).toBe('sampling');

    const rejected = await handle.executeUpdate('setConcurrency', { args: [0] }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((rejected as WorkflowUpdateFailedError).cause?.message).toBe(
      'concurrency must be a whole number from 1 to 256, not 0',
    );
    expect(await handle.executeUpdate('setConcurrency', { args: [4] })).toBe(3);
    await handle.signal('resume');
    const result = (await handle.result()) as SvgRunResult;
    expect(result.finished).toBe(8);
    expect(((await handle.query('progress')) as SvgRunProgress).concurrency).toBe(4);

    // The history agrees: no sample started between pause and resume, the rest after resume.
    const events = (await handle.fetchHistory()).events ?? [];
    const signalled = (name: string): number =>
      events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name);
    const starts = events.flatMap((e, i) =>
      e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'svgSample' ? [i] : [],
    );
    const [pausedAt, resumedAt] = [signalled('pause'), signalled('resume')];
    expect(pausedAt).toBeGreaterThan(-1);
    expect(starts.filter((i) => i < pausedAt)).toHaveLength(atPause.started);
    expect(starts.filter((i) => i > pausedAt && i < resumedAt)).toEqual([]);
    expect(starts.filter((i) => i > resumedAt)).toHaveLength(8 - atPause.started);
    expect(8 - atPause.started).toBeGreaterThan(0);
  });

  it('stops at the token budget, reads demonstrations from a file and writes its manifest', async () => {
    const runId = uniqueRunId('svg-budget');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sera-output-'));
    try {
      writeFileSync(
        path.join(dir, 'demos.txt'),
        'First issue: it crashes.\n---\nSecond issue: it is slow.\n',
      );
      const handle = await workers.client.workflow.start('svgRun', {
        taskQueue: TaskQueues.orchestration,
        workflowId: `sera-run-${runId}`,
        // About 17,000 tokens a sample with the offline teacher: two fit, a third would not.
        args: [
          config(runId, {
            samples: 10,
            concurrency: 1,
            budget: { maxTokens: 45_000 },
            demonstrationsFile: path.join(dir, 'demos.txt'),
            output: dir,
          }),
        ],
      });
      const result = (await handle.result()) as SvgRunResult;
      expect(result.status).toBe('budget_exhausted');
      expect(result.finished).toBeGreaterThan(0);
      expect(result.finished).toBeLessThan(10);
      expect(result.tokens).toBeLessThanOrEqual(45_000);
      const manifest = JSON.parse(readFileSync(result.manifest!, 'utf8')) as SvgRunResult;
      expect(manifest.finished).toBe(result.finished);
      expect(readdirSync(path.join(dir, runId, 'accepted'))).toHaveLength(result.acceptedCount!);

      const missing = await failureOf(uniqueRunId('svg-nodemos'), {
        demonstrationsFile: path.join(dir, 'nope.txt'),
      });
      expect(missing.type).toBe('InvalidInput');
      expect(missing.message).toMatch(/cannot read the demonstrations file .*nope\.txt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a malformed config naming every bad field, before anything runs', async () => {
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: uniqueRunId('bad-config'),
      args: [
        {
          runId: 'x',
          samples: 'many',
          repository: { path: '/r' },
          teacher: { baseUrl: 'not a url', model: '' },
        },
      ],
    });
    const error = await handle.result().catch((e: unknown) => e);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    for (const field of ['samples', 'repository.commit', 'teacher.baseUrl', 'teacher.model'])
      expect(cause.message).toContain(field);
  });

  it('refuses training or evaluation, which only specializeRepository chains, before anything runs', async () => {
    const runId = uniqueRunId('svg-train');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { train: { preset: 'tiny' } })],
    });
    const error = await handle.result().catch((e: unknown) => e);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(cause.message).toMatch(
      /svgRun makes samples only, and this config also asks for training: start specializeRepository/,
    );
    const history = await handle.fetchHistory();
    expect(history.events?.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
  });

  async function failureOf(runId: string, overrides: Partial<RunConfigRequest>): Promise<ApplicationFailure> {
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { samples: 3, ...overrides })],
    });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    let cause = (error as WorkflowFailedError).cause as Error | undefined;
    while (cause && cause.cause && !('type' in cause && cause.type)) cause = cause.cause as Error;
    expect(await containersOfRun(runId)).toEqual([]);
    return cause as ApplicationFailure;
  }

  it('says clearly when the repository, the commit or the teacher is wrong, and starts nothing', async () => {
    const example = exampleRepository();
    const noRepo = await failureOf(uniqueRunId('svg-norepo'), {
      repository: { path: '/nonexistent/repo', commit: 'main' },
    });
    expect(noRepo.type).toBe('RepositoryNotFound');
    const noCommit = await failureOf(uniqueRunId('svg-nocommit'), {
      repository: { path: example.path, commit: 'v9.9.9' },
    });
    expect(noCommit.type).toBe('CommitNotFound');
    // Port 9 (discard) on this machine: nothing listens there.
    const noTeacher = await failureOf(uniqueRunId('svg-noteacher'), {
      teacher: { baseUrl: 'http://127.0.0.1:9/v1', model: TEACHER_MODEL },
    });
    expect(noTeacher.type).toBe('ModelUnavailable');
    expect(noTeacher.message).toMatch(/the teacher at http:\/\/127\.0\.0\.1:9\/v1 cannot be used/);
  });

  it('cancels cleanly: running samples stop and no container is left', async () => {
    const runId = uniqueRunId('svg-cancel');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId, { samples: 50, concurrency: 3 })],
    });
    const deadline = Date.now() + 60_000;
    while (
      ((await handle.query('progress').catch(() => undefined)) as SvgRunProgress | undefined)?.running !== 3
    ) {
      if (Date.now() > deadline) throw new Error('the run never had 3 samples running');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await handle.cancel();
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('checks the model before spending anything, naming what the endpoint serves', async () => {
    const failure = await failureOf(uniqueRunId('svg-nomodel'), {
      teacher: { baseUrl: teacher.url, model: 'no-such-model' },
    });
    expect(failure.type).toBe('ModelNotFound');
    expect(failure.message).toMatch(/does not serve "no-such-model"; it serves: sera-offline-teacher/);
  });
});
