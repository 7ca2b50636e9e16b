import { exampleRepository } from '../infra/example-repo';
import { startLocalStack } from './local-stack';
import { describeOutcome, runEnvironment, type EnvironmentOutcome } from './run-environment';

export interface DemoOptions {
  runId?: string;
  commit?: string;
  testCommand?: string;
}

/**
 * The main job on the embedded defaults: the dev server (started if nothing answers, and left
 * running so the UI keeps the history), orchestration and sandbox workers in this process, and
 * one prepareEnvironment run on the example repository.
 */
export async function runDemo(options: DemoOptions): Promise<EnvironmentOutcome> {
  const stack = await startLocalStack(['orchestration', 'sandbox']);
  try {
    const example = exampleRepository();
    const outcome = await runEnvironment(stack.client, stack.settings, {
      runId:
        options.runId ??
        `demo-${new Date()
          .toISOString()
          .replace(/[^0-9]/g, '')
          .slice(0, 14)}`,
      repository: { path: example.path, commit: options.commit ?? example.commit },
      testCommand: options.testCommand ?? example.testCommand,
    });
    for (const line of describeOutcome(outcome)) console.log(line);
    if (stack.embeddedServer)
      console.log('the dev server keeps running for the UI; stop it with: npm run cli -- server stop');
    return outcome;
  } finally {
    await stack.stop();
  }
}
