import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import type { TestProject } from 'vitest/node';
import { imageExists, prepareRepoImage } from '../activities/sandbox/repo-image';
import { baseImageTag } from '../infra/base-image';
import { exampleRepository } from '../infra/example-repo';
import { ensureDevServer, freePort, stopDevServer } from '../infra/temporal-server';
import { ensureWorkflowBundle } from '../infra/workflow-bundle';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    testStateDir: string;
  }
}

let stateDir = '';

/**
 * Integration tests run against a real Temporal dev server of their own (fresh SQLite file, free
 * ports, no UI) and the machine's Docker engine, which `npm test` has set up (infra/setup.sh).
 */
export async function setup(project: TestProject): Promise<void> {
  const docker = new Docker();
  await docker.ping().catch((error: Error) => {
    throw new Error(
      `no Docker engine answers (${error.message}): run infra/setup.sh, or "npm test", which runs it`,
    );
  });
  if (!(await imageExists(docker, baseImageTag()))) {
    throw new Error(`the sandbox base image ${baseImageTag()} is missing: run infra/setup.sh`);
  }
  const example = exampleRepository();
  // Built once here, so no test waits for it inside a workflow with a short timeout.
  await prepareRepoImage(docker, baseImageTag(), { repository: example.path, commit: example.commit });
  await ensureWorkflowBundle();

  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sera-test-'));
  const server = await ensureDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(stateDir, 'temporal.db'),
    stateDir,
    headless: true,
  });
  project.provide('temporalAddress', server.address);
  project.provide('testStateDir', stateDir);
}

export async function teardown(): Promise<void> {
  if (!stateDir) return;
  stopDevServer(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
}
