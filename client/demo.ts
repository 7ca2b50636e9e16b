import path from 'node:path';
import { exampleEvalSet, exampleRepository } from '../infra/example-repo';
import { repoRoot } from '../infra/paths';
import { startLocalStack } from './local-stack';
import { describeOutcome, runEnvironment, type EnvironmentOutcome } from './run-environment';
import { describeRunResult, followRun, loadRunConfig, offlineTeacherFor, startRun } from './svg-run-commands';

export interface DemoOptions {
  runId?: string;
  commit?: string;
  testCommand?: string;
  /** Stop after the environment check (no SVG run). */
  environmentOnly?: boolean;
}

/**
 * The main job on the embedded defaults: the dev server (started if nothing answers, and left
 * running so the UI keeps the history) and local workers; first the example repository's tests in
 * a sandbox (prepareEnvironment), then the SVG run of examples/run.json with the offline teacher.
 */
export async function runDemo(
  options: DemoOptions,
): Promise<{ environment: EnvironmentOutcome; accepted?: number }> {
  const config = loadRunConfig(path.join(repoRoot, 'examples', 'run.json'));
  const stamp = new Date()
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14);
  config.runId = options.runId ?? `demo-${stamp}`;
  config.repository.path = exampleRepository().path;
  if (config.evaluate) {
    // The example evaluation set and the release history it was built from, wherever the state lives.
    const set = exampleEvalSet();
    config.evaluate.instances = { path: set.instancesFile };
    config.evaluate.environments = {
      [set.repo]: { installCommand: '', testRunner: 'pytest', ...set.environment },
    };
  }
  const teacher = options.environmentOnly ? undefined : await offlineTeacherFor(config);
  const stack = await startLocalStack(['orchestration', 'sandbox', 'llm', 'gpu-train', 'gpu-serve']);
  try {
    const example = exampleRepository();
    const environment = await runEnvironment(stack.client, stack.settings, {
      runId: config.runId,
      repository: { path: example.path, commit: options.commit ?? example.commit },
      testCommand: options.testCommand ?? example.testCommand,
    });
    for (const line of describeOutcome(environment)) console.log(line);
    let accepted: number | undefined;
    if (environment.result && !options.environmentOnly) {
      console.log(`\nSVG run: ${config.samples} samples with the offline teacher (examples/run.json)`);
      const workflowId = await startRun(stack.client, config);
      const result = await followRun(stack.client, stack.settings, workflowId);
      for (const line of describeRunResult(result)) console.log(line);
      accepted = result.accepted.length;
    }
    if (stack.embeddedServer)
      console.log('the dev server keeps running for the UI; stop it with: npm run cli -- server stop');
    return { environment, accepted };
  } finally {
    await stack.stop();
    await teacher?.close();
  }
}
