import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { TaskQueues } from '../../core/queues';
import type { RunConfigRequest } from '../../core/run-config';
import { exampleRepository } from '../../infra/example-repo';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../../infra/teacher-server';
import type { SvgRunProgress, SvgRunResult } from '../../workflows/svg-run';
import { containersOfRun, startWorkers, uniqueRunId, type RunningWorkers } from '../support/temporal';

/** The variable the in-process llm worker reads the teacher's key from. */
const KEY_VARIABLE = 'SERA_TEST_TEACHER_KEY';

/**
 * The offline teacher behind a door that checks the bearer key: a request with the accepted key
 * goes through, any other is answered 401 as OpenAI answers a wrong key.
 */
interface KeyedTeacher {
  url: string;
  /** The key the door lets in; undefined lets none in. */
  accepted: string | undefined;
  /** Chat requests let through. */
  chats: number;
  /** Requests refused. */
  refused: number;
  /** Called after each chat request let through. */
  onChat?: (chats: number) => void;
  close(): Promise<void>;
}

async function keyedTeacher(teacher: TeacherServer, key: string): Promise<KeyedTeacher> {
  const upstream = teacher.url.replace(/\/v1$/, '');
  const door: KeyedTeacher = {
    url: '',
    accepted: key,
    chats: 0,
    refused: 0,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (door.accepted === undefined || req.headers.authorization !== `Bearer ${door.accepted}`) {
        door.refused += 1;
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: 'Incorrect API key provided',
              type: 'invalid_request_error',
              code: 'invalid_api_key',
            },
          }),
        );
        return;
      }
      void fetch(`${upstream}${req.url}`, {
        method: req.method,
        headers: { 'content-type': 'application/json' },
        ...(req.method === 'POST' ? { body } : {}),
      }).then(async (reply) => {
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(await reply.text());
        if (req.url?.endsWith('/chat/completions')) {
          door.chats += 1;
          door.onChat?.(door.chats);
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  door.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  door.close = () => new Promise((resolve) => server.close(() => resolve()));
  return door;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 500));
}

describe('a run whose teacher refuses its key', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  let door: KeyedTeacher;
  beforeAll(async () => {
    teacher = await startTeacherServer({ fidelity: 0.8 });
    door = await keyedTeacher(teacher, 'first');
    process.env[KEY_VARIABLE] = 'first';
    workers = await startWorkers(['orchestration', 'sandbox', 'llm'], {
      sandboxHostId: 'teacher-auth-tests',
    });
  });
  afterAll(async () => {
    await workers?.stop();
    await door?.close();
    await teacher?.close();
    delete process.env[KEY_VARIABLE];
  });

  function config(runId: string, overrides: Partial<RunConfigRequest> = {}): RunConfigRequest {
    const example = exampleRepository();
    return {
      runId,
      repository: { path: example.path, commit: example.commit },
      teacher: { baseUrl: door.url, model: TEACHER_MODEL, apiKeyEnv: KEY_VARIABLE },
      samples: 5,
      concurrency: 2,
      seed: 5,
      ...overrides,
    };
  }

  it('pauses with the reason when the key stops working, and finishes every sample once resumed', async () => {
    const runId = uniqueRunId('auth-pause');
    // The key works for a while, then the server stops taking it (as when a key is revoked).
    door.onChat = (chats) => {
      if (chats >= 6) door.accepted = undefined;
    };
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId)],
    });
    await until(async () => ((await handle.query('progress')) as SvgRunProgress).paused);
    // Samples that were running when the key broke fail on it too, then nothing runs.
    await until(async () => ((await handle.query('progress')) as SvgRunProgress).running === 0);
    const paused = (await handle.query('progress')) as SvgRunProgress;
    expect(paused.pauseReason).toMatch(/^teacher authentication failed: .*401.*Incorrect API key provided/);
    expect(paused.requeued).toBeGreaterThan(0);
    expect(paused.finished).toBeLessThan(5);
    expect(paused.rejectedByReason.sample_failed ?? 0).toBe(0);
    const refusedWhilePaused = door.refused;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const still = (await handle.query('progress')) as SvgRunProgress;
    expect(still).toMatchObject({ paused: true, started: paused.started, running: 0 });
    expect(door.refused).toBe(refusedWhilePaused);

    // The key is fixed on the worker and the server; resume runs the held samples first.
    door.onChat = undefined;
    door.accepted = 'fixed';
    process.env[KEY_VARIABLE] = 'fixed';
    await handle.signal('resume');
    const result = (await handle.result()) as SvgRunResult;
    expect(result.status).toBe('completed');
    expect(result.finished).toBe(5);
    const reasons = Object.values(result.rejectedByReason).reduce((a, b) => a + b, 0);
    expect(result.acceptedCount! + reasons).toBe(5);
    expect(result.rejectedByReason.sample_failed ?? 0).toBe(0);
    const done = (await handle.query('progress')) as SvgRunProgress;
    expect(done.paused).toBe(false);
    expect(done.pauseReason).toBeUndefined();
    expect(done.requeued).toBe(0);
    expect(await containersOfRun(runId)).toEqual([]);
  }, 600_000);

  it('fails at its start naming an API-key variable the llm worker does not have', async () => {
    const runId = uniqueRunId('auth-unset');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [
        config(runId, {
          teacher: { baseUrl: door.url, model: TEACHER_MODEL, apiKeyEnv: 'SERA_TEST_UNSET_TEACHER_KEY' },
        }),
      ],
    });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    let cause = (error as WorkflowFailedError).cause as Error | undefined;
    while (cause && cause.cause && !('type' in cause && cause.type)) cause = cause.cause as Error;
    expect((cause as ApplicationFailure).type).toBe('ModelAuthFailed');
    expect(cause?.message).toMatch(/SERA_TEST_UNSET_TEACHER_KEY.*llm worker/);
  });

  it('fails at its start when the server refuses the key', async () => {
    door.accepted = 'another';
    const runId = uniqueRunId('auth-refused');
    const handle = await workers.client.workflow.start('svgRun', {
      taskQueue: TaskQueues.orchestration,
      workflowId: `sera-run-${runId}`,
      args: [config(runId)],
    });
    const error = await handle.result().catch((e: unknown) => e);
    let cause = (error as WorkflowFailedError).cause as Error | undefined;
    while (cause && cause.cause && !('type' in cause && cause.type)) cause = cause.cause as Error;
    expect((cause as ApplicationFailure).type).toBe('ModelAuthFailed');
    expect(cause?.message).toMatch(/401/);
  });
});
