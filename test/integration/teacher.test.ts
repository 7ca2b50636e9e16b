import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extractPrDescription,
  judgeAnswer,
  judgePrompt,
  prDescriptionPrompt,
} from '../../core/agent/side-prompts';
import { trajectorySteps } from '../../core/agent/steps';
import { TaskQueues } from '../../core/queues';
import { changedLines, softVerify } from '../../core/soft-verify';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { RolloutResult } from '../../workflows/rollout';
import { exampleRolloutRequest, readArtifact, readTrajectory } from '../support/rollout';
import { startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

const HOST = 'teacher-tests';

describe('the offline teacher through the openai client', () => {
  let teacher: TeacherServer;
  let client: OpenAI;
  let workers: RunningWorkers;
  beforeAll(async () => {
    teacher = await startTeacherServer({ fidelity: 1 });
    client = new OpenAI({ baseURL: teacher.url, apiKey: 'unused', maxRetries: 0 });
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], { sandboxHostId: HOST });
  });
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  async function ask(prompt: string): Promise<string> {
    const reply = await client.chat.completions.create({
      model: TEACHER_MODEL,
      messages: [{ role: 'user', content: prompt }],
      seed: 1,
    });
    expect(reply.usage?.prompt_tokens).toBeGreaterThan(0);
    return reply.choices[0]?.message.content ?? '';
  }

  it('lists its model like any OpenAI-compatible server', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([TEACHER_MODEL]);
  });

  it('writes a PR description of rollout 1’s change from which rollout 2 reproduces it', async () => {
    const runId = uniqueRunId('chain');
    const first = (await workers.client.workflow.execute('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${runId}-r1`,
      args: [await exampleRolloutRequest(runId, 'r1', teacher.url, HOST)],
    })) as RolloutResult;
    expect(first.exitStatus).toBe('submitted');
    const patch1 = await readArtifact(first.patch!);

    expect(judgeAnswer(await ask(judgePrompt(patch1)))).toBe('yes');
    expect(judgeAnswer(await ask(judgePrompt('')))).toBe('no');

    const steps = trajectorySteps(await readTrajectory(first.trajectory));
    const demo = 'Calling `foo()` with an empty list raises IndexError instead of returning None.';
    const pr = extractPrDescription(await ask(prDescriptionPrompt(steps, [demo])));
    expect(pr).toBeDefined();
    expect(pr).toContain('`windowed` in `more_itertools/more.py`');
    // The symptom, not the fix: the new code does not appear in the description.
    const added = changedLines(patch1)
      .filter((l) => l.startsWith('+'))
      .map((l) => l.slice(1).trim());
    for (const line of added) expect(pr).not.toContain(line);

    const second = (await workers.client.workflow.execute('rollout', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `${runId}-r2`,
      args: [await exampleRolloutRequest(runId, 'r2', teacher.url, HOST, { kind: 'reproduce', task: pr! })],
    })) as RolloutResult;
    expect(second.exitStatus).toBe('submitted');
    expect(softVerify(patch1, await readArtifact(second.patch!), 1)).toMatchObject({
      recall: 1,
      verified: true,
    });
  });
});
