import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { listManagedContainers } from '../../activities/sandbox/containers';
import { reapOrphans, workflowRunningOn } from '../../activities/sandbox/reaper';
import { sampleOutcomes } from '../../client/sample-outcomes';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import { baseImageTag } from '../../infra/base-image';
import { exampleRepository } from '../../infra/example-repo';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { startPrivateDockerEngine, type PrivateDockerEngine } from '../../infra/private-docker-engine';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { RolloutResult } from '../../workflows/rollout';
import type { SvgRunResult } from '../../workflows/svg-run';
import { expectFaultsHit } from '../support/fault-evidence';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const SAMPLES = 6;

/** Host ids of every rollout of a run, by rollout workflow id (rollout 2 exists only for some samples). */
async function rolloutHosts(client: Client, workflowId: string): Promise<Map<string, string[]>> {
  const hosts = new Map<string, string[]>();
  for (let index = 0; index < SAMPLES; index += 1) {
    for (const suffix of ['r1', 'r2']) {
      const id = `${workflowId}-s${index}-${suffix}`;
      try {
        const result = (await client.workflow.getHandle(id).result()) as RolloutResult;
        hosts.set(id, result.hosts ?? []);
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }
  }
  return hosts;
}

describe('two sandbox hosts on two Docker engines', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-hosts-'));
  const suffix = Math.random().toString(36).slice(2, 6);
  const hostA = `host-a-${suffix}`;
  const hostB = `host-b-${suffix}`;
  let engineB: PrivateDockerEngine;
  let teacher: TeacherServer;
  let core: RunningWorkers;
  let onA: RunningWorkers;
  let onB: RunningWorkers;
  // Armed by the second test: the first rollout on host B to ask for its final diff stops engine B.
  let stopEngineBAtDiff = false;
  let engineStopped = false;
  let engineStoppedAt = 0;
  let store: LocalArtifactStore;

  beforeAll(async () => {
    engineB = await startPrivateDockerEngine(path.join(scratch, 'engine'), [baseImageTag()]);
    teacher = await startTeacherServer({ fidelity: 0.6 });
    core = await startWorkers(['orchestration', 'llm']);
    // The test server's artifact directory is known once the workers point at it.
    store = new LocalArtifactStore(artifactsDir());
    onA = await startWorkers(['sandbox'], { sandboxHostId: hostA });
    onB = await startWorkers(['sandbox'], {
      sandboxHostId: hostB,
      docker: engineB.docker,
      wrapSandboxActivities: (activities) => ({
        ...activities,
        sandboxDiff: async (input) => {
          if (stopEngineBAtDiff && !engineStopped) {
            engineStopped = true;
            engineStoppedAt = Date.now();
            await engineB.stop();
          }
          return activities.sandboxDiff(input);
        },
      }),
    });
  }, 180_000);

  afterAll(async () => {
    await onB?.stop();
    await onA?.stop();
    await core?.stop();
    await teacher?.close();
    await engineB?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  function config(runId: string): RunConfigRequest {
    const example = exampleRepository();
    return {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: teacher.url, model: TEACHER_MODEL },
      samples: SAMPLES,
      concurrency: 4,
      seed: 11,
      heartbeatTimeoutSeconds: 5,
    };
  }

  async function run(runId: string): Promise<{ result: SvgRunResult; workflowId: string }> {
    const workflowId = `sera-run-${runId}`;
    const result = (await core.client.workflow.execute('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId,
      args: [config(runId)],
    })) as SvgRunResult;
    return { result, workflowId };
  }

  let reference: string[] = [];

  it('takes samples on both hosts at once through their own queues', async () => {
    const runId = uniqueRunId('two-hosts');
    const { result, workflowId } = await run(runId);
    expect(result.finished).toBe(SAMPLES);
    reference = await sampleOutcomes(store, result);

    const hosts = await rolloutHosts(core.client, workflowId);
    const used = new Set([...hosts.values()].flat());
    expect(used).toEqual(new Set([hostA, hostB]));
    // Undisturbed, no rollout moved.
    for (const list of hosts.values()) expect(list).toHaveLength(1);
    expect(await containersOfRun(runId)).toEqual([]);
    const onEngineB = (await listManagedContainers(engineB.docker)).filter((c) => c.runId === runId);
    expect(onEngineB).toEqual([]);
  }, 600_000);

  it('moves the rollouts of a stopped engine to the other host and ends with the same samples', async () => {
    expect(reference).toHaveLength(SAMPLES);
    const runId = uniqueRunId('host-lost');
    stopEngineBAtDiff = true;
    const { result, workflowId } = await run(runId);
    expect(engineStopped).toBe(true);
    expect(result.finished).toBe(SAMPLES);
    expect(await sampleOutcomes(store, result)).toEqual(reference);
    // The history shows a container of engine B made again (on A) after the engine stopped.
    await expectFaultsHit(
      core.client,
      [workflowId],
      [{ kind: 'containers-lost', label: 'stop Docker engine B', at: engineStoppedAt }],
    );

    // At least the rollout that stopped the engine started on B and finished on A.
    const hosts = await rolloutHosts(core.client, workflowId);
    const moved = [...hosts.entries()].filter(([, list]) => list.length > 1);
    expect(moved.length).toBeGreaterThan(0);
    for (const [, list] of moved) {
      expect(list[0]).toBe(hostB);
      expect(list.at(-1)).toBe(hostA);
    }

    // Nothing left on A; on B, the moved rollouts' containers wait for B's reaper, which removes
    // them once the engine is back (their rollouts have ended).
    expect(await containersOfRun(runId)).toEqual([]);
    await engineB.restart();
    const stale = (await listManagedContainers(engineB.docker)).filter((c) => c.runId === runId);
    expect(stale.length).toBeGreaterThan(0);
    const reaped = await reapOrphans(engineB.docker, workflowRunningOn(core.client));
    expect(reaped.removed).toEqual(expect.arrayContaining(stale.map((c) => c.name)));
    const left = (await listManagedContainers(engineB.docker)).filter((c) => c.runId === runId);
    expect(left).toEqual([]);
  }, 600_000);
});
