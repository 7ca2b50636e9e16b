import path from 'node:path';
import { exampleEvalSet, exampleRepository } from '../infra/example-repo';
import { repoRoot } from '../infra/paths';
import { ALL_ROLES, startLocalStack } from './local-stack';
import { describeOutcome, runEnvironment, type EnvironmentOutcome } from './run-environment';
import {
  asRunResult,
  describeRunResult,
  followRun,
  loadRunConfig,
  offlineTeacherFor,
  startRun,
} from './svg-run-commands';
import { acceptedCountOf } from '../core/accepted-count';
import { RepoEnvironmentSchema } from '../core/eval/eval-input';
import { imageRecipeInput, RunEnvironmentSchema } from '../core/run-config';

export interface DemoOptions {
  runId?: string;
  commit?: string;
  testCommand?: string;
  /** Only the environment check (the example's tests in a sandbox), no lifecycle. */
  environmentOnly?: boolean;
}

/**
 * The main job on the embedded defaults: the dev server (started if nothing answers, and left
 * running so the UI keeps the history) and local workers, then the whole lifecycle of
 * examples/run.json (specializeRepository): the example repository's tests in a sandbox, SVG
 * generation with the offline teacher, the dataset, SFT of the tiny student, its evaluation
 * against the base model, and the final report. The base model is the offline teacher in its
 * solving mode (a test instrument, docs/teacher.md): it is given the evaluation set's instances
 * and solves a seeded share of runs, so the evaluation shows resolve rates that differ by seed.
 * `environmentOnly` runs just the test check.
 */
export async function runDemo(options: DemoOptions): Promise<{ ok: boolean; accepted?: number }> {
  const config = loadRunConfig(path.join(repoRoot, 'examples', 'run.json'));
  const stamp = new Date()
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14);
  config.runId = options.runId ?? `demo-${stamp}`;
  const example = exampleRepository();
  config.repository.path = example.path;
  if (options.commit) config.repository.commit = options.commit;
  const check = RunEnvironmentSchema.parse({
    ...config.environment,
    testCommand: options.testCommand ?? example.testCommand,
  });
  config.environment = check;
  if (config.evaluate) {
    // The example evaluation set and the release history it was built from, wherever the state lives.
    const set = exampleEvalSet();
    config.evaluate.instances = { path: set.instancesFile };
    config.evaluate.environments = {
      [set.repo]: RepoEnvironmentSchema.parse(set.environment),
    };
  }
  // Started after the evaluation set is known: its instances are the teacher's solutions.
  const teacher = options.environmentOnly ? undefined : await offlineTeacherFor(config);
  const stack = await startLocalStack(ALL_ROLES);
  try {
    if (options.environmentOnly) {
      const environment: EnvironmentOutcome = await runEnvironment(stack.client, stack.settings, {
        runId: config.runId,
        repository: config.repository,
        testCommand: check.testCommand!,
        ...imageRecipeInput(config),
      });
      for (const line of describeOutcome(environment)) console.log(line);
      return { ok: environment.result !== undefined };
    }
    console.log(
      `specialization ${config.runId}: environment check, ${config.samples} samples with the offline teacher, dataset, SFT, evaluation (examples/run.json)`,
    );
    const workflowId = await startRun(stack.client, config);
    const result = await followRun(stack.client, stack.settings, workflowId);
    for (const line of describeRunResult(result)) console.log(line);
    if (stack.embeddedServer)
      console.log('the dev server keeps running for the UI; stop it with: npm run cli -- server stop');
    return { ok: true, accepted: acceptedCountOf(asRunResult(result)) };
  } finally {
    await stack.stop();
    await teacher?.close();
  }
}
