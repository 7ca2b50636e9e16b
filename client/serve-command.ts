import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { TrainStudentResult } from '../activities/train/train-student';
import type { ServeProgress } from '../activities/serve/serve-model';
import { isArtifactId } from '../core/artifacts';
import type { FileSource } from '../core/eval/eval-input';
import { TaskQueues } from '../core/queues';
import { serveWorkflowId, type ServeStudentRequest } from '../core/serve/serve-request';
import { workflowUiUrl, type TemporalSettings } from '../infra/temporal-connection';
import type { ServeStatus, ServeStudentResult } from '../workflows/serve-student';
import { runWorkflowId } from './run-workflow-id';
import { asRunResult } from './svg-run-commands';
import type { SvgRunResult } from '../workflows/svg-run';
import type { SpecializeResult } from '../workflows/specialize-repository';
import { workflowResult } from './workflow-failure';

export interface ServeStartOptions {
  /** The run whose trained student is served (its training stage's model). */
  run?: string;
  /** A model instead: an artifact id (sha256:…) or a Hugging Face folder on the gpu-serve host. */
  model?: string;
  port: number;
  bind?: string;
  /** The environment variable that holds the token; without it one is made and shown once. */
  tokenEnv?: string;
  name: string;
  maxModelLen: number;
  gpus: number;
  engineArg: string[];
}

/**
 * The model a run trained: its training stage's result, else the finished run's own result (a
 * training reused from an earlier run), else the latest `train <runId>` command's; or a clear
 * reason there is none.
 */
export async function trainedModelOf(client: Client, runId: string): Promise<string> {
  const describe = (id: string) =>
    client.workflow
      .getHandle(id)
      .describe()
      .catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      });
  const trainId = `${runWorkflowId(runId)}-train`;
  const stage = await describe(trainId);
  if (stage?.status.name === 'COMPLETED')
    return ((await client.workflow.getHandle(trainId).result()) as TrainStudentResult).model;
  const run = await describe(runWorkflowId(runId));
  if (run?.status.name === 'COMPLETED') {
    const result = (await client.workflow.getHandle(runWorkflowId(runId)).result()) as
      SvgRunResult | SpecializeResult;
    const model = asRunResult(result).training?.model;
    if (model) return model;
  }
  const command = await latestTrainCommand(client, runId);
  if (command) return command;
  if (stage)
    throw new Error(
      `run ${runId} has no trained model: its training (workflow ${trainId}) is ${stage.status.name}`,
    );
  if (!run) throw new Error(`no run ${runId} on this Temporal server (no workflow ${runWorkflowId(runId)})`);
  throw new Error(
    `run ${runId} (${run.status.name}) has no trained model: its config has no "train" section or it has not reached training; train it with "train ${runId}", or serve a model with --model`,
  );
}

/** The model of the latest finished `train <runId>` command (workflow sera-run-<runId>-train-<hash>). */
async function latestTrainCommand(client: Client, runId: string): Promise<string | undefined> {
  const prefix = `${runWorkflowId(runId)}-train-`;
  let latest: { id: string; closed: number } | undefined;
  try {
    for await (const w of client.workflow.list({
      query: `WorkflowType = 'trainStudentModel' AND ExecutionStatus = 'Completed' AND WorkflowId STARTS_WITH '${prefix}'`,
    })) {
      const closed = w.closeTime?.getTime() ?? 0;
      if (w.workflowId.startsWith(prefix) && (!latest || closed > latest.closed))
        latest = { id: w.workflowId, closed };
    }
  } catch {
    return undefined; // a visibility store without STARTS_WITH: the run's own stages still count
  }
  if (!latest) return undefined;
  return ((await client.workflow.getHandle(latest.id).result()) as TrainStudentResult).model;
}

async function checkpointOf(client: Client, options: ServeStartOptions): Promise<FileSource> {
  if (options.model && options.run) throw new Error('give --run or --model, not both');
  if (options.model) {
    if (isArtifactId(options.model)) return { artifact: options.model };
    // A folder on the gpu-serve host: the worker checks it (config.json), not this machine.
    return { path: path.isAbsolute(options.model) ? options.model : path.resolve(options.model) };
  }
  if (!options.run) throw new Error('say what to serve: --run <run-id> or --model <folder-or-artifact>');
  return { artifact: await trainedModelOf(client, options.run) };
}

function tokenFor(options: ServeStartOptions): { token: string; made: boolean } {
  if (!options.tokenEnv) return { token: randomBytes(24).toString('base64url'), made: true };
  const token = process.env[options.tokenEnv];
  if (!token) throw new Error(`--token-env ${options.tokenEnv}: that environment variable is empty or unset`);
  if (token.length < 16)
    throw new Error(`--token-env ${options.tokenEnv}: a token needs at least 16 characters`);
  return { token, made: false };
}

export function tokenSha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The serving's status, with the activity's heartbeat (requests answered) when it runs. */
export async function servingStatus(
  handle: WorkflowHandle,
): Promise<{ status?: ServeStatus; workflow: string; heartbeat?: ServeProgress }> {
  const described = await handle.describe();
  const workflow = described.status.name;
  if (workflow !== 'RUNNING') return { workflow };
  const status = await handle.query<ServeStatus>('status');
  const raw = await described.raw;
  const pending = raw.pendingActivities?.[0];
  let heartbeat: ServeProgress | undefined;
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (payload?.data) {
    try {
      heartbeat = JSON.parse(Buffer.from(payload.data).toString('utf8')) as ServeProgress;
    } catch {
      heartbeat = undefined;
    }
  }
  return { status, workflow, heartbeat };
}

export function describeServing(s: Awaited<ReturnType<typeof servingStatus>>, id: string): string[] {
  if (!s.status) return [`${id}: ${s.workflow}`];
  const lines = [`${id}: ${s.status.phase} since ${s.status.startedAt} (engine starts: ${s.status.starts})`];
  if (s.status.server?.proxyUrl)
    lines.push(`  proxy:  ${s.status.server.proxyUrl} (model "${s.status.server.model}")`);
  if (s.status.server) lines.push(`  engine: ${s.status.server.baseUrl}`);
  if (s.heartbeat?.requests !== undefined)
    lines.push(`  requests answered by this proxy: ${s.heartbeat.requests}`);
  return lines;
}

/** Starts serving and returns once the proxy answers (or the serving failed), with a progress line. */
export async function startServing(
  client: Client,
  settings: TemporalSettings,
  options: ServeStartOptions,
): Promise<{ handle: WorkflowHandle; status: ServeStatus; token: string; tokenMade: boolean }> {
  const runId =
    options.run ??
    `model-${createHash('sha256')
      .update(options.model ?? '')
      .digest('hex')
      .slice(0, 12)}`;
  const { token, made } = tokenFor(options);
  const checkpoint = await checkpointOf(client, options);
  const request: ServeStudentRequest = {
    runId,
    checkpoint,
    servedName: options.name,
    maxModelLen: options.maxModelLen,
    gpus: options.gpus,
    extraArgs: options.engineArg,
    proxy: { port: options.port, bind: options.bind, tokenSha256: tokenSha256(token) },
  };
  const workflowId = serveWorkflowId(runId);
  const handle = await client.workflow
    .start('serveStudent', { taskQueue: TaskQueues.orchestration, workflowId, args: [request] })
    .catch((error: unknown) => {
      if (error instanceof Error && error.name === 'WorkflowExecutionAlreadyStartedError')
        throw new Error(
          `${workflowId} is already serving: "serve status ${runId}", or "serve stop ${runId}" first`,
        );
      throw error;
    });
  console.error(`serving ${workflowId}: ${workflowUiUrl(settings, workflowId)}`);
  const began = Date.now();
  for (;;) {
    const described = await handle.describe();
    if (described.status.name !== 'RUNNING') {
      await workflowResult<ServeStudentResult>(handle); // throws the failure, named
      throw new Error(`${workflowId} ended (${described.status.name}) before it served`);
    }
    const status = await handle.query<ServeStatus>('status');
    if (status.phase === 'serving') {
      if (process.stderr.isTTY) process.stderr.write('\n');
      return { handle, status, token, tokenMade: made };
    }
    const line = `starting the engine… ${Math.round((Date.now() - began) / 1000)} s`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export function describeStarted(runId: string, status: ServeStatus, token: string, made: boolean): string[] {
  const url = status.server?.proxyUrl ?? '?';
  return [
    `serving ${runId} at ${url} as model "${status.server?.model ?? '?'}"`,
    made
      ? `token: ${token}   (shown once; choose your own with --token-env NAME)`
      : 'token: the one in your --token-env variable',
    `OpenAI clients:    base URL ${url}/v1, API key = the token`,
    `Anthropic clients: base URL ${url}, API key = the token`,
    `stop it: npm run cli -- serve stop ${runId}`,
  ];
}

export function servingHandle(client: Client, runOrWorkflowId: string): WorkflowHandle {
  const id = runOrWorkflowId.startsWith('sera-serve-') ? runOrWorkflowId : serveWorkflowId(runOrWorkflowId);
  return client.workflow.getHandle(id);
}

/** Asks the serving to stop and waits until its engine and proxy are down. */
export async function stopServing(client: Client, runOrWorkflowId: string): Promise<ServeStudentResult> {
  const handle = servingHandle(client, runOrWorkflowId);
  const described = await handle.describe().catch((error: unknown) => {
    if (error instanceof WorkflowNotFoundError)
      throw new Error(`nothing serves ${runOrWorkflowId} (no workflow ${handle.workflowId})`);
    throw error;
  });
  if (described.status.name === 'RUNNING') await handle.signal('stop');
  return workflowResult<ServeStudentResult>(handle);
}
