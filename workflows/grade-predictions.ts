import { defineQuery, patched, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { GradeResult, InstanceHead } from '../activities/eval/activities';
import type { EvalOutputs } from '../activities/eval/report';
import type { ArtifactRef } from '../core/artifacts';
import {
  GradePredictionsInputSchema,
  type GradePredictionsRequest,
  type RepoEnvironment,
} from '../core/eval/eval-input';
import type { SandboxLimits } from '../core/environment-input';
import { mapBounded } from '../core/map-bounded';
import { containerName } from '../core/names';
import { SearchAttributes } from '../core/search-attributes';
import { recipeInput } from '../core/environment-recipe';
import {
  EVAL_MOVES_HOSTS,
  longestTestTimeout,
  claimHostQueue,
  hostActivities,
  imageCache,
  memoizeOutputs,
  parseOrFail,
  reportActivities,
} from './eval-common';
import { onFilesHost, onRepositoryHost } from './host-moves';
import { imageBuilds } from './image-builds';

export interface GradePredictionsResult extends EvalOutputs {
  unknownIds: Record<string, string[]>;
}

export interface GradeProgress {
  stage: 'loading' | 'grading' | 'reporting' | 'done';
  graded: number;
  total: number;
  resolved: number;
}

export const gradeProgressQuery = defineQuery<GradeProgress>('progress');

interface GradeJob {
  runId: string;
  instances: ArtifactRef;
  environments: Record<string, RepoEnvironment>;
  limits: SandboxLimits;
  head: InstanceHead;
  purpose: string;
  patch: { artifact: string } | { predictions: string };
}

function gradeRequest(job: GradeJob, image: string) {
  const { head } = job;
  return {
    runId: job.runId,
    workflowId: workflowInfo().workflowId,
    container: containerName(job.runId, `grade-${job.purpose}-${head.instanceId}`),
    instances: job.instances,
    instanceId: head.instanceId,
    patch: job.patch,
    image,
    environment: environmentOf(job),
    limits: job.limits,
  };
}

function environmentOf(job: GradeJob): RepoEnvironment {
  return job.environments[job.head.instanceId] ?? (job.environments[job.head.repo] as RepoEnvironment);
}

/**
 * Grades existing predictions files (gold patches, another system's output) on the instances,
 * without solving: each prediction in a fresh container, the report as for an evaluation.
 */
export async function gradePredictions(request: GradePredictionsRequest): Promise<GradePredictionsResult> {
  const input = parseOrFail(GradePredictionsInputSchema, request, 'grading input');
  const progress: GradeProgress = { stage: 'loading', graded: 0, total: 0, resolved: 0 };
  setHandler(gradeProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.stage, value: 'grading' },
  ]);
  const maxTestTimeout = longestTestTimeout(input.environments);
  const heartbeat = input.heartbeatTimeoutSeconds;
  const moves = patched(EVAL_MOVES_HOSTS);
  // Pinned (before EVAL_MOVES_HOSTS): one claimed host reads the files, builds and grades.
  const pinned = moves ? undefined : await claimHostQueue();
  const readFiles = <T>(call: (host: ReturnType<typeof hostActivities>) => Promise<T>): Promise<T> =>
    pinned !== undefined
      ? call(hostActivities(pinned, maxTestTimeout, heartbeat))
      : onFilesHost((live) =>
          call(hostActivities(live.taskQueue, maxTestTimeout, heartbeat, input.hostStartTimeoutSeconds)),
        );
  const loaded = await readFiles((host) =>
    host.loadInstances({
      source: input.instances,
      environments: Object.keys(input.environments),
      instanceIds: input.instanceIds,
    }),
  );
  const sets = [];
  const unknownIds: Record<string, string[]> = {};
  for (const set of input.predictions) {
    const predictions = await readFiles((host) =>
      host.loadPredictions({ source: set.source, instances: loaded.instances }),
    );
    unknownIds[set.name] = predictions.unknownIds;
    sets.push({ name: set.name, predictions: predictions.predictions });
  }
  progress.stage = 'grading';
  progress.total = sets.length * loaded.heads.length;
  const imageOf =
    pinned !== undefined ? imageCache(imageBuilds(pinned, heartbeat), input.environments) : undefined;
  const grade = async (job: GradeJob): Promise<GradeResult> => {
    if (pinned !== undefined && imageOf)
      return hostActivities(pinned, maxTestTimeout, heartbeat).gradePrediction(
        gradeRequest(job, await imageOf(job.head)),
      );
    const environment = environmentOf(job);
    const repository = {
      repository: environment.path,
      commit: job.head.baseCommit,
      ...recipeInput(environment),
    };
    return onRepositoryHost(repository, heartbeat, (host) =>
      hostActivities(
        host.taskQueue,
        maxTestTimeout,
        heartbeat,
        input.hostStartTimeoutSeconds,
      ).gradePrediction(gradeRequest(job, host.image)),
    );
  };
  const jobs = sets.flatMap((set) => loaded.heads.map((head) => ({ set, head })));
  const results = await mapBounded(jobs, input.concurrency, async ({ set, head }) => {
    const result = await grade({
      ...input,
      instances: loaded.instances,
      head,
      purpose: set.name,
      patch: { predictions: set.predictions.id },
    });
    progress.graded += 1;
    if (result.resolved) progress.resolved += 1;
    return { set: set.name, result };
  });
  progress.stage = 'reporting';
  const outputs = await reportActivities.writeEvalReport({
    runId: input.runId,
    modelName: input.predictions.map((p) => p.name).join('+'),
    passKind: 'systems',
    instanceIds: loaded.heads.map((h) => h.instanceId),
    passes: sets.map((set) => ({
      name: set.name,
      results: results.filter((r) => r.set === set.name).map((r) => r.result),
    })),
  });
  progress.stage = 'done';
  memoizeOutputs(outputs);
  return { ...outputs, unknownIds };
}
