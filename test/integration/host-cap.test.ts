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
import { inFakeActivity } from '../support/fake-activity-context';
import { exampleRepository } from '../../infra/example-repo';

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

/** The sandbox activities of a host whose cap is one above what already runs on the test engine. */
async function oneFreePlace(hostId: string) {
  const before = (await listManagedContainers(docker)).filter((c) => c.state === 'running').length;
  return createSandboxActivities({
    docker,
    hostId,
    baseImage: baseImageTag(),
    artifacts: new LocalArtifactStore(artifactsDir()),
    client: undefined as never, // only the reaper uses the client, and it is not called here
    maxContainers: before + 1,
  });
}

/** As an activity of this workflow would run. */
const as = (workflowId: string) => ({ workflowExecution: { workflowId, runId: `${workflowId}-run` } });

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

    // A caller that reads files and makes no container is not held to the cap.
    expect(await activities.claimSandboxHost({ container: false })).toMatchObject({ hostId: 'capped-host' });

    await destroySandbox(docker, extra);
    expect(await activities.claimSandboxHost()).toMatchObject({ hostId: 'capped-host' });
  });
});

describe('a claim that reserves a place on a capped host', () => {
  it('holds the place until its container is created, and frees it once the container is gone', async () => {
    const example = exampleRepository();
    const activities = await oneFreePlace('reserving-host');
    const runId = uniqueRunId('reserve');
    const claim = (workflowId: string) =>
      inFakeActivity(
        () => activities.claimHostForRepository({ repository: example.path, commit: example.commit }),
        as(workflowId),
      );
    const first = `sera-${runId}-first`;
    const host = (await claim(first)).value;

    // The first claim holds the host's last place: another workflow's claim is refused.
    const refused = await claim(`sera-${runId}-second`).catch((error: unknown) => error);
    expect((refused as ApplicationFailure).type).toBe(ErrorTypes.SandboxHostFull);

    const name = `sera-${runId}-box`;
    made.push(name);
    await inFakeActivity(
      () =>
        activities.createSandbox({
          name,
          image: host.image,
          baseCommit: host.commit,
          runId,
          workflowId: first,
          limits: { cpus: 1, memoryMb: 256, pids: 64, user: 'agent' },
        }),
      as(first),
    );
    await destroySandbox(docker, name);
    // The container came and went: neither it nor the claim before it holds the place now.
    expect((await claim(`sera-${runId}-third`)).value).toMatchObject({ hostId: 'reserving-host' });
  });

  it('reserves nothing for a claim whose container comes without createSandbox (a grading)', async () => {
    const example = exampleRepository();
    const activities = await oneFreePlace('grading-host');
    const runId = uniqueRunId('noreserve');
    const repository = { repository: example.path, commit: example.commit };
    for (const who of ['grade-1', 'grade-2', 'grade-3'])
      expect(
        (
          await inFakeActivity(
            () => activities.claimHostForRepository(repository, { reserve: false }),
            as(`sera-${runId}-${who}`),
          )
        ).value,
      ).toMatchObject({ hostId: 'grading-host' });
    // A rollout's claim still finds the place free, and takes it.
    const rollout = await inFakeActivity(
      () => activities.claimHostForRepository(repository),
      as(`sera-${runId}-rollout`),
    );
    expect(rollout.value).toMatchObject({ hostId: 'grading-host' });
  });
});
