import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { startCodecServerCommand } from '../../client/codec-server-command';
import { payloadToJson, type JsonPayload, type RunningCodecServer } from '../../infra/codec-server';
import { ENCRYPTED_ENCODING } from '../../infra/payload-codec';
import { temporalCliPath } from '../../infra/paths';
import { connectClient, connectWorker, temporalSettingsFromEnv } from '../../infra/temporal-connection';
import { ensureDevServer, freePort, stopDevServer } from '../../infra/temporal-server';
import * as activities from '../support/payload-codec-activities';
import { CODEC_TEST_QUEUE, revealedQuery, revealSignal } from '../support/payload-codec-workflows';
import { uniqueRunId, useTestServer } from '../support/temporal';

const SECRET = `private-repo-code-${randomBytes(6).toString('hex')}`;
const UI_ORIGIN = 'http://localhost:18233';
const KEY_ENV = {
  SERA_PAYLOAD_KEY: randomBytes(32).toString('base64'),
  SERA_PAYLOAD_KEY_ID: 'test-key-1',
  SERA_CODEC_TOKEN: randomBytes(16).toString('hex'),
};

/** Every Payload-shaped message in a decoded history (skipping search attributes, which the server must read). */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && record.metadata && typeof record.metadata === 'object') {
    found.push(record as Payload);
    return found;
  }
  for (const [field, child] of Object.entries(record)) {
    if (field !== 'searchAttributes') payloadsIn(child, found);
  }
  return found;
}

const encodingOf = (payload: Payload): string => Buffer.from(payload.metadata?.encoding ?? []).toString();

describe('payload encryption with a key the user gives', () => {
  const workflowId = uniqueRunId('payload-codec');
  let client: Client;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let codecServer: RunningCodecServer;
  let result: { echoed: string; revealed: string };

  const decodeRequest = (payloads: JsonPayload[], headers: Record<string, string>) =>
    fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: JSON.stringify({ payloads }),
    });

  beforeAll(async () => {
    useTestServer();
    const settings = temporalSettingsFromEnv({ ...process.env, ...KEY_ENV });
    client = await connectClient(settings);
    connection = await connectWorker(settings);
    // As workers/role-workers.ts does: the worker encodes with its client's converter.
    worker = await Worker.create({
      connection,
      taskQueue: CODEC_TEST_QUEUE,
      workflowsPath: fileURLToPath(new URL('../support/payload-codec-workflows.ts', import.meta.url)),
      activities,
      dataConverter: client.options.dataConverter,
    });
    running = worker.run();
    codecServer = await startCodecServerCommand(
      { port: 0, host: '127.0.0.1', origin: UI_ORIGIN },
      { ...process.env, ...KEY_ENV },
    );

    const handle = await client.workflow.start('echoSecret', {
      taskQueue: CODEC_TEST_QUEUE,
      workflowId,
      args: [{ text: SECRET }],
      memo: { note: SECRET },
    });
    await handle.signal(revealSignal, SECRET);
    result = await handle.result();
    expect(await handle.query(revealedQuery)).toBe(SECRET);
  });

  afterAll(async () => {
    await codecServer?.close();
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection?.close();
    await client?.connection.close();
  });

  it('runs a workflow whose stored history holds the text nowhere in clear', async () => {
    expect(result).toEqual({ echoed: `echo: ${SECRET}`, revealed: SECRET });
    const { history } = await client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    const stored = Buffer.from(proto.temporal.api.history.v1.History.encode(history!).finish());
    expect(stored.includes(Buffer.from(SECRET))).toBe(false);

    const payloads = payloadsIn(history);
    // Workflow input, memo, activity input and result, signal, workflow result at least.
    expect(payloads.length).toBeGreaterThanOrEqual(6);
    expect(payloads.map(encodingOf).filter((encoding) => encoding !== ENCRYPTED_ENCODING)).toEqual([]);
  });

  it('decodes through the codec endpoint for a caller with the token, and only for them', async () => {
    const { history } = await client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    const completed = history!.events!.find((e) => e.workflowExecutionCompletedEventAttributes);
    const resultPayloads = completed!.workflowExecutionCompletedEventAttributes!.result!.payloads!;
    const body = resultPayloads.map((p) => payloadToJson(p));

    const denied = await decodeRequest(body, {});
    expect(denied.status).toBe(401);
    expect(await denied.text()).not.toContain(SECRET);
    const wrong = await decodeRequest(body, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);

    const allowed = await decodeRequest(body, { authorization: `Bearer ${KEY_ENV.SERA_CODEC_TOKEN}` });
    expect(allowed.status).toBe(200);
    const decoded = ((await allowed.json()) as { payloads: JsonPayload[] }).payloads;
    expect(Buffer.from(decoded[0]!.metadata!.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded[0]!.data!, 'base64').toString())).toEqual(result);
  });

  it('lets the temporal CLI show the history decoded through the endpoint, and only through it', async () => {
    // Asynchronous: the codec endpoint the CLI calls runs in this process and must keep answering.
    const show = async (...codec: string[]): Promise<string> => {
      const { stdout } = await promisify(execFile)(
        temporalCliPath,
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          '--address',
          useTestServer().address,
          '--output',
          'json',
          ...codec,
        ],
        { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' },
      );
      return stdout;
    };
    // The CLI prints a payload either as its JSON value or as base64 data.
    const readable = (out: string): boolean =>
      out.includes(SECRET) ||
      [...out.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].some((m) =>
        Buffer.from(m[1]!, 'base64').toString('utf8').includes(SECRET),
      );
    expect(readable(await show())).toBe(false);
    expect(
      readable(
        await show('--codec-endpoint', codecServer.url, '--codec-auth', `Bearer ${KEY_ENV.SERA_CODEC_TOKEN}`),
      ),
    ).toBe(true);
  });

  it("answers a CORS preflight from the UI's origin only", async () => {
    const preflight = (origin: string) =>
      fetch(`${codecServer.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const fromUi = await preflight(UI_ORIGIN);
    expect(fromUi.status).toBe(204);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(fromUi.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const fromElsewhere = await preflight('http://evil.example');
    expect(fromElsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('leaves a client without the key unable to read the result, with a clear error', async () => {
    const keyless = await connectClient(useTestServer());
    try {
      await expect(keyless.workflow.getHandle(workflowId).result()).rejects.toThrow(
        /payload is encrypted \(key id "test-key-1"\) and this process has no key: set SERA_PAYLOAD_KEY/,
      );
    } finally {
      await keyless.connection.close();
    }
  });

  it("points the dev server's UI at the codec endpoint when SERA_CODEC_ENDPOINT is set", async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'sera-codec-ui-'));
    const previous = process.env.SERA_CODEC_ENDPOINT;
    process.env.SERA_CODEC_ENDPOINT = codecServer.url;
    try {
      const dev = await ensureDevServer({
        port: await freePort(),
        uiPort: await freePort(),
        dbFile: path.join(stateDir, 'temporal.db'),
        stateDir,
      });
      // The UI's HTTP server may answer a moment after the gRPC health check.
      let settings: { Codec?: { Endpoint?: string } } | undefined;
      for (let attempt = 0; attempt < 40 && !settings; attempt++) {
        settings = await fetch(`${dev.uiUrl}/api/v1/settings`)
          .then((r) => (r.ok ? (r.json() as Promise<{ Codec?: { Endpoint?: string } }>) : undefined))
          .catch(() => undefined);
        if (!settings) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(settings?.Codec?.Endpoint).toBe(codecServer.url);
    } finally {
      if (previous === undefined) delete process.env.SERA_CODEC_ENDPOINT;
      else process.env.SERA_CODEC_ENDPOINT = previous;
      stopDevServer(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
