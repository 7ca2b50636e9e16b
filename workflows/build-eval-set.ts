import {
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BuildInstanceActivities, DeriveResult, Rejected } from '../activities/eval/build-instances';
import type { ArtifactRef } from '../core/artifacts';
import { BuildEvalSetInputSchema, type BuildEvalSetRequest } from '../core/eval/eval-input';
import { recipeInput } from '../core/environment-recipe';
import { mapBounded } from '../core/map-bounded';
import { SearchAttributes } from '../core/search-attributes';
import { claimHostQueue, EVAL_MOVES_HOSTS, evalRetry, parseOrFail } from './eval-common';
import { onLiveHost, optionsThatNoticeLoss } from './host-moves';
import { imageBuilds } from './image-builds';

export interface BuildEvalSetResult {
  /** The accepted instances as JSONL; absent when none was accepted. */
  instances?: ArtifactRef;
  accepted: Array<{ instanceId: string; failToPass: number; passToPass: number }>;
  rejected: Rejected[];
}

export interface BuildEvalSetProgress {
  stage: 'drafting' | 'testing' | 'done';
  drafted: number;
  checked: number;
}

export const buildEvalSetProgressQuery = defineQuery<BuildEvalSetProgress>('progress');

/**
 * Builds a SWE-bench-format instances file from changes of a git repository, keeping only
 * instances that validate: some test fails before the change and passes after it, the gold patch
 * resolves the instance and an empty patch does not. Every rejected change is reported with why.
 */
export async function buildEvalSet(request: BuildEvalSetRequest): Promise<BuildEvalSetResult> {
  const input = parseOrFail(BuildEvalSetInputSchema, request, 'evaluation-set input');
  const progress: BuildEvalSetProgress = { stage: 'drafting', drafted: 0, checked: 0 };
  setHandler(buildEvalSetProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: SearchAttributes.runId, value: input.runId },
    { key: SearchAttributes.repository, value: input.repository.path },
    { key: SearchAttributes.stage, value: 'building-eval-set' },
  ]);
  // The drafts and their checks run on one host; a lost host starts them again on another.
  const onHost = async (hostQueue: string, moves: boolean) => {
    const options = {
      taskQueue: hostQueue,
      startToCloseTimeout: `${4 * input.environment.testTimeoutSeconds + 600}s`,
      heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
      retry: evalRetry,
    };
    const host = proxyActivities<BuildInstanceActivities>(
      moves ? optionsThatNoticeLoss(options, input.hostStartTimeoutSeconds) : options,
    );
    const builds = imageBuilds(
      hostQueue,
      input.heartbeatTimeoutSeconds,
      moves ? input.hostStartTimeoutSeconds : undefined,
    );
    progress.stage = 'drafting';
    progress.checked = 0;
    const drafted = await host.draftInstances({
      repository: input.repository.path,
      repo: input.repository.name,
      pairs: input.pairs,
    });
    progress.drafted = drafted.heads.length;
    progress.stage = 'testing';
    const { workflowId } = workflowInfo();
    const derived: DeriveResult[] = await mapBounded(drafted.heads, input.concurrency, async (head) => {
      const image = await builds.prepareRepoImage({
        repository: input.repository.path,
        commit: head.baseCommit,
        ...recipeInput(input.environment),
      });
      const result = await host.deriveInstance({
        runId: input.runId,
        workflowId,
        drafts: drafted.drafts,
        instanceId: head.instanceId,
        image: image.image,
        environment: { ...input.environment, path: input.repository.path },
        limits: input.limits,
      });
      progress.checked += 1;
      return result;
    });
    const accepted = derived.flatMap((d) => (d.accepted ? [d] : []));
    const rejected = [
      ...drafted.rejected,
      ...derived.flatMap((d) => (d.accepted ? [] : [{ instanceId: d.instanceId, reason: d.reason }])),
    ];
    const instances =
      accepted.length > 0
        ? await host.joinInstances({ parts: accepted.map((a) => a.instance.id) })
        : undefined;
    return { accepted, rejected, instances };
  };
  const { accepted, rejected, instances } = patched(EVAL_MOVES_HOSTS)
    ? await onLiveHost((host) => onHost(host.taskQueue, true))
    : await onHost(await claimHostQueue(), false);
  progress.stage = 'done';
  upsertMemo({ instances: instances?.id ?? null, accepted: accepted.length, rejected: rejected.length });
  return {
    instances,
    accepted: accepted.map(({ instanceId, failToPass, passToPass }) => ({
      instanceId,
      failToPass,
      passToPass,
    })),
    rejected,
  };
}
