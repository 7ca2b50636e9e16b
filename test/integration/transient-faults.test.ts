import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { createAgentToolActivities } from '../../activities/agent/activities';
import { createSandboxActivities } from '../../activities/sandbox/activities';
import { destroySandbox } from '../../activities/sandbox/containers';
import { execInSandbox } from '../../activities/sandbox/exec';
import { readSandboxFile } from '../../activities/sandbox/files';
import { prepareRepoImage, type RepoImage } from '../../activities/sandbox/repo-image';
import { baseImageTag } from '../../infra/base-image';
import { exampleRepository } from '../../infra/example-repo';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { inFakeActivity } from '../support/fake-activity-context';
import { uniqueRunId, useTestServer } from '../support/temporal';

const docker = new Docker();
let image: RepoImage;
let store: LocalArtifactStore;
const made: string[] = [];

const sandboxActivities = () =>
  createSandboxActivities({
    docker,
    hostId: 'test',
    baseImage: baseImageTag(),
    artifacts: store,
    client: undefined as never, // only the reaper uses the client, and it is not called here
  });

/** A sandbox of the example repository, made the way the activity makes it (heartbeats counted). */
async function sandbox(purpose: string): Promise<{ name: string; heartbeats: number }> {
  const name = `sera-test-${uniqueRunId(purpose)}`;
  made.push(name);
  const run = await inFakeActivity(() =>
    sandboxActivities().createSandbox({
      name,
      image: image.image,
      baseCommit: image.commit,
      runId: 'transient-faults',
      workflowId: 'test-no-workflow',
      limits: { cpus: 1, memoryMb: 512, pids: 256 },
    }),
  );
  return { name, heartbeats: run.heartbeats.length };
}

beforeAll(async () => {
  useTestServer();
  store = new LocalArtifactStore(artifactsDir());
  const example = exampleRepository();
  image = await prepareRepoImage(docker, baseImageTag(), {
    repository: example.path,
    commit: example.commit,
  });
});

afterAll(async () => {
  for (const name of made) await destroySandbox(docker, name);
});

describe('tool-side work heartbeats', () => {
  it('making a sandbox, diffing a large change and resetting it', async () => {
    const box = await sandbox('heartbeats');
    expect(box.heartbeats).toBeGreaterThan(0);
    // About 20 MB over 2,000 new files: a diff and a reset with real work to do.
    await execInSandbox(docker, {
      container: box.name,
      command: 'mkdir -p big && for i in $(seq 1 2000); do seq 1 1500 > big/f$i.txt; done',
      timeoutSeconds: 120,
      outputCapBytes: 4096,
    });
    const activities = sandboxActivities();
    const diff = await inFakeActivity(() =>
      activities.sandboxDiff({ container: box.name, baseCommit: image.commit }),
    );
    expect(diff.value.filesChanged).toBe(2000);
    expect(diff.heartbeats.length).toBeGreaterThan(0);

    const reset = await inFakeActivity(() =>
      activities.resetSandbox({ container: box.name, baseCommit: image.commit }),
    );
    expect(reset.heartbeats.length).toBeGreaterThan(0);
    expect(await readSandboxFile(docker, box.name, 'big/f1.txt')).toBeUndefined();
  });
});

describe('an artifact that reaches the store late', () => {
  it('is read when the activity looks again: a restored patch a few seconds behind', async () => {
    const box = await sandbox('late-artifact');
    const patch = [
      'diff --git a/LATE.txt b/LATE.txt',
      'new file mode 100644',
      'index 0000000..3b18e51',
      '--- /dev/null',
      '+++ b/LATE.txt',
      '@@ -0,0 +1 @@',
      `+${box.name}`,
      '',
    ].join('\n');
    // The id is known (content-addressed) before the bytes land, 1.5 s after the first look.
    const ref = {
      id: `sha256:${createHash('sha256').update(patch).digest('hex')}`,
      size: patch.length,
      mediaType: 'text/x-diff',
      preview: '',
    };
    setTimeout(() => void store.put(patch, 'text/x-diff'), 1500);
    const tools = createAgentToolActivities({ docker, artifacts: store });
    // The production schedule (about 30 s of looks), whatever the test environment shortens it to.
    const configured = process.env.SERA_TRANSIENT_WAIT_SECONDS;
    process.env.SERA_TRANSIENT_WAIT_SECONDS = '30';
    try {
      const run = await inFakeActivity(() => tools.applyPatch({ container: box.name, patch: ref }));
      expect(run.heartbeats.length).toBeGreaterThan(0);
    } finally {
      if (configured === undefined) delete process.env.SERA_TRANSIENT_WAIT_SECONDS;
      else process.env.SERA_TRANSIENT_WAIT_SECONDS = configured;
    }
    expect(await readSandboxFile(docker, box.name, 'LATE.txt')).toBe(`${box.name}\n`);
  });
});
