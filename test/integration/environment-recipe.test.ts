import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { prepareRepoImage, type RepoImageInput } from '../../activities/sandbox/repo-image';
import { createBuildInstanceActivities } from '../../activities/eval/build-instances';
import { indexFunctions } from '../../activities/index/index-functions';
import { runEnvironment } from '../../client/run-environment';
import type { ImageRecipeRequest } from '../../core/environment-recipe';
import { ErrorTypes } from '../../core/errors';
import { baseImageTag } from '../../infra/base-image';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { cloneRealRepo, haveRealRepos, realRepoBundles } from '../support/real-repos';
import { startWorkers, uniqueRunId, useTestServer, type RunningWorkers } from '../support/temporal';

const docker = new Docker();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-recipe-'));
const artifacts = new LocalArtifactStore(path.join(scratch, 'artifacts'));
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  // The small repositories' images are of this run alone; the real ones stay cached by recipe.
  for (const image of await docker.listImages({ filters: { label: ['sera.managed=true'] } }))
    for (const tag of image.RepoTags ?? [])
      if (/^sera-(repo|env|start)-tiny-/.test(tag)) await docker.getImage(tag).remove({ force: true });
});

const build = (input: RepoImageInput, log: string[] = []) =>
  prepareRepoImage(docker, baseImageTag(), input, { artifacts, progress: (line) => log.push(line) });

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

/** Runs a command in a fresh container of the image with no network, as tests and rollouts run. */
function offline(image: string, command: string): string {
  return execFileSync('docker', ['run', '--rm', '--network', 'none', image, 'sh', '-c', command], {
    encoding: 'utf8',
  });
}

/** A small repository of our own, committed, for the parts that need no real project. */
function tinyRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(scratch, 'tiny-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd: dir,
      encoding: 'utf8',
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'one');
  return dir;
}

describe('environment recipes on the machine’s Docker engine', () => {
  it('runs setup with network, keeps what it made out of patches, and sets variables', async () => {
    const repo = tinyRepo({ 'app.py': 'print("hi")\n' });
    const log: string[] = [];
    const recipe: ImageRecipeRequest = {
      env: { GREETING: 'hello world', MIXED: 'a "quoted" $GREETING' },
      setup: ['mkdir -p build && echo made > build/out.txt', 'echo "$GREETING" > greeting.txt'],
      // Per commit, with no network: only the loopback interface is there.
      build: ['ls /sys/class/net > interfaces.txt'],
    };
    const image = await build({ repository: repo, commit: 'main', recipe }, log);
    expect(image.image).toMatch(/^sera-repo-/);
    expect(log.join('\n')).toContain('setup 2/2');
    const out = offline(
      image.image,
      'cat build/out.txt greeting.txt interfaces.txt; echo "$MIXED"; git status --porcelain',
    );
    // Setup's and the build's files are there and ignored (no patch will carry them); the
    // variables hold their text; the build step saw no network.
    expect(out).toBe('made\nhello world\nlo\na "quoted" hello world\n');
    expect(log.join('\n')).toContain('build 1/1: ls /sys/class/net');
    expect(image.buildLog?.id).toMatch(/^sha256:/);
  });

  it('names a failing setup step, with the log’s tail, and fails for good', async () => {
    const repo = tinyRepo({ 'app.py': 'x = 1\n' });
    const failure = await failureOf(
      build({
        repository: repo,
        commit: 'main',
        recipe: { setup: ['true', 'echo "no such package: frobnicate" >&2; exit 3'] },
      }),
    );
    expect(failure.type).toBe(ErrorTypes.SetupFailed);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('setup 2/2: echo "no such package: frobnicate"');
    expect(failure.message).toContain('exit code 3');
    expect(failure.message).toContain('no such package: frobnicate');
    expect(failure.message).toMatch(/build log: artifact sha256:/);
  });

  it('starts from the repository’s Dockerfile, or from a named image, and refuses ones that are not there', async () => {
    const repo = tinyRepo({
      'dev.Dockerfile': `FROM ${baseImageTag()}\nRUN echo from-dockerfile > /etc/sera-start\n`,
      'main.py': 'pass\n',
    });
    const image = await build({
      repository: repo,
      commit: 'main',
      recipe: { from: { dockerfile: 'dev.Dockerfile' }, setup: ['cat /etc/sera-start > seen.txt'] },
    });
    expect(offline(image.image, 'cat seen.txt')).toBe('from-dockerfile\n');
    // The same recipe again: found, not rebuilt.
    const again = await build({
      repository: repo,
      commit: 'main',
      recipe: { from: { dockerfile: 'dev.Dockerfile' }, setup: ['cat /etc/sera-start > seen.txt'] },
    });
    expect(again.image).toBe(image.image);
    expect(again.buildLog).toBeUndefined();

    const missingFile = await failureOf(
      build({ repository: repo, commit: 'main', recipe: { from: { dockerfile: 'nope.Dockerfile' } } }),
    );
    expect(missingFile.type).toBe(ErrorTypes.InvalidInput);
    expect(missingFile.message).toContain('nope.Dockerfile');
    const missingImage = await failureOf(
      build({ repository: repo, commit: 'main', recipe: { from: { image: 'sera-no-such-image:1' } } }),
    );
    expect(missingImage.type).toBe(ErrorTypes.ImageNotFound);
    expect(missingImage.message).toContain('sera-no-such-image:1');
  });

  it('reads a repository given as a URL from one mirror per host, fetched again for a newer commit', async () => {
    const repo = tinyRepo({ 'lib.py': 'def first():\n    return 1\n' });
    const url = `file://${repo}`;
    const index = await indexFunctions(artifacts, { repository: url, commit: 'main', cap: 100, seed: 0 });
    expect(index.languages).toEqual(['python']);
    expect(index.count).toBe(1);
    writeFileSync(path.join(repo, 'lib.py'), 'def first():\n    return 1\n\n\ndef second():\n    return 2\n');
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'two'], {
      cwd: repo,
    });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    const image = await build({ repository: url, commit: head });
    expect(image.commit).toBe(head);
    expect(offline(image.image, 'grep -c def lib.py')).toBe('2\n');
    // An evaluation set drafted from the URL reads the same mirror: the change has no test file.
    const drafted = await createBuildInstanceActivities({ docker, artifacts }).draftInstances({
      repository: url,
      repo: 'me/tiny',
      pairs: [{ base: 'HEAD~1', commit: head }],
    });
    expect(drafted.rejected.map((r) => r.reason)).toEqual(['the change touches no test file']);
    const unreachable = await failureOf(
      build({ repository: 'file:///nonexistent/repo.git', commit: 'main' }),
    );
    expect(unreachable.type).toBe(ErrorTypes.RepositoryNotFound);
    expect(unreachable.message).toContain('could not clone file:///nonexistent/repo.git');
  });
});

/** Writes a Go module proxy on disk holding one module, so setup can fetch it with no network. */
const GO_PROXY_SCRIPT = `import os, sys, zipfile
here = os.path.join(sys.argv[1], "example.com", "answer", "@v")
os.makedirs(here, exist_ok=True)
mod = "module example.com/answer\\n\\ngo 1.21\\n"
open(os.path.join(here, "list"), "w").write("v1.0.0\\n")
open(os.path.join(here, "v1.0.0.info"), "w").write('{"Version": "v1.0.0", "Time": "2024-01-01T00:00:00Z"}')
open(os.path.join(here, "v1.0.0.mod"), "w").write(mod)
with zipfile.ZipFile(os.path.join(here, "v1.0.0.zip"), "w") as z:
    z.writestr("example.com/answer@v1.0.0/go.mod", mod)
    z.writestr("example.com/answer@v1.0.0/answer.go", "package answer\\n\\nfunc Answer() int { return 42 }\\n")
`;

describe('what setup installs, as the sandbox’s unprivileged user finds it', () => {
  let workers: RunningWorkers;
  beforeAll(async () => {
    workers = await startWorkers(['orchestration', 'sandbox']);
  });
  afterAll(async () => {
    await workers?.stop();
  });

  /** The environment check: the test command runs in a sandbox as it would for an agent. */
  const check = (
    repository: string,
    request: { testCommand: string; testRunner: 'pytest' | 'go'; recipe: ImageRecipeRequest },
  ) =>
    runEnvironment(
      workers.client,
      useTestServer(),
      { runId: uniqueRunId('tiny-user'), repository: { path: repository, commit: 'main' }, ...request },
      () => undefined,
    );

  it('a tool setup put in root’s home runs', async () => {
    const repo = tinyRepo({ 'main.py': 'pass\n' });
    const outcome = await check(repo, {
      testCommand: 'setup-tool',
      testRunner: 'pytest',
      recipe: {
        setup: [
          'mkdir -p /root/.local/bin && printf \'#!/bin/sh\\necho "tool ran as $(id -u)"\\n\' > /root/.local/bin/setup-tool && chmod 755 /root/.local/bin/setup-tool',
        ],
        env: { PATH: '/root/.local/bin:$PATH' },
      },
    });
    expect(outcome.failure?.message).toBeUndefined();
    expect(outcome.result?.outputTail).toContain('tool ran as 1000');
  });

  it('a Go module’s dependencies that setup fetched build and test offline', async () => {
    const repo = tinyRepo({
      'go.mod': 'module example.com/app\n\ngo 1.21\n\nrequire example.com/answer v1.0.0\n',
      'app.go':
        'package app\n\nimport "example.com/answer"\n\nfunc Twice() int { return 2 * answer.Answer() }\n',
      'app_test.go':
        'package app\n\nimport "testing"\n\nfunc TestTwice(t *testing.T) {\n\tif Twice() != 84 {\n\t\tt.Fatal(Twice())\n\t}\n}\n',
      'goproxy.py': GO_PROXY_SCRIPT,
    });
    const outcome = await check(repo, {
      testCommand: 'go test ./...',
      testRunner: 'go',
      recipe: {
        toolchains: { go: '1.27.3' },
        setup: [
          'python3 goproxy.py /tmp/goproxy',
          'GOFLAGS=-mod=mod GOPROXY=file:///tmp/goproxy GOSUMDB=off go mod tidy',
        ],
      },
    });
    expect(outcome.failure?.message).toBeUndefined();
    expect(outcome.result?.summary?.passed).toBe(1);
    expect(outcome.result?.summary?.failed).toBe(0);
  });
});

const haveUuid = haveRealRepos('uuid');
if (!haveUuid) console.warn(`real-repository recipe tests skipped: no bundles at ${realRepoBundles()}`);

describe.skipIf(!haveUuid)('a Go repository (Google’s uuid) from a recipe', () => {
  const recipe: ImageRecipeRequest = {
    toolchains: { go: '1.27.3' },
    // Warms the image's build cache (a plain `docker run` of the image uses it); a sandbox keeps
    // Go's cache in its own /tmp and starts with it empty.
    setup: ["go test -count=1 -run '^$' ./..."],
  };
  let repo = '';
  let workers: RunningWorkers;
  beforeAll(async () => {
    repo = cloneRealRepo('uuid', path.join(scratch, 'uuid'));
    workers = await startWorkers(['orchestration', 'sandbox']);
  });
  afterAll(async () => {
    await workers?.stop();
  });

  it('builds with a Go toolchain from its registry; the next release reuses the environment layer', async () => {
    const first = await build({ repository: repo, commit: 'v1.6.0', recipe });
    expect(offline(first.image, 'go version')).toMatch(/go1\.27\.3/);
    const second = await build({ repository: repo, commit: 'v1.5.0', recipe });
    expect(second.image).not.toBe(first.image);
    // Both commit images sit on one environment image: the dependency layer was built once.
    const environmentOf = async (tag: string): Promise<string | undefined> =>
      (await docker.getImage(tag).inspect()).Config.Labels?.['sera.environment'];
    expect(await environmentOf(first.image)).toMatch(/^sera-env-/);
    expect(await environmentOf(second.image)).toBe(await environmentOf(first.image));
    // Files of v1.6.0 that v1.5.0 lacks are gone: the image holds v1.5.0 exactly.
    const topLevel = (names: string[]): string[] =>
      [...new Set(names.map((f) => f.split('/')[0] ?? f))].sort();
    const v150files = topLevel(
      execFileSync('git', ['ls-tree', '-r', '--name-only', 'v1.5.0'], { cwd: repo, encoding: 'utf8' })
        .trim()
        .split('\n'),
    );
    const inImage = topLevel(
      offline(second.image, 'git status --porcelain; ls -A | grep -v "^.git$"').trim().split('\n'),
    );
    expect(inImage).toEqual(v150files);
  });

  it('passes its own tests in the environment check, counted by the go test parser', async () => {
    const outcome = await runEnvironment(
      workers.client,
      useTestServer(),
      {
        runId: uniqueRunId('uuid'),
        repository: { path: repo, commit: 'v1.6.0' },
        testCommand: 'go test ./...',
        testRunner: 'go',
        recipe,
      },
      () => undefined,
    );
    expect(outcome.failure).toBeUndefined();
    expect(outcome.result?.passed).toBe(true);
    expect(outcome.result?.summary?.passed).toBeGreaterThan(50);
    expect(outcome.result?.summary?.failed).toBe(0);
    expect(outcome.result?.summary?.line).toContain('(go)');
  });
});
