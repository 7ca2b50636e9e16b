import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import {
  createSandbox,
  destroySandbox,
  listManagedContainers,
  type CreateSandboxInput,
} from '../../activities/sandbox/containers';
import { execInSandbox } from '../../activities/sandbox/exec';
import { readSandboxFile, writeSandboxFile } from '../../activities/sandbox/files';
import { reapOrphans, workflowRunningOn } from '../../activities/sandbox/reaper';
import { imageExists, prepareRepoImage, type RepoImage } from '../../activities/sandbox/repo-image';
import { createSandboxActivities } from '../../activities/sandbox/activities';
import { createAgentToolActivities } from '../../activities/agent/activities';
import { connectClient } from '../../infra/temporal-connection';
import { baseImageTag } from '../../infra/base-image';
import { exampleRepository } from '../../infra/example-repo';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { uniqueRunId, useTestServer } from '../support/temporal';
import { repoImageTag } from '../../core/names';

const docker = new Docker();
const example = exampleRepository();
const limits = { cpus: 1, memoryMb: 512, pids: 256 };
let image: RepoImage;
const made: string[] = [];

async function sandbox(purpose: string, workflowId = 'test-no-workflow'): Promise<CreateSandboxInput> {
  const input: CreateSandboxInput = {
    name: `sera-test-${uniqueRunId(purpose)}`,
    image: image.image,
    baseCommit: image.commit,
    runId: 'sandbox-tests',
    workflowId,
    limits,
  };
  made.push(input.name);
  await createSandbox(docker, input);
  return input;
}

/** A sandbox of the example's image (or `imageTag`) with these limits instead of the usual ones. */
async function sandboxWith(
  purpose: string,
  sandboxLimits: CreateSandboxInput['limits'],
  imageTag = image.image,
): Promise<string> {
  const name = `sera-test-${uniqueRunId(purpose)}`;
  made.push(name);
  await createSandbox(docker, {
    name,
    image: imageTag,
    baseCommit: image.commit,
    runId: 'sandbox-tests',
    workflowId: 'test-no-workflow',
    limits: sandboxLimits,
  });
  return name;
}

function failureType(error: unknown): string | undefined {
  return error instanceof ApplicationFailure ? (error.type ?? undefined) : undefined;
}

beforeAll(async () => {
  useTestServer();
  image = await prepareRepoImage(docker, baseImageTag(), {
    repository: example.path,
    commit: example.commit,
  });
});

afterAll(async () => {
  for (const name of made) await destroySandbox(docker, name);
});

describe('repository images', () => {
  it('holds the repository at the commit, with history, and is reused by tag', async () => {
    const again = await prepareRepoImage(docker, baseImageTag(), {
      repository: example.path,
      commit: example.commit,
    });
    expect(again).toEqual(image);
    const box = await sandbox('image');
    const head = await execInSandbox(docker, {
      container: box.name,
      command: 'git rev-parse HEAD && git status --porcelain | wc -l',
      timeoutSeconds: 30,
      outputCapBytes: 4096,
    });
    expect(head.output.trim().split('\n')).toEqual([image.commit, '0']);
  });

  it('rejects a path that is not a git repository without building anything', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sera-not-git-'));
    try {
      const error = await prepareRepoImage(docker, baseImageTag(), { repository: dir, commit: 'main' }).catch(
        (e: unknown) => e,
      );
      expect(failureType(error)).toBe('RepositoryNotFound');
      expect((error as Error).message).toMatch(/is not a git repository/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which base image is missing instead of trying to pull it', async () => {
    const error = await prepareRepoImage(docker, 'sera-base:does-not-exist', {
      repository: example.path,
      commit: example.commit,
    }).catch((e: unknown) => e);
    expect(failureType(error)).toBe('BaseImageMissing');
    expect((error as Error).message).toMatch(/sera-base:does-not-exist is missing .* run infra\/setup\.sh/);
    expect(
      await imageExists(docker, repoImageTag('more-itertools', image.commit, 'sera-base:does-not-exist')),
    ).toBe(false);
  });
});

describe('containers', () => {
  it('have no network, no host folders, no capabilities, a read-only root, limits and labels naming the run and workflow', async () => {
    const box = await sandbox('shape', 'wf-shape');
    const info = await docker.getContainer(box.name).inspect();
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.HostConfig.Binds ?? []).toEqual([]);
    // Only the three tmpfs volumes, none of them a host folder.
    expect(info.Mounts.map((m) => `${m.Type} ${m.Destination}`).sort()).toEqual([
      'volume /repo',
      'volume /run/sera',
      'volume /tmp',
    ]);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.CapAdd).toEqual(['DAC_READ_SEARCH']);
    expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    expect(info.HostConfig.Memory).toBe(512 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.PidsLimit).toBe(256);
    expect(info.Config.Labels).toMatchObject({
      'sera.managed': 'true',
      'sera.run': 'sandbox-tests',
      'sera.workflow-id': 'wf-shape',
    });
  });

  it('cannot reach any network, as seen from inside', async () => {
    const box = await sandbox('net');
    const probe = [
      'ls /sys/class/net',
      'echo routes: $(tail -n +2 /proc/net/route | wc -l)',
      // 192.0.2.1 is reserved for documentation: nothing answers there even with a network.
      `python3 -c "import socket
try:
    socket.create_connection(('192.0.2.1', 80), timeout=3)
    print('connected')
except OSError as e:
    print('refused:', e.errno)"`,
    ].join(' && ');
    const result = await execInSandbox(docker, {
      container: box.name,
      command: probe,
      timeoutSeconds: 30,
      outputCapBytes: 4096,
    });
    expect(result.output.trim().split('\n')).toEqual(['lo', 'routes: 0', 'refused: 101']); // 101: ENETUNREACH
  });

  it('are created once and destroyed once however often the calls repeat', async () => {
    const box = await sandbox('idem');
    const first = await docker.getContainer(box.name).inspect();
    const again = await createSandbox(docker, box);
    expect(again.id).toBe(first.Id);
    expect(await destroySandbox(docker, box.name)).toEqual({ removed: true });
    expect(await destroySandbox(docker, box.name)).toEqual({ removed: false });
  });

  it('are removed by the reaper when their workflow is not running, and kept when it is', async () => {
    const settings = useTestServer();
    const client = await connectClient(settings);
    try {
      // Nothing polls this queue, so the workflow stays running.
      const running = await client.workflow.start('prepareEnvironment', {
        taskQueue: 'sera-test-nobody-polls',
        workflowId: uniqueRunId('reaper-running'),
        args: [{}],
      });
      const kept = await sandbox('reap-keep', running.workflowId);
      const orphan = await sandbox('reap-orphan', uniqueRunId('reaper-gone'));
      const outcome = await reapOrphans(docker, workflowRunningOn(client));
      expect(outcome.removed).toContain(orphan.name);
      expect(outcome.removed).not.toContain(kept.name);
      const left = (await listManagedContainers(docker)).map((c) => c.name);
      expect(left).toContain(kept.name);
      expect(left).not.toContain(orphan.name);
      await running.terminate('test over');
    } finally {
      await client.connection.close();
    }
  });
});

describe('least privilege and bounded space', () => {
  const run = (container: string, command: string) =>
    execInSandbox(docker, { container, command, timeoutSeconds: 30, outputCapBytes: 64 * 1024 });

  it('runs commands as uid 1000, which owns /repo, with a read-only root and writable /repo and /tmp', async () => {
    const box = await sandbox('user');
    const who = await run(box.name, 'id -u; id -g; stat -c %u /repo/README.rst; echo $HOME');
    expect(who.output.trim().split('\n')).toEqual(['1000', '1000', '1000', '/tmp']);
    const writes = await run(
      box.name,
      'for p in /repo/new.txt /tmp/new.txt /etc/new.txt /usr/new.txt; do touch $p 2>/dev/null && echo "$p yes" || echo "$p no"; done',
    );
    expect(writes.output.trim().split('\n')).toEqual([
      '/repo/new.txt yes',
      '/tmp/new.txt yes',
      '/etc/new.txt no',
      '/usr/new.txt no',
    ]);
    // The harness's folder is root's; the agent's commands hold no capability at all.
    const harness = await run(
      box.name,
      'touch /run/sera/x 2>&1; ls /run/sera 2>&1; grep CapEff /proc/self/status',
    );
    expect(harness.output).toMatch(/touch: cannot touch '\/run\/sera\/x': Permission denied/);
    expect(harness.output).toMatch(/ls: cannot open directory '\/run\/sera': Permission denied/);
    expect(harness.output).toMatch(/CapEff:\s+0000000000000000/);
    // The repository is the image's, whole: git sees a clean tree at the base commit.
    const git = await run(box.name, 'rm /repo/new.txt && git status --porcelain && git rev-parse HEAD');
    expect(git.output.trim()).toBe(image.commit);
  });

  it('bounds /repo in bytes and in files, and any one file by the per-file cap', async () => {
    const name = await sandboxWith('bounds', {
      ...limits,
      diskMb: 32,
      scratchMb: 16,
      inodes: 2000,
      fileMb: 4,
    });
    const big = await run(name, 'dd if=/dev/zero of=/repo/big bs=1M count=8 2>&1; echo "exit $?"');
    expect(big.output).toMatch(/File size limit exceeded|exit 153/);
    const files = await run(
      name,
      'mkdir /tmp/many && cd /tmp/many && for i in $(seq 1 3000); do : > f$i || break; done; ls | wc -l',
    );
    expect(files.output).toMatch(/No space left on device/);
    expect(Number(files.output.trim().split('\n').pop())).toBeLessThan(2000);
    const full = await run(
      name,
      'for i in 1 2 3 4 5 6 7 8 9 10; do dd if=/dev/zero of=/repo/fill$i bs=1M count=4 2>/dev/null || break; done; df -k /repo | tail -1',
    );
    const [, sizeKb, usedKb] = full.output.trim().split(/\s+/).map(Number);
    expect(sizeKb).toBe(32 * 1024);
    expect(usedKb).toBeGreaterThan(30 * 1024);
  });

  it("copies long paths and hard links of the image's /repo to where they belong, and Go's warm build cache", async () => {
    // An image like a pnpm install makes: paths past ustar's 255 characters, files linked twice.
    const deep = `/repo/${'node_modules/.pnpm/some-package@1.0.0/'.repeat(7)}lib`;
    const maker = await docker.createContainer({
      Image: image.image,
      User: '0:0',
      Cmd: [
        'bash',
        '-c',
        `mkdir -p ${deep} /root/.cache/go-build/0a && echo deep > ${deep}/index.js && ln ${deep}/index.js /repo/linked.js && echo built > /root/.cache/go-build/0a/entry-d`,
      ],
    });
    await maker.start();
    await maker.wait();
    const version = uniqueRunId('long').toLowerCase();
    await maker.commit({ repo: 'sera-test-long-paths', tag: version });
    await maker.remove({ force: true });
    const tag = `sera-test-long-paths:${version}`;
    let name: string | undefined;
    try {
      name = await sandboxWith('long', limits, tag);
      const seen = await run(
        name,
        `cat ${deep}/index.js /repo/linked.js; stat -c '%h %u' /repo/linked.js; test -e /repo/repo && echo nested; cat $XDG_CACHE_HOME/go-build/0a/entry-d; stat -c %u /tmp/.cache /tmp/.cache/go-build/0a/entry-d`,
      );
      expect(seen.output.trim().split('\n')).toEqual(['deep', 'deep', '2 1000', 'built', '1000', '1000']);
    } finally {
      // The sandbox first, so the image goes whole.
      if (name) await destroySandbox(docker, name);
      await docker.getImage(tag).remove({ force: true });
    }
  });

  it("refuses a disk limit smaller than the image's /repo, with the sizes", async () => {
    const name = `sera-test-${uniqueRunId('small')}`;
    made.push(name);
    const error = await createSandbox(docker, {
      name,
      image: image.image,
      baseCommit: image.commit,
      runId: 'sandbox-tests',
      workflowId: 'test-no-workflow',
      // Below the schema's floor on purpose: the example repository is smaller than any allowed limit.
      limits: { ...limits, diskMb: 1 },
    }).catch((e: unknown) => e);
    expect(failureType(error)).toBe('InvalidInput');
    expect((error as Error).message).toMatch(
      /\/repo .* is \d+ MB in \d+ files and folders, more than the sandbox holds \(limits.diskMb 1, limits.inodes 200000\)/,
    );
    expect(
      await docker
        .getContainer(name)
        .inspect()
        .catch(() => 'gone'),
    ).toBe('gone');
  });

  it('runs as root only when the limits say "root"', async () => {
    const name = await sandboxWith('root', { ...limits, user: 'root' });
    const who = await run(name, 'id -u; stat -c %u /repo/README.rst; touch /etc/x 2>&1 || true');
    expect(who.output).toMatch(/^0\n0\n.*Read-only file system/);
  });
});

describe('exec', () => {
  it('returns the exit code and the output', async () => {
    const box = await sandbox('exec');
    const result = await execInSandbox(docker, {
      container: box.name,
      command: 'echo out; echo err >&2; exit 3',
      timeoutSeconds: 30,
      outputCapBytes: 4096,
    });
    expect(result.exitCode).toBe(3);
    expect(result.output).toContain('out\n');
    expect(result.output).toContain('err\n');
    expect(result.truncated).toBe(false);
  });

  it('kills a command that outlives its timeout, children included, and keeps what it printed', async () => {
    const box = await sandbox('timeout');
    const started = Date.now();
    const error = await execInSandbox(docker, {
      container: box.name,
      command: 'echo before; sleep 300 & sleep 301; echo never',
      timeoutSeconds: 2,
      outputCapBytes: 4096,
    }).catch((e: unknown) => e);
    expect(failureType(error)).toBe('CommandTimedOut');
    expect(Date.now() - started).toBeLessThan(15_000);
    const details = (error as ApplicationFailure).details?.[0] as { output: string };
    expect(details.output).toBe('before\n');
    const left = await execInSandbox(docker, {
      container: box.name,
      command: 'ps -eo args= | grep -c "^sleep 30[01]$" || true',
      timeoutSeconds: 30,
      outputCapBytes: 4096,
    });
    expect(left.output.trim()).toBe('0');
  });

  it('caps the output and says how much was cut', async () => {
    const box = await sandbox('cap');
    const result = await execInSandbox(docker, {
      container: box.name,
      command: "head -c 300000 /dev/zero | tr '\\0' x",
      timeoutSeconds: 30,
      outputCapBytes: 10_000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.truncated).toBe(true);
    expect(result.output.startsWith('x'.repeat(10_000))).toBe(true);
    expect(result.output).toContain('[output truncated: 290000 more bytes not shown (cap 10000 bytes)]');
  });

  it('reports ContainerGone when the container dies in the middle of a command', async () => {
    const box = await sandbox('dies');
    const pending = execInSandbox(docker, {
      container: box.name,
      command: 'sleep 60',
      timeoutSeconds: 120,
      outputCapBytes: 4096,
    }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await docker.getContainer(box.name).kill();
    const error = await pending;
    expect(failureType(error)).toBe('ContainerGone');
    expect((error as Error).message).toMatch(/stopped while the command ran/);
  });

  it('reports ContainerGone for a container that does not exist', async () => {
    const error = await execInSandbox(docker, {
      container: 'sera-test-never-made',
      command: 'true',
      timeoutSeconds: 5,
      outputCapBytes: 1024,
    }).catch((e: unknown) => e);
    expect(failureType(error)).toBe('ContainerGone');
  });
});

describe('files, diff and reset', () => {
  it('write and read files, diff against the base commit and reset to it', async () => {
    const box = await sandbox('files');
    const activities = createSandboxActivities({
      docker,
      hostId: 'test',
      baseImage: baseImageTag(),
      artifacts: new LocalArtifactStore(artifactsDir()),
      client: undefined as never, // the reaper is the only user of the client, and it is not called here
    });
    await writeSandboxFile(docker, box.name, 'new.txt', 'hello\nworld\n');
    expect(await readSandboxFile(docker, box.name, 'new.txt')).toBe('hello\nworld\n');
    expect(await readSandboxFile(docker, box.name, 'missing.txt')).toBeUndefined();
    const original = await readSandboxFile(docker, box.name, 'README.rst');
    await writeSandboxFile(docker, box.name, 'README.rst', `${original}one more line\n`);

    const diff = await activities.sandboxDiff({ container: box.name, baseCommit: box.baseCommit });
    expect(diff).toMatchObject({ filesChanged: 2, linesAdded: 3, linesDeleted: 0 });
    const patch = (await new LocalArtifactStore(artifactsDir()).get(diff.patch.id)).toString();
    expect(patch).toContain('+one more line');
    expect(patch).toContain('+++ b/new.txt');

    await activities.resetSandbox({ container: box.name, baseCommit: box.baseCommit });
    const clean = await activities.sandboxDiff({ container: box.name, baseCommit: box.baseCommit });
    expect(clean).toMatchObject({ filesChanged: 0, linesAdded: 0, linesDeleted: 0 });
    expect(await readSandboxFile(docker, box.name, 'new.txt')).toBeUndefined();
  });
});

describe('a retried tool call', () => {
  it('runs once on the repository as it was before the call, even if the first attempt changed it', async () => {
    const box = await sandbox('retry');
    const artifacts = new LocalArtifactStore(artifactsDir());
    const tools = createAgentToolActivities({ docker, artifacts });
    const before = await tools.runTool({
      container: box.name,
      baseCommit: box.baseCommit,
      key: 'retry-t1',
      action: { tool: 'bash', command: 'echo first >> README.rst' },
      commandTimeoutSeconds: 30,
      observationCapBytes: 4096,
    });
    // The first attempt of the next call appended its line, then its worker died before it recorded
    // a result; the retry must not append a second line on top.
    const append = { tool: 'bash' as const, command: 'echo second >> README.rst && tail -n 2 README.rst' };
    await execInSandbox(docker, {
      container: box.name,
      command: 'echo second >> README.rst',
      timeoutSeconds: 30,
      outputCapBytes: 4096,
    });
    const retry = createAgentToolActivities({ docker, artifacts, attempt: () => 2 });
    const result = await retry.runTool({
      container: box.name,
      baseCommit: box.baseCommit,
      key: 'retry-t2',
      before: before.diff,
      action: append,
      commandTimeoutSeconds: 30,
      observationCapBytes: 4096,
    });
    expect((await artifacts.get(result.observation.id)).toString()).toContain('first\nsecond\n');
    const readme = await readSandboxFile(docker, box.name, 'README.rst');
    expect(readme?.endsWith('first\nsecond\n')).toBe(true);
    expect(readme?.match(/second/g)).toHaveLength(1);
  });
});
