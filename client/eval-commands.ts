import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { isArtifactId } from '../core/artifacts';
import type { EvalReport } from '../core/eval/eval-report';
import { TaskQueues } from '../core/queues';
import { isGitUrl } from '../core/names';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { connectClient, workflowUiUrl, type TemporalSettings } from '../infra/temporal-connection';
import type { EvalOutputs } from '../activities/eval/report';
import { collectPoints, type ScalingSource } from '../activities/eval/scaling';
import {
  describeFit,
  describeProjection,
  fitScalingPoints,
  pointAt,
  scalingChart,
  scalingMarkdown,
  X_QUANTITIES,
  type MeasuredPoint,
  type XQuantity,
} from '../core/eval/scaling-report';
import type { BuildEvalSetResult } from '../workflows/build-eval-set';
import { readConfigFile } from './config-file';
import { runWorkflowId } from './run-workflow-id';
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
/** A point typed by hand in a points file. */
export interface ScalingPoint {
  label?: string;
  x: number;
  y: number;
}

export function readScalingPoints(file: string): ScalingPoint[] {
  const raw = readConfigFile(file, 'scaling points');
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a list of {x, y, label?}`);
  return raw.map((p: unknown, i) => {
    const point = p as Partial<ScalingPoint>;
    if (typeof point.x !== 'number' || typeof point.y !== 'number')
      throw new Error(`${file}: point ${i + 1} needs numbers x and y`);
    if (point.y < 0 || point.y > 1)
      throw new Error(
        `${file}: point ${i + 1} has y ${point.y}: y is a resolve rate from 0 to 1 (write 45 % as 0.45)`,
      );
    return { x: point.x, y: point.y, label: point.label };
  });
}

/** `--eval` takes a workflow id, or `<workflowId>=<x>` for an evaluation outside a run. */
export function parseEvalSource(text: string): ScalingSource {
  const at = text.lastIndexOf('=');
  if (at < 0) return { workflowId: text };
  const x = Number(text.slice(at + 1));
  if (!(x > 0)) throw new Error(`--eval ${text}: the x after "=" must be a positive number`);
  return { workflowId: text.slice(0, at), x };
}

/** `--run` takes a workflow id, or a run config's runId (whose workflow is sera-run-<runId>). */
async function runSource(client: Client, id: string): Promise<ScalingSource> {
  try {
    await client.workflow.getHandle(id).describe();
    return { workflowId: id };
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    return { workflowId: runWorkflowId(id) };
  }
}

export interface ScalingCommandOptions {
  run?: string[];
  eval?: string[];
  x: string;
  target?: string;
  xLabel?: string;
  plot: string;
  report?: string;
  out?: string;
}

/**
 * `eval scaling`: points typed in a file and/or read from finished runs and evaluations (through
 * the Temporal client), the fit with R², the plot and the projection to a target rate.
 */
export async function runScalingCommand(
  file: string | undefined,
  options: ScalingCommandOptions,
): Promise<string[]> {
  if (!(X_QUANTITIES as readonly string[]).includes(options.x))
    throw new Error(`--x ${options.x}: expected one of ${X_QUANTITIES.join(', ')}`);
  const x = options.x as XQuantity;
  const target = options.target === undefined ? undefined : Number(options.target);
  if (target !== undefined && !(target > 0 && target <= 1))
    throw new Error(`--target ${options.target}: expected a resolve rate above 0 and at most 1`);
  const points: MeasuredPoint[] = file
    ? readScalingPoints(file).map((p, i) => pointAt(x, p.x, p.y, p.label ?? `point ${i + 1}`))
    : [];
  const runs = options.run ?? [];
  const evals = (options.eval ?? []).map(parseEvalSource);
  if (!file && runs.length === 0 && evals.length === 0)
    throw new Error('eval scaling: give a points file, or finished runs (--run) or evaluations (--eval)');
  if (runs.length > 0 || evals.length > 0) {
    const client = await connectClient();
    try {
      const sources = [...(await Promise.all(runs.map((id) => runSource(client, id)))), ...evals];
      points.push(...(await collectPoints(client, sources, x)));
    } finally {
      await client.connection.close();
    }
  }
  const result = fitScalingPoints(points, x, target);
  writeFileSync(options.plot, scalingChart(result, options.xLabel));
  if (options.report)
    writeFileSync(
      options.report,
      scalingMarkdown(result, {
        file: path.relative(path.dirname(path.resolve(options.report)), path.resolve(options.plot)),
      }),
    );
  if (options.out) writeFileSync(options.out, JSON.stringify(result, null, 2));
  const projection = describeProjection(result);
  return [
    describeFit(result.fit),
    ...(projection ? [projection] : []),
    `plot: ${path.resolve(options.plot)}`,
    ...(options.report ? [`report: ${path.resolve(options.report)}`] : []),
  ];
}
