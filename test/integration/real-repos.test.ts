import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareExample, runExampleOn, type ExampleName } from '../../client/example-command';
import { runEnvironment } from '../../client/run-environment';
import { recipeInput } from '../../core/environment-recipe';
import { startTeacherServer, type TeacherServer } from '../../infra/teacher-server';
import { haveRealRepos, realRepoBundles } from '../support/real-repos';
import {
  containersOfRun,
  startWorkers,
  uniqueRunId,
  useTestServer,
  type RunningWorkers,
} from '../support/temporal';

const haveAll = haveRealRepos('flask', 'ufo', 'uuid');
if (!haveAll) console.warn(`real-repository examples skipped: no bundles at ${realRepoBundles()}`);

/**
 * The examples of examples/{flask,ufo,uuid} as a user runs them: each environment built from its
 * recipe with the repository's own tests passing offline, and Go's uuid end to end. Their images
 * stay cached by recipe on this engine, so a second run reinstalls nothing.
 */
describe.skipIf(!haveAll)('real repositories from their examples', () => {
  let workers: RunningWorkers;
  let teacher: TeacherServer;
  beforeAll(async () => {
    process.env.SERA_REPO_BUNDLES = realRepoBundles();
    teacher = await startTeacherServer({ fidelity: 1 });
    workers = await startWorkers(['orchestration', 'sandbox', 'llm']);
  });
  afterAll(async () => {
    await workers?.stop();
    await teacher?.close();
  });

  // Flask: 490 tests at 3.1.3; ufo: 485 at v1.6.3 (counted by the vitest log parser).
  it.each([
    ['flask', 450],
    ['ufo', 450],
  ] as Array<[ExampleName, number]>)(
    'the %s environment is built from its recipe and its own tests pass in the sandbox',
    async (name, atLeast) => {
      const { run } = prepareExample(name);
      const environment = run.environment!;
      const runId = uniqueRunId(name);
      const outcome = await runEnvironment(
        workers.client,
        useTestServer(),
        {
          runId,
          repository: run.repository,
          testCommand: environment.testCommand!,
          testRunner: environment.testRunner,
          testTimeoutSeconds: environment.testTimeoutSeconds,
          ...recipeInput(environment),
        },
        () => undefined,
      );
      expect(outcome.failure).toBeUndefined();
      expect(outcome.result?.passed).toBe(true);
      expect(outcome.result?.summary?.passed).toBeGreaterThan(atLeast);
      expect(outcome.result?.summary?.failed).toBe(0);
      expect(await containersOfRun(runId)).toEqual([]);
    },
    1_200_000,
  );

  it('Go end to end: the check, Go samples accepted, an evaluation set from its history, gold resolves and empty does not', async () => {
    const runId = uniqueRunId('uuid');
    const configs = prepareExample('uuid', { samples: 4, runId });
    configs.run.teacher = { ...configs.run.teacher, baseUrl: teacher.url };
    const outcome = await runExampleOn(workers.client, useTestServer(), configs);

    const run = outcome.run;
    expect('environment' in run && run.environment?.passed).toBe(true);
    expect('environment' in run && run.environment?.summary?.line).toMatch(/^\d+ passed, 0 failed.*\(go\)$/);
    expect(outcome.accepted).toBeGreaterThan(0);
    // Four changes from uuid's history, each validated: its tests fail before and pass after.
    expect(outcome.instances).toBe(4);
    expect(outcome.resolved).toEqual({ gold: 4, empty: 0 });
    expect(await containersOfRun(runId)).toEqual([]);
  }, 1_800_000);
});
