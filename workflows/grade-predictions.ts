import { defineQuery, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
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
import {
  longestTestTimeout,
  claimHostQueue,
  hostActivities,
  imageCache,
  memoizeOutputs,
  parseOrFail,
  reportActivities,
} from './eval-common';
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

function gradeOne(
  host: ReturnType<typeof hostActivities>,
  imageOf: (head: InstanceHead) => Promise<string>,
  common: {
    runId: string;
    instances: ArtifactRef;
    environments: Record<string, RepoEnvironment>;
    limits: SandboxLimits;
  },
  head: InstanceHead,
  purpose: string,
  patch: { artifact: string } | { predictions: string },
): Promise<GradeResult> {
  return imageOf(head).then((image) =>
    host.gradePrediction({
      runId: common.runId,
      workflowId: workflowInfo().workflowId,
      container: containerName(common.runId, `grade-${purpose}-${head.instanceId}`),
      instances: common.instances,
      instanceId: head.instanceId,
      patch,
      image,
      environment:
        common.environments[head.instanceId] ?? (common.environments[head.repo] as RepoEnvironment),
      limits: common.limits,
    }),
  );
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
  const hostQueue = await claimHostQueue();
  const host = hostActivities(hostQueue, maxTestTimeout, input.heartbeatTimeoutSeconds);
  const loaded = await host.loadInstances({
    source: input.instances,
    environments: Object.keys(input.environments),
    instanceIds: input.instanceIds,
  });
  const sets = [];
  const unknownIds: Record<string, string[]> = {};
  for (const set of input.predictions) {
    const predictions = await host.loadPredictions({ source: set.source, instances: loaded.instances });
    unknownIds[set.name] = predictions.unknownIds;
    sets.push({ name: set.name, predictions: predictions.predictions });
  }
  progress.stage = 'grading';
  progress.total = sets.length * loaded.heads.length;
  const imageOf = imageCache(imageBuilds(hostQueue, input.heartbeatTimeoutSeconds), input.environments);
  const jobs = sets.flatMap((set) => loaded.heads.map((head) => ({ set, head })));
  const common = { ...input, instances: loaded.instances };
  const results = await mapBounded(jobs, input.concurrency, async ({ set, head }) => {
    const result = await gradeOne(host, imageOf, common, head, set.name, { predictions: set.predictions.id });
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
