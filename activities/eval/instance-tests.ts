import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import type { TestScope } from '../../core/environment-recipe';
import type { RepoEnvironment } from '../../core/eval/eval-input';
import { testCommandLine } from '../../core/eval/test-command';
import { TEST_LOG_PARSERS, testLogParser, type TestStatus } from '../../core/eval/test-log';
import { whileHeartbeating } from '../common/activity-context';
import { createSandbox, destroySandbox } from '../sandbox/containers';
import { execInSandbox } from '../sandbox/exec';
import { writeSandboxFile } from '../sandbox/files';
import type { SandboxLimits } from '../../core/environment-input';

/** An evaluation environment; `testScope` is read with its default until the schema has it. */
export type TestEnvironment = RepoEnvironment & { testScope?: TestScope };

export interface InstanceTestInput {
  container: string;
  image: string;
  baseCommit: string;
  runId: string;
  workflowId: string;
  limits: SandboxLimits;
  environment: TestEnvironment;
  /** Applied first; empty for none. */
  modelPatch: string;
  testPatch: string;
  /** The test patch's files: what the tests run on with scope `patch-files`. */
  testFiles: string[];
}

export type InstanceTestOutcome =
  | { kind: 'ran'; results: Record<string, TestStatus>; exitCode: number }
  | {
      kind: 'patch_failed' | 'test_patch_failed' | 'timed_out' | 'install_failed' | 'crashed';
      reason: string;
    };

/** Where a grading pass spent its time (milliseconds). */
export interface GradeTimings {
  container: number;
  patches: number;
  install: number;
  tests: number;
}

export interface InstanceTestRun {
  outcome: InstanceTestOutcome;
  timings: GradeTimings;
  /** Everything that ran, in order, with its output: the per-instance log. */
  log: string;
}

const OUTPUT_CAP = 8 * 1024 * 1024;
const PATCH_TIMEOUT_S = 120;

/**
 * One grading pass in a fresh container: the model patch (git apply, then patch with fuzz as the
 * harnesses do), the test patch, the install command, the tests (the test patch's files or the
 * whole suite, by the environment's test scope). A patch that does not
 * apply or a test run that times out is an outcome, not an error; a container that dies is an
 * error (ContainerGone), so the activity is retried in a new container.
 */
export async function runInstanceTests(
  docker: Docker,
  input: InstanceTestInput,
  heartbeat: () => void,
): Promise<InstanceTestRun> {
  const runner = input.environment.testRunner;
  // A runner without a parser is bad input, found before any container is made.
  if (!TEST_LOG_PARSERS.includes(runner))
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `no test log parser named ${JSON.stringify(runner)} (known: ${TEST_LOG_PARSERS.join(', ')})`,
      nonRetryable: true,
    });
  const log: string[] = [];
  const timings: GradeTimings = { container: 0, patches: 0, install: 0, tests: 0 };
  const timed = async <T>(phase: keyof GradeTimings, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      timings[phase] += Date.now() - started;
    }
  };
  const done = (outcome: InstanceTestOutcome): InstanceTestRun => ({ outcome, timings, log: log.join('\n') });
  const exec = async (title: string, command: string, timeoutSeconds: number) => {
    const result = await execInSandbox(
      docker,
      { container: input.container, command, timeoutSeconds, outputCapBytes: OUTPUT_CAP },
      heartbeat,
    );
    log.push(
      `$ ${title}\n${result.output}${result.output.endsWith('\n') ? '' : '\n'}[exit ${result.exitCode}]\n`,
    );
    return result;
  };
  // A retried attempt never inherits the half-patched container of the attempt before.
  await timed('container', async () => {
    await destroySandbox(docker, input.container);
    // The repository copy can outlast the heartbeat timeout.
    await whileHeartbeating(() =>
      createSandbox(docker, {
        name: input.container,
        image: input.image,
        baseCommit: input.baseCommit,
        runId: input.runId,
        workflowId: input.workflowId,
        limits: input.limits,
      }),
    );
  });
  try {
    if (input.modelPatch.trim() !== '') {
      const applied = await timed('patches', async () => {
        await writeSandboxFile(docker, input.container, '/tmp/model.patch', input.modelPatch);
        return exec(
          'apply the model patch',
          'git apply --verbose /tmp/model.patch || patch --batch --fuzz=5 -p1 -i /tmp/model.patch',
          PATCH_TIMEOUT_S,
        );
      });
      if (applied.exitCode !== 0)
        return done({
          kind: 'patch_failed',
          reason: `the model patch does not apply: ${tail(applied.output)}`,
        });
    }
    const tests = await timed('patches', async () => {
      await writeSandboxFile(docker, input.container, '/tmp/test.patch', input.testPatch);
      return exec('apply the test patch', 'git apply --verbose /tmp/test.patch', PATCH_TIMEOUT_S);
    });
    if (tests.exitCode !== 0)
      return done({
        kind: 'test_patch_failed',
        reason: `the test patch does not apply: ${tail(tests.output)}`,
      });
    const { environment } = input;
    if (environment.installCommand.trim() !== '') {
      const install = await timed('install', () =>
        exec('install', environment.installCommand, environment.testTimeoutSeconds),
      );
      if (install.exitCode !== 0)
        return done({
          kind: 'install_failed',
          reason: `the install command failed: ${tail(install.output)}`,
        });
    }
    const parser = testLogParser(environment.testRunner);
    const command = testCommandLine(environment, input.testFiles);
    try {
      const run = await timed('tests', () => exec('run the tests', command, environment.testTimeoutSeconds));
      return done({
        kind: 'ran',
        results: Object.fromEntries(parser.parse(run.output)),
        exitCode: run.exitCode,
      });
    } catch (error) {
      if (error instanceof ApplicationFailure && error.type === ErrorTypes.CommandTimedOut) {
        const output = (error.details?.[0] as { output?: string } | undefined)?.output ?? '';
        log.push(`$ run the tests\n${output}\n[timed out after ${environment.testTimeoutSeconds} s]\n`);
        return done({
          kind: 'timed_out',
          reason: `the tests ran past ${environment.testTimeoutSeconds} s`,
        });
      }
      if (error instanceof ApplicationFailure && error.type === ErrorTypes.ContainerGone) {
        // Still there but stopped: the patched code brought it down (memory, processes). Gone
        // altogether: the engine lost it, and the activity is retried in a new container.
        const state = await docker
          .getContainer(input.container)
          .inspect()
          .then((info) => info.State)
          .catch(() => undefined);
        if (state && !state.Running) {
          log.push(
            `$ run the tests\n[the container stopped: exit ${state.ExitCode}, out of memory: ${state.OOMKilled}]\n`,
          );
          return done({
            kind: 'crashed',
            reason: state.OOMKilled
              ? `the tests ran out of memory (limit ${input.limits.memoryMb} MB) and the container was killed`
              : `the container stopped while the tests ran (exit ${state.ExitCode})`,
          });
        }
        throw new Error(`${error.message}: grading again in a new container`);
      }
      throw error;
    }
  } finally {
    await destroySandbox(docker, input.container).catch(() => undefined);
  }
}

function tail(output: string): string {
  const text = output.trim();
  return text.length <= 400 ? text : `…${text.slice(-400)}`;
}
