import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { repoRoot, stateDir } from '../infra/paths';
import type { TemporalSettings } from '../infra/temporal-connection';
import type { BuildEvalSetResult } from '../workflows/build-eval-set';
import type { GradePredictionsResult } from '../workflows/grade-predictions';
import { acceptedCountOf } from '../core/accepted-count';
import type { RunConfig } from '../core/run-config';
import type { SpecializeResult } from '../workflows/specialize-repository';
import type { SvgRunResult } from '../workflows/svg-run';
import {
  describeEvalOutputs,
  describeEvalSet,
  followWorkflow,
  gradeProgressLine,
  readEvalConfig,
  readReport,
  startFromConfig,
} from './eval-commands';
import { ALL_ROLES, startLocalStack } from './local-stack';
import {
  asRunResult,
  describeRunResult,
  followRun,
  loadRunConfig,
  offlineTeacherFor,
  startRun,
} from './svg-run-commands';

/** The real repositories with an example under examples/<name>/. */
export const EXAMPLES = ['flask', 'ufo', 'uuid'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

export interface ExampleOutcome {
  accepted: number;
  run: SpecializeResult | SvgRunResult;
  instances: number;
  /** Resolved instances per graded pass: gold and empty. */
  resolved: Record<string, number>;
}

/** An example's configs: the run (`run.json`) and its evaluation set (`build-set.json`). */
export interface ExampleConfigs {
  run: RunConfig;
  evalSet: Record<string, unknown>;
}

/** Clones the example's repository (infra/real-repos.sh) and reads its configs. */
export function prepareExample(
  name: ExampleName,
  options: { samples?: number; runId?: string } = {},
): ExampleConfigs {
  execFileSync('bash', [path.join(repoRoot, 'infra', 'real-repos.sh'), name], { stdio: 'inherit' });
  const dir = path.join(repoRoot, 'examples', name);
  const run = loadRunConfig(path.join(dir, 'run.json'));
  // Where infra/real-repos.sh put it, wherever the state directory is.
  const clone = path.join(stateDir(), 'repos', name);
  run.repository.path = clone;
  if (options.samples) run.samples = options.samples;
  if (options.runId) run.runId = options.runId;
  const evalSet = readEvalConfig(path.join(dir, 'build-set.json'), 'evaluation-set config');
  evalSet.repository = { ...(evalSet.repository as Record<string, unknown>), path: clone };
  if (options.runId) evalSet.runId = `${options.runId}-evalset`;
  return { run, evalSet };
}

/**
 * One real repository end to end: its repository cloned (infra/real-repos.sh), the environment
 * built from the example's recipe and its own tests run (`run.json`, specializeRepository: check,
 * SVG generation with the offline teacher, the dataset), an evaluation set built from its history
 * (`build-set.json`) and graded with the gold and the empty patches.
 */
export async function runExample(
  name: ExampleName,
  options: { samples?: number; runId?: string } = {},
): Promise<ExampleOutcome> {
  const configs = prepareExample(name, options);
  const teacher = await offlineTeacherFor(configs.run);
  const stack = await startLocalStack(ALL_ROLES);
  try {
    return await runExampleOn(stack.client, stack.settings, configs);
  } finally {
    await stack.stop();
    await teacher?.close();
  }
}

/** The example's stages against a Temporal client whose workers (every role) run somewhere. */
export async function runExampleOn(
  client: Client,
  settings: TemporalSettings,
  { run: config, evalSet }: ExampleConfigs,
): Promise<ExampleOutcome> {
  console.log(`example ${config.runId}: ${config.repository.path} at ${config.repository.commit}`);
  const run = await followRun(client, settings, await startRun(client, config));
  for (const line of describeRunResult(run)) console.log(line);
  const accepted = acceptedCountOf(asRunResult(run));

  const built = await buildSet(client, settings, evalSet);
  const resolved: Record<string, number> = {};
  if (built.instances) {
    const grading = {
      runId: `${String(evalSet.runId)}-grade`,
      instances: { artifact: built.instances.id },
      environments: {
        [repoNameOf(evalSet)]: {
          ...(evalSet.environment as Record<string, unknown>),
          path: (evalSet.repository as { path: string }).path,
        },
      },
      predictions: [
        { name: 'gold', source: 'gold' },
        { name: 'empty', source: 'empty' },
      ],
    };
    const handle = await startFromConfig(client, settings, 'gradePredictions', 'grade', grading);
    const graded = await followWorkflow<GradePredictionsResult>(handle, gradeProgressLine);
    for (const line of describeEvalOutputs(graded)) console.log(line);
    for (const pass of readReport(graded.report.id).passes) resolved[pass.name] = pass.resolved;
  }
  return { accepted, run, instances: built.accepted.length, resolved };
}

async function buildSet(
  client: Client,
  settings: TemporalSettings,
  config: Record<string, unknown>,
): Promise<BuildEvalSetResult> {
  const handle = await startFromConfig(client, settings, 'buildEvalSet', 'evalset', config);
  const result = await followWorkflow<BuildEvalSetResult>(
    handle,
    (p) => `${String(p.stage)}: ${String(p.checked)}/${String(p.drafted)} changes checked`,
  );
  for (const line of describeEvalSet(result)) console.log(line);
  return result;
}

function repoNameOf(config: Record<string, unknown>): string {
  return (config.repository as { name: string }).name;
}
