import path from 'node:path';
import type { Client } from '@temporalio/client';
import { readConfigFile, runConfigPathWarnings } from './config-file';
import { parseRunConfig, type RunConfig } from '../core/run-config';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir } from '../infra/paths';
import { isGitUrl } from '../core/names';
import { TaskQueues } from '../core/queues';
import { portOpen } from '../infra/temporal-server';
import { startTeacherServer, TEACHER_MODEL, type TeacherServer } from '../infra/teacher-server';
import { workflowUiUrl, type TemporalSettings } from '../infra/temporal-connection';
import type { SvgRunProgress, SvgRunResult } from '../workflows/svg-run';
import type { SpecializeProgress, SpecializeResult } from '../workflows/specialize-repository';
import { evaluateProgressLine } from './eval-commands';
import { progressLine } from './progress-bar';
import { acceptedCountOf } from '../core/accepted-count';
import { workflowResult } from './workflow-failure';
import { runWorkflowId } from './run-workflow-id';

export { runWorkflowId };

/** Reads a run config (JSON or YAML) and validates it; a relative repository path is taken from the current directory. */
export function loadRunConfig(file: string): RunConfig {
  const parsed = parseRunConfig(readConfigFile(file, 'run config'));
  if (!parsed.ok) throw new Error(`${file}: ${parsed.message}`);
  const config = parsed.value;
  for (const warning of runConfigPathWarnings(file, config)) console.warn(warning);
  if (!isGitUrl(config.repository.path)) {
    config.repository.path = path.resolve(config.repository.path);
  }
  const evaluation = config.evaluate;
  if (evaluation) {
    if ('path' in evaluation.instances) evaluation.instances.path = path.resolve(evaluation.instances.path);
    for (const env of Object.values(evaluation.environments))
      if (!isGitUrl(env.path)) env.path = path.resolve(env.path);
  }
  return config;
}

/**
 * The offline teacher, started here when the config names it at a local address nobody serves.
 * When the run evaluates on an instances file, the teacher gets those instances as solutions (its
 * solving mode, a test instrument: docs/teacher.md), so the base model's evaluation resolves some.
 */
export async function offlineTeacherFor(config: RunConfig): Promise<TeacherServer | undefined> {
  if (config.teacher.model !== TEACHER_MODEL) return undefined;
  const url = new URL(config.teacher.baseUrl);
  if (!['127.0.0.1', 'localhost'].includes(url.hostname)) return undefined;
  const port = Number(url.port || 80);
  if (await portOpen(port)) return undefined;
  const instances = config.evaluate?.instances;
  return startTeacherServer({
    port,
    host: '127.0.0.1',
    ...(instances && 'path' in instances ? { solutions: { instancesFile: instances.path } } : {}),
  });
}

/** Starts the whole lifecycle (specializeRepository) for a config; `resumeFrom` names an earlier run to take finished stages from. */
export async function startRun(client: Client, config: RunConfig, resumeFrom?: string): Promise<string> {
  const workflowId = runWorkflowId(config.runId);
  await client.workflow.start('specializeRepository', {
    taskQueue: TaskQueues.orchestration,
    workflowId,
    args: [{ ...config, ...(resumeFrom ? { resumeFrom } : {}) }],
  });
  return workflowId;
}

/** A run's progress line, with why it paused when it paused by itself (the teacher refused its key). */
export function svgRunStatusLine(progress: SvgRunProgress): string {
  const line = progressLine(progress);
  return progress.pauseReason ? `${line} — ${progress.pauseReason}; fix it, then signal resume` : line;
}

/** One line for a lifecycle run: its stage, and the generation's own progress line while it samples. */
export async function lifecycleLine(client: Client, progress: SpecializeProgress): Promise<string> {
  const done = progress.stages
    .filter((s) => s.status !== 'started')
    .map((s) => `${s.stage}${s.status === 'reused' ? ' (reused)' : ''}`);
  const head = `[${progress.stage}]${done.length ? ` done: ${done.join(', ')}` : ''}`;
  if (progress.stage === 'generation' && progress.child) {
    const generation = await client.workflow.getHandle(progress.child).query<SvgRunProgress>('progress');
    return `${head} | ${svgRunStatusLine(generation)}`;
  }
  if (progress.stage.startsWith('evaluation-') && progress.child) {
    const evaluation = await client.workflow
      .getHandle(progress.child)
      .query<Record<string, unknown>>('progress')
      .catch(() => undefined);
    if (evaluation) return `${head} | ${evaluateProgressLine(evaluation)}`;
  }
  return progress.child ? `${head} | ${progress.child}` : head;
}

/** The svgRun-shaped view of a run's result, whichever workflow made it. */
export function asRunResult(result: SvgRunResult | SpecializeResult): SvgRunResult {
  if (!('generation' in result)) return result;
  const workflowOf = (stage: string): string =>
    result.stages.find((s) => s.stage === stage)?.workflowId ?? result.workflowId;
  const view: SvgRunResult = { ...result.generation };
  if (result.dataset)
    view.dataset = {
      lines: result.dataset.lines,
      tokens: result.dataset.tokens,
      meanTruncationRatio: result.dataset.meanTruncationRatio,
      problems: result.dataset.problems,
      directory: result.dataset.directory,
      artifact: result.dataset.dataset.id,
      report: result.dataset.report.id,
      workflowId: workflowOf('dataset'),
    };
  if (result.training)
    view.training = {
      steps: result.training.steps,
      samples: result.training.samples,
      firstLoss: result.training.firstLoss,
      lastLoss: result.training.lastLoss,
      wallSeconds: result.training.wallSeconds,
      costUsd: result.training.costUsd,
      model: result.training.model,
      directory: result.training.directory,
      report: result.training.report.id,
      workflowId: workflowOf('training'),
    };
  if (result.evaluation) view.evaluation = result.evaluation;
  return view;
}

/** Follows a run with a progress line until it ends; returns its result. */
export async function followRun(
  client: Client,
  settings: TemporalSettings,
  workflowId: string,
): Promise<SpecializeResult | SvgRunResult> {
  const handle = client.workflow.getHandle(workflowId);
  console.error(`run ${workflowId}: ${workflowUiUrl(settings, workflowId)}`);
  const tty = process.stderr.isTTY;
  let last = '';
  let finished = false;
  const poll = setInterval(() => {
    handle
      .query<SpecializeProgress | SvgRunProgress>('progress')
      .then((p) => ('stages' in p ? lifecycleLine(client, p) : svgRunStatusLine(p)))
      .then((line) => {
        if (finished || line === last) return;
        last = line;
        process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      })
      .catch(() => undefined);
  }, 1000);
  try {
    return await workflowResult<SpecializeResult | SvgRunResult>(handle);
  } finally {
    finished = true;
    clearInterval(poll);
    if (tty) process.stderr.write('\n');
  }
}

export function describeRunResult(run: SvgRunResult | SpecializeResult): string[] {
  // Where this machine's artifact store keeps the files (the workers' store, when they run here).
  const localStore = new LocalArtifactStore(artifactsDir());
  const result = asRunResult(run);
  const lifecycle = 'generation' in run ? run : undefined;
  const reasons = Object.entries(result.rejectedByReason)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    ...(lifecycle?.resumedFrom ? [`resumed from ${lifecycle.resumedFrom}`] : []),
    ...(lifecycle
      ? [
          `stages: ${lifecycle.stages.map((s) => `${s.stage} ${s.status === 'reused' ? `reused from ${s.workflowId}` : s.status}`).join(', ')}`,
        ]
      : []),
    ...(lifecycle?.environment
      ? [
          `environment: tests ${lifecycle.environment.passed ? 'pass' : 'FAIL'}${lifecycle.environment.summary ? ` (${lifecycle.environment.summary.line})` : ''} at ${lifecycle.environment.commit.slice(0, 12)}`,
        ]
      : []),
    `run ${result.runId}: ${result.status}, ${result.finished}/${result.samples} samples${result.reused ? ` (${result.reused} reused)` : ''}, ${acceptedCountOf(result)} accepted`,
    `  rejected: ${reasons || 'none'}`,
    `  tokens ${result.tokens}, cost $${result.costUsd.toFixed(4)}`,
    ...(result.replyRetries && Object.keys(result.replyRetries).length > 0
      ? [
          `  replies asked again: ${Object.entries(result.replyRetries)
            .map(([problem, n]) => `${problem} ${n}`)
            .join(', ')}`,
        ]
      : []),
    `  ledger (every sample's record and fate): ${result.ledger.join(', ') || 'none'}`,
    ...(result.dataset
      ? [
          `  dataset: ${result.dataset.lines} samples, ${result.dataset.tokens} tokens, mean truncation ratio ${result.dataset.meanTruncationRatio.toFixed(3)}, ${result.dataset.problems} unreadable records (${result.dataset.workflowId})`,
          ...(result.dataset.directory ? [`  dataset files: ${result.dataset.directory}`] : []),
          `  train.jsonl: ${localStore.pathOf(result.dataset.artifact)}`,
          `  report.json: ${localStore.pathOf(result.dataset.report)} (plots: npm run cli -- dataset ${result.runId})`,
        ]
      : []),
    ...(result.training
      ? [
          `  student: ${result.training.steps} steps on ${result.training.samples} samples, loss ${result.training.firstLoss.toFixed(3)} → ${result.training.lastLoss.toFixed(3)}, ${Math.round(result.training.wallSeconds)} s, about $${result.training.costUsd.toFixed(2)} (${result.training.workflowId})`,
          ...(result.training.directory ? [`  model folder: ${result.training.directory}`] : []),
          `  model manifest: ${localStore.pathOf(result.training.model)}`,
          `  training report: ${localStore.pathOf(result.training.report)}`,
        ]
      : []),
    ...(result.evaluation
      ? [
          ...(result.evaluation.base ? [`  base model: ${result.evaluation.base.headline}`] : []),
          `  student: ${result.evaluation.student.headline}`,
          ...(result.evaluation.comparison ? [`  comparison: ${result.evaluation.comparison.headline}`] : []),
          `  evaluation report: ${localStore.pathOf(result.evaluation.student.report)}`,
        ]
      : []),
    ...(lifecycle
      ? [
          `final report: ${lifecycle.report.directory ?? localStore.pathOf(lifecycle.report.markdown.id)}`,
          `  ${lifecycle.report.headline[lifecycle.report.headline.length - 1] ?? ''}`,
        ]
      : []),
  ];
}
