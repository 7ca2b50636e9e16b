import Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createAgentToolActivities } from '../activities/agent/activities';
import { createDescribeWorkerActivity } from '../activities/common/describe-worker';
import { indexFunctions, type IndexFunctionsInput } from '../activities/index/index-functions';
import { createEvalFileActivities, createGradeActivities } from '../activities/eval/activities';
import { createEvalReportActivities } from '../activities/eval/report';
import { createScalingActivities } from '../activities/eval/scaling';
import { createLifecycleReportActivities } from '../activities/run/lifecycle-report';
import { createResumeActivities } from '../activities/run/resume';
import { createSampleStateActivities } from '../activities/run/sample-states';
import { createSizedServeActivities } from '../activities/serve/sized-serving';
import { createBuildInstanceActivities } from '../activities/eval/build-instances';
import { createDatasetActivities } from '../activities/dataset/build-dataset';
import { createLlmActivities } from '../activities/llm/activities';
import { createSvgActivities } from '../activities/llm/svg-activities';
import { createTrainActivities } from '../activities/train/train-student';
import {
  createSandboxActivities,
  defaultSandboxHostId,
  type SandboxActivities,
} from '../activities/sandbox/activities';
import { containerCap } from '../core/host-capacity';
import { GPU_SIZE_CLASSES, gpuQueue, hostGpuQueues } from '../core/gpu-queues';
import { sandboxHostQueue, TaskQueues, type WorkerRole } from '../core/queues';
import { baseImageTag } from '../infra/base-image';
import { hostGpuIds } from '../infra/host-gpus';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { artifactsDir, servePython, serveWorkDir } from '../infra/paths';
import { prebuiltBundle } from '../infra/workflow-bundle';
import { concurrencyFor } from './concurrency';

export interface RoleWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** For the sandbox role's reaper, which asks the server which runs are still going. */
  client: Client;
  /** Sandbox role: overrides SERA_SANDBOX_HOST_ID / the host name. */
  sandboxHostId?: string;
  /** Sandbox role: the Docker engine to use (default: DOCKER_HOST or the local socket). */
  docker?: Docker;
  /** Tests wrap activities to inject faults; production passes nothing. */
  wrapSandboxActivities?: (activities: SandboxActivities) => SandboxActivities;
}

/** Running activities get this long to finish after SIGINT/SIGTERM before they are cancelled. */
const SHUTDOWN_GRACE = '30s';

/** The workers one process runs for a role; each polls its role's task queue(s). */
/** The evaluation file activities that read only the artifact store. */
function storedInstanceReads({
  instanceProblem,
  instanceHeads,
}: ReturnType<typeof createEvalFileActivities>) {
  return { instanceProblem, instanceHeads };
}

export async function createRoleWorkers(role: WorkerRole, options: RoleWorkerOptions): Promise<Worker[]> {
  const { connection, namespace } = options;
  const concurrency = concurrencyFor(role);
  // The client's data converter (payload encryption when a key is set): one converter per process.
  const base = {
    connection,
    namespace,
    shutdownGraceTime: SHUTDOWN_GRACE,
    dataConverter: options.client.options.dataConverter,
  };
  switch (role) {
    case 'orchestration':
      return [
        await Worker.create({
          ...base,
          taskQueue: TaskQueues.orchestration,
          workflowBundle: prebuiltBundle(),
          maxConcurrentWorkflowTaskExecutions: concurrency,
        }),
      ];
    case 'sandbox': {
      const hostId = options.sandboxHostId ?? defaultSandboxHostId();
      const docker = options.docker ?? new Docker();
      const artifacts = new LocalArtifactStore(artifactsDir());
      const real = createSandboxActivities({
        docker,
        hostId,
        baseImage: baseImageTag(),
        artifacts,
        client: options.client,
        // As many containers as the host queue has slots, unless SERA_SANDBOX_MAX_CONTAINERS says.
        maxContainers: containerCap(concurrency),
      });
      const activities = options.wrapSandboxActivities ? options.wrapSandboxActivities(real) : real;
      return [
        // The shared queue only hands out hosts; the host queue does the work on this host.
        await Worker.create({
          ...base,
          taskQueue: TaskQueues.sandbox,
          activities: {
            claimSandboxHost: activities.claimSandboxHost,
            claimHostForRepository: activities.claimHostForRepository,
            ...createDescribeWorkerActivity(role),
          },
          maxConcurrentActivityTaskExecutions: concurrency,
        }),
        await Worker.create({
          ...base,
          taskQueue: sandboxHostQueue(hostId),
          activities: {
            ...activities,
            // The client tells a continued run's container from one a reset or rerun left behind.
            ...createAgentToolActivities({ docker, artifacts, client: options.client }),
            // Evaluation: instances and predictions are read, built and graded where the repos are.
            ...createEvalFileActivities({ artifacts }),
            ...createGradeActivities({ docker, artifacts }),
            ...createBuildInstanceActivities({ docker, artifacts }),
            // The repository path is on this host, so the index is made here too.
            indexFunctions: (input: IndexFunctionsInput) => indexFunctions(artifacts, input),
          },
          maxConcurrentActivityTaskExecutions: concurrency,
        }),
      ];
    }
    case 'llm':
      return [
        await Worker.create({
          ...base,
          taskQueue: TaskQueues.llm,
          activities: {
            ...createLlmActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            ...createSvgActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            // Dataset building is CPU work on the run's artifacts, which these workers hold.
            ...createDatasetActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            // So is writing an evaluation's report from its graded predictions.
            ...createEvalReportActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            // Scaling fits read finished runs through the worker's client and store their report.
            ...createScalingActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            // The specialization's stage manifest, its resume lookups and its final report.
            ...createResumeActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            ...createSampleStateActivities(),
            ...createLifecycleReportActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            // An evaluation's stored instances are read here too: no sandbox host is needed for them.
            ...storedInstanceReads(
              createEvalFileActivities({ artifacts: new LocalArtifactStore(artifactsDir()) }),
            ),
            ...createDescribeWorkerActivity(role),
          },
          maxConcurrentActivityTaskExecutions: concurrency,
        }),
      ];
    case 'gpu-train': {
      // One worker per size-class queue this host can hold, sharing one set of activities (and so
      // one lease on the host's GPUs): a training needing n GPUs only reaches hosts with n.
      const gpuIds = hostGpuIds();
      const activities = {
        ...createTrainActivities({ artifacts: new LocalArtifactStore(artifactsDir()), gpuIds }),
        ...createDescribeWorkerActivity(role),
      };
      return Promise.all(
        hostGpuQueues(TaskQueues.gpuTrain, gpuIds.length).map((taskQueue) =>
          Worker.create({
            ...base,
            // A trainer asked to stop (cancel, worker shutdown) finishes its step and checkpoints first.
            shutdownGraceTime: '0s',
            // Progress reaches the server (UI, CLI) within seconds, not the default 0.8 x heartbeat timeout.
            maxHeartbeatThrottleInterval: '3s',
            taskQueue,
            activities,
            maxConcurrentActivityTaskExecutions: concurrency,
          }),
        ),
      );
    }
    case 'gpu-serve': {
      // As for training: a worker per size-class queue, one lease on the host's GPUs. Each engine
      // gets its own devices and port (SERA_SERVE_PORT + the slot of its first device).
      const gpuIds = hostGpuIds();
      const activities = {
        ...createSizedServeActivities(
          {
            artifacts: new LocalArtifactStore(artifactsDir()),
            python: servePython(),
            workDir: serveWorkDir(),
            host: process.env.SERA_SERVE_HOST ?? '127.0.0.1',
            advertisedHost: process.env.SERA_SERVE_ADVERTISED_HOST,
            port: Number(process.env.SERA_SERVE_PORT ?? 8500),
          },
          gpuIds,
        ),
        ...createDescribeWorkerActivity(role),
      };
      return Promise.all(
        GPU_SIZE_CLASSES.filter((size) => size <= gpuIds.length).map((size) =>
          Worker.create({
            ...base,
            taskQueue: gpuQueue(TaskQueues.gpuServe, size),
            maxHeartbeatThrottleInterval: '3s',
            activities,
            // As many engines of this size as the host holds (one on a host without GPUs).
            maxConcurrentActivityTaskExecutions: Math.max(concurrency, Math.floor(gpuIds.length / size)),
          }),
        ),
      );
    }
  }
}

/** Runs the workers until they are shut down (a signal, or shutdown() called on each). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.run()));
}
