import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Trajectory } from '../../core/agent/trajectory';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import type { LedgerEntry } from '../../core/sft/sample-record';
import { exampleRepository } from '../../infra/example-repo';
import { engineCounts, startTinyTeacher, type TinyTeacher } from '../../infra/tiny-teacher';
import type { RolloutResult } from '../../workflows/rollout';
import type { SvgRunResult } from '../../workflows/svg-run';
import { readArtifact, readTrajectory } from '../support/rollout';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const SAMPLES = 3;

/** Every rollout of a run, with its result and its trajectory (continued runs followed to the end). */
async function rolloutsOf(
  client: Client,
  workflowId: string,
): Promise<Array<{ id: string; result: RolloutResult; trajectory: Trajectory }>> {
  const ids = new Set<string>();
  for await (const execution of client.workflow.list({
    query: `WorkflowType = 'rollout' AND WorkflowId STARTS_WITH "${workflowId}-"`,
  }))
    ids.add(execution.workflowId);
  return Promise.all(
    [...ids].sort().map(async (id) => {
      const result = (await client.workflow.getHandle(id).result()) as RolloutResult;
      return { id, result, trajectory: await readTrajectory(result.trajectory) };
    }),
  );
}

describe('an SVG run with vLLM serving a tiny random Qwen3 as the teacher', () => {
  let workers: RunningWorkers;
  let teacher: TinyTeacher;
  beforeAll(async () => {
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], {
      sandboxHostId: 'vllm-teacher-tests',
    });
    // One engine start for the whole file (about 80 s on two cores).
    teacher = await startTinyTeacher({ maxModelLen: 8192 });
  }, 900_000);
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  it('completes: every sample ends with a reason, and the trajectories hold what the engine counted', async () => {
    const runId = uniqueRunId('svg-vllm');
    const workflowId = `sera-run-${runId}`;
    const example = exampleRepository();
    const before = await engineCounts(teacher.baseUrl);
    const config: RunConfigRequest = {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: teacher.baseUrl, model: teacher.model, maxTokens: 64, temperature: 0.6 },
      samples: SAMPLES,
      concurrency: 2,
      seed: 3,
      rolloutLimits: { maxModelCalls: 6, wallClockSeconds: 600 },
    };
    const result = (await workers.client.workflow.execute('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId,
      args: [config],
    })) as SvgRunResult;
    const after = await engineCounts(teacher.baseUrl);

    expect(result.status).toBe('completed');
    expect(result.finished).toBe(SAMPLES);
    // Garbage text carries no tool call: each sample ends at rollout 1, none crashed.
    const ledger = (
      await Promise.all(
        result.ledger.map(
          async (id) =>
            JSON.parse(
              await readArtifact({ id, size: 0, mediaType: 'application/json', preview: '' }),
            ) as LedgerEntry[],
        ),
      )
    ).flat();
    expect(ledger).toHaveLength(SAMPLES);
    for (const entry of ledger) {
      expect(entry.record).toBeDefined();
      expect(entry.accepted).toBe(false);
      expect(entry.reason).toBe('rollout1_exit_format');
    }
    expect(result.rejectedByReason).toEqual({ rollout1_exit_format: SAMPLES });

    const rollouts = await rolloutsOf(workers.client, workflowId);
    expect(rollouts.length).toBeGreaterThanOrEqual(SAMPLES);
    const turns = rollouts.flatMap((r) => r.trajectory.turns);
    expect(turns.length).toBeGreaterThan(0);
    for (const { result: rollout, trajectory } of rollouts) {
      expect(rollout.exitStatus).toBe('exit_format');
      expect(trajectory.exit?.status).toBe('exit_format');
      // The reply policy names the cause of the last reply that went wrong.
      expect(trajectory.exit?.detail).toMatch(/\((length|empty|no_tool_call|malformed)\)/);
      // No reply without a tool call was kept as a trained turn.
      expect(trajectory.messages.filter((m) => m.role === 'assistant')).toEqual([]);
    }
    // Each turn names the model as the engine served it.
    expect(new Set(turns.map((t) => t.model))).toEqual(new Set([teacher.model]));

    // The engine's own counts: every request it finished is in a turn record, every token too.
    const engineRequests = (counts: typeof before): number =>
      Object.values(counts.requests).reduce((a, b) => a + b, 0);
    const asked = turns.reduce(
      (sum, t) =>
        sum + 1 + (t.requeried ?? 0) + Object.values(t.retried ?? {}).reduce((a, b) => a + (b ?? 0), 0),
      0,
    );
    expect(engineRequests(after) - engineRequests(before)).toBe(asked);
    expect(after.promptTokens - before.promptTokens).toBe(
      turns.reduce((sum, t) => sum + t.usage.promptTokens, 0),
    );
    expect(after.generationTokens - before.generationTokens).toBe(
      turns.reduce((sum, t) => sum + t.usage.completionTokens, 0),
    );
    expect(result.tokens).toBe(
      after.promptTokens - before.promptTokens + after.generationTokens - before.generationTokens,
    );
    // Cut replies, by cause: those asked again plus the last of each rollout = what the engine cut.
    const retriedForLength = turns.reduce((sum, t) => sum + (t.retried?.length ?? 0), 0);
    const endedForLength = rollouts.filter((r) => r.trajectory.exit?.detail?.includes('(length)')).length;
    expect(retriedForLength).toBeGreaterThan(0);
    expect(retriedForLength + endedForLength).toBe(
      (after.requests.length ?? 0) - (before.requests.length ?? 0),
    );
    expect(await containersOfRun(runId)).toEqual([]);
  }, 900_000);
});
