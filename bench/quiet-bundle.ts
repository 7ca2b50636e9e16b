import { bundleWorkflowCode } from '@temporalio/worker';

/** Bundles a benchmark's own workflows, printing only errors (the bundler is chatty otherwise). */
export function bundleQuietly(workflowsPath: string): ReturnType<typeof bundleWorkflowCode> {
  return bundleWorkflowCode({
    workflowsPath,
    logger: {
      info: () => undefined,
      warn: () => undefined,
      error: console.error,
      debug: () => undefined,
      trace: () => undefined,
      log: () => undefined,
    },
  });
}
