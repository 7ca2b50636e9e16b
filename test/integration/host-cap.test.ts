import { afterAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { createSandboxActivities } from '../../activities/sandbox/activities';
import { destroySandbox, listManagedContainers, MANAGED_LABEL } from '../../activities/sandbox/containers';
import { ErrorTypes } from '../../core/errors';
import { baseImageTag } from '../../infra/base-image';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { artifactsDir } from '../../infra/paths';
import { uniqueRunId } from '../support/temporal';

const docker = new Docker();
const made: string[] = [];

/** A running container labelled as ours, as a sandbox would be, on the test engine. */
async function startManagedContainer(): Promise<string> {
  const name = `sera-test-${uniqueRunId('cap')}`;
  made.push(name);
  const container = await docker.createContainer({
    name,
    Image: baseImageTag(),
    Cmd: ['sleep', 'infinity'],
    Labels: { [MANAGED_LABEL]: 'true', 'sera.run': 'host-cap', 'sera.workflow-id': name },
    HostConfig: { NetworkMode: 'none' },
  });
  await container.start();
  return name;
}

afterAll(async () => {
  for (const name of made) await destroySandbox(docker, name);
});

describe('a sandbox host at its container cap', () => {
  it('refuses a claim retryably, naming the host, the count and the cap, and takes it once a container goes', async () => {
    // Whatever else runs on the engine counts too: the cap is set one above it.
    const before = (await listManagedContainers(docker)).filter((c) => c.state === 'running').length;
    const activities = createSandboxActivities({
      docker,
      hostId: 'capped-host',
      baseImage: baseImageTag(),
      artifacts: new LocalArtifactStore(artifactsDir()),
      client: undefined as never, // only the reaper uses the client, and it is not called here
      maxContainers: before + 1,
    });
    expect(await activities.claimSandboxHost()).toMatchObject({ hostId: 'capped-host' });

    const extra = await startManagedContainer();
    const refused = await activities.claimSandboxHost().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    const failure = refused as ApplicationFailure;
    expect(failure.type).toBe(ErrorTypes.SandboxHostFull);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('sandbox host capped-host runs');
    expect(failure.message).toContain(`${before + 1} containers`);
    expect(failure.message).toContain(`cap of ${before + 1}`);

    await destroySandbox(docker, extra);
    expect(await activities.claimSandboxHost()).toMatchObject({ hostId: 'capped-host' });
  });
});
