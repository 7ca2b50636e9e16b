import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { isArtifactId } from '../core/artifacts';
import type { EvalReport, ScalingPoint } from '../core/eval/eval-report';
import { TaskQueues } from '../core/queues';
import { isGitUrl } from '../core/names';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { workflowUiUrl, type TemporalSettings } from '../infra/temporal-connection';
import type { EvalOutputs } from '../activities/eval/report';
import type { BuildEvalSetResult } from '../workflows/build-eval-set';
import { readConfigFile } from './config-file';
import { workflowResult } from './workflow-failure';

type Json = Record<string, unknown>;

/** Paths in a config file are relative to the file; the workers get them absolute. */
export function absolutePaths(config: Json, dir: string): Json {
  const fix = (p: unknown): unknown =>
    typeof p === 'string' && !isGitUrl(p) && !path.isAbsolute(p) ? path.resolve(dir, p) : p;
  const fixSource = (s: unknown): unknown =>
    s !== null && typeof s === 'object' && 'path' in s ? { ...s, path: fix((s as Json).path) } : s;
  const out: Json = { ...config };
  if (out.instances) out.instances = fixSource(out.instances);
  if (out.repository && typeof out.repository === 'object')
    out.repository = { ...(out.repository as Json), path: fix((out.repository as Json).path) };
  if (out.environments && typeof out.environments === 'object')
    out.environments = Object.fromEntries(
      Object.entries(out.environments as Json).map(([repo, env]) => [
        repo,
        env && typeof env === 'object' ? { ...env, path: fix((env as Json).path) } : env,
      ]),
    );
  if (Array.isArray(out.predictions))
    out.predictions = out.predictions.map((p: unknown) =>
      p && typeof p === 'object' ? { ...p, source: fixSource((p as Json).source) } : p,
    );
  const model = out.model as Json | undefined;
  if (model?.serve && typeof model.serve === 'object') {
    const serve = model.serve as Json;
    out.model = { ...model, serve: { ...serve, checkpoint: fixSource(serve.checkpoint) } };
  }
  return out;
}

export function readEvalConfig(file: string, what: string): Json {
  const raw = readConfigFile(file, what);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`the ${what} ${file} is not an object`);
  return absolutePaths(raw as Json, path.dirname(path.resolve(file)));
}

/** Starts a workflow whose id follows from its config (the same config twice is the same run). */
export async function startFromConfig(
  client: Client,
  settings: TemporalSettings,
  type: string,
  prefix: string,
  config: Json,
): Promise<WorkflowHandle> {
  const hash = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 10);
  const workflowId = `${prefix}-${String(config.runId ?? 'run')}-${hash}`;
  const handle = await client.workflow.start(type, {
    taskQueue: TaskQueues.orchestration,
    workflowId,
    args: [config],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  console.error(`${type} ${workflowId}: ${workflowUiUrl(settings, workflowId)}`);
  return handle;
}

/** Waits for the result, printing the workflow's `progress` query now and then. */
export async function followWorkflow<R>(
  handle: WorkflowHandle,
  line: (progress: Json) => string,
): Promise<R> {
  const tty = process.stderr.isTTY;
  let last = '';
  let inFlight: Promise<void> = Promise.resolve();
  const poll = setInterval(() => {
    inFlight = handle
      .query<Json>('progress')
      .then((p) => {
        const text = line(p);
        if (text === last) return;
        last = text;
        process.stderr.write(tty ? `\r\x1b[K${text}` : `  ${text}\n`);
      })
      .catch(() => undefined);
  }, 2000);
  try {
    return await workflowResult<R>(handle);
  } finally {
    clearInterval(poll);
    // A query still on its way when the caller closes the connection would fail in a retry timer.
    await inFlight;
    if (tty && last) process.stderr.write('\n');
  }
}

export function describeEvalSet(result: BuildEvalSetResult, out?: string): string[] {
  const store = new LocalArtifactStore(artifactsDir());
  if (out && result.instances) {
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    copyFileSync(store.pathOf(result.instances.id), out);
  }
  return [
    `${result.accepted.length} instance(s) accepted, ${result.rejected.length} rejected`,
    ...result.accepted.map(
      (a) => `  accepted ${a.instanceId}: ${a.failToPass} FAIL_TO_PASS, ${a.passToPass} PASS_TO_PASS`,
    ),
    ...result.rejected.map((r) => `  rejected ${r.instanceId}: ${r.reason}`),
    ...(result.instances
      ? [`  instances ${out ? path.resolve(out) : store.pathOf(result.instances.id)}`]
      : []),
  ];
}

/** Where an evaluation's outputs are, and what it found. */
export function describeEvalOutputs(outputs: EvalOutputs): string[] {
  const store = new LocalArtifactStore(artifactsDir());
  return [
    outputs.headline,
    `  report.json     ${store.pathOf(outputs.report.id)}`,
    `  per-instance    ${store.pathOf(outputs.log.id)}`,
    ...Object.entries(outputs.predictions).map(
      ([name, id]) => `  predictions ${name.padEnd(4)} ${store.pathOf(id)}`,
    ),
    ...Object.entries(outputs.charts).map(([name, id]) => `  ${name.padEnd(15)} ${store.pathOf(id)}`),
  ];
}

export function gradeProgressLine(p: Record<string, unknown>): string {
  return `${String(p.stage)}: ${String(p.graded)}/${String(p.total)} graded, ${String(p.resolved)} resolved`;
}

export function evaluateProgressLine(p: Record<string, unknown>): string {
  const server = p.server as { baseUrl?: string } | undefined;
  const where = server?.baseUrl ? ` (model served at ${server.baseUrl})` : '';
  return `${String(p.stage)}: ${String(p.solved)}/${String(p.total)} solved and graded, ${String(p.resolved)} resolved${where}`;
}

/** A report.json by path, or by artifact id. */
export function readReport(ref: string): EvalReport {
  const file = isArtifactId(ref) ? new LocalArtifactStore(artifactsDir()).pathOf(ref) : ref;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as EvalReport;
  } catch (error) {
    throw new Error(`cannot read the evaluation report ${ref}: ${(error as Error).message}`);
  }
}

/** Points for a scaling fit: a JSON or YAML list of {x, y, label?} (y: resolve rate, 0 to 1). */
export function readScalingPoints(file: string): ScalingPoint[] {
  const raw = readConfigFile(file, 'scaling points');
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a list of {x, y, label?}`);
  return raw.map((p: unknown, i) => {
    const point = p as Partial<ScalingPoint>;
    if (typeof point.x !== 'number' || typeof point.y !== 'number')
      throw new Error(`${file}: point ${i + 1} needs numbers x and y`);
    return { x: point.x, y: point.y, label: point.label };
  });
}
