import type Docker from 'dockerode';
import { createDatasetActivities } from '../activities/dataset/build-dataset';
import { indexFunctions } from '../activities/index/index-functions';
import { createSvgActivities } from '../activities/llm/svg-activities';
import { prepareRepoImage } from '../activities/sandbox/repo-image';
import { createTrainActivities } from '../activities/train/train-student';
import { bugInstruction } from '../core/agent/instructions';
import { RolloutInputSchema } from '../core/agent/rollout-input';
import type { ArtifactStore } from '../core/artifacts';
import { DEFAULT_DEMONSTRATIONS } from '../core/demonstrations';
import { mapBounded } from '../core/map-bounded';
import { configuredLanguages, imageRecipeInput, type RunConfig } from '../core/run-config';
import type { LedgerEntry } from '../core/sft/sample-record';
import { baseImageTag } from '../infra/base-image';
import { plainRollout } from './plain-rollout';

export interface PlainLifecycleResult {
  /** Wall seconds of each stage, as the lifecycle report names them. */
  seconds: { generation: number; dataset: number; training: number };
  finished: number;
  accepted: number;
  datasetLines: number;
  trainingSteps: number;
}

/**
 * The generation, dataset and training stages of a specialization called in-process over the
 * same activity functions, teacher, image and trainer, with no Temporal and no durability: the
 * baseline of the lifecycle overhead benchmark. It follows svgRun and svgSample step by step
 * (plan, rollout 1, judge, PR description, rollout 2, soft verification, the duplicate rule,
 * the ledger), with the run's concurrency.
 */
export async function plainLifecycle(
  docker: Docker,
  artifacts: ArtifactStore,
  config: RunConfig,
): Promise<PlainLifecycleResult> {
  if (!config.train) throw new Error('the lifecycle benchmark needs a config with `train`');
  const svg = createSvgActivities({ artifacts });
  const started = performance.now();
  const image = await prepareRepoImage(docker, baseImageTag(), {
    repository: config.repository.path,
    commit: config.repository.commit,
    ...imageRecipeInput(config),
  });
  const languages = configuredLanguages(config);
  const index = await indexFunctions(artifacts, {
    repository: config.repository.path,
    commit: image.commit,
    ...(languages.length > 0 ? { languages } : {}),
    ...(config.index ?? {}),
    cap: config.functionCap,
    seed: config.seed,
  });
  const demonstrations = config.demonstrations ?? DEFAULT_DEMONSTRATIONS;

  const sample = async (i: number): Promise<LedgerEntry & { patch1?: string }> => {
    const plan = await svg.planSampleFromIndex({
      functions: index.functions,
      templates: config.templates,
      seed: config.seed,
      index: i,
    });
    const task = bugInstruction(plan.template, plan.function.name, plan.function.file);
    const model = { ...config.teacher, seed: (config.teacher.seed ?? config.seed) + i };
    const rollout = (kind: 'change' | 'reproduce', text: string, suffix: string) =>
      plainRollout(
        docker,
        artifacts,
        RolloutInputSchema.parse({
          runId: config.runId,
          rolloutId: `s${i}-${suffix}`,
          kind,
          task: text,
          sandbox: {
            hostQueue: 'in-process',
            image: image.image,
            baseCommit: image.commit,
            limits: config.sandboxLimits,
          },
          model,
          limits: config.rolloutLimits,
        }),
        { finish: true },
      );
    const record: Record<string, unknown> = { runId: config.runId, index: i, plan, task };
    const finish = async (reason?: string, recall?: number, patch1?: string) => {
      const ref = await svg.writeRecord({ record: { ...record, accepted: !reason, reason, recall } });
      return { index: i, record: ref.id, accepted: !reason, reason, patch1 };
    };
    const r1 = await rollout('change', task, 'r1');
    record.rollout1 = {
      exitStatus: r1.exitStatus,
      trajectory: r1.trajectory,
      patch: r1.patch,
      turns: r1.turns,
    };
    if (!r1.submitted || !r1.patch) return finish(`rollout1_${r1.exitStatus}`);
    if (r1.patch.linesAdded + r1.patch.linesDeleted === 0) return finish('empty_patch');
    let answer: 'yes' | 'no' | undefined;
    for (let tries = 0; tries < config.judgeTries && !answer; tries += 1)
      answer = (await svg.judgePatch({ patch: r1.patch, model: config.teacher })).answer;
    if (answer !== 'yes')
      return finish(answer ? 'judged_not_meaningful' : 'judge_unreadable', undefined, r1.patch.id);
    const pr = await svg.writePrDescription({
      trajectory: r1.trajectory!,
      demonstrations,
      model: config.teacher,
    });
    record.prDescription = pr.description;
    if (!pr.description) return finish('no_pr_description', undefined, r1.patch.id);
    const r2 = await rollout('reproduce', pr.description, 'r2');
    record.rollout2 = {
      exitStatus: r2.exitStatus,
      trajectory: r2.trajectory,
      patch: r2.patch,
      turns: r2.turns,
    };
    if (!r2.submitted || !r2.patch) return finish(`rollout2_${r2.exitStatus}`, undefined, r1.patch.id);
    const verification = await svg.verifyPatches({
      patch1: r1.patch,
      patch2: r2.patch,
      threshold: config.threshold,
    });
    record.verification = verification;
    return finish(
      verification.verified ? undefined : 'recall_below_threshold',
      verification.recall,
      r1.patch.id,
    );
  };
  const indexes = Array.from({ length: config.samples }, (_, i) => i);
  const entries = await mapBounded(indexes, config.concurrency, sample);
  // The duplicate rule: the lowest index keeps an accepted rollout-1 patch.
  const holders = new Set<string>();
  const ledger: LedgerEntry[] = entries.map(({ patch1, ...entry }) => {
    if (!entry.accepted || !patch1) return entry;
    if (holders.has(patch1)) return { ...entry, accepted: false, reason: 'duplicate_patch' };
    holders.add(patch1);
    return entry;
  });
  const chunk = await svg.writeLedgerChunk({ entries: ledger });
  const generated = performance.now();

  const dataset = await createDatasetActivities({ artifacts }).exportDataset({
    runId: config.runId,
    ledger: [chunk],
    config: config.dataset,
    runThreshold: config.threshold,
  });
  const built = performance.now();
  // As the lifecycle does: no training on an empty dataset.
  const trained =
    dataset.lines > 0
      ? await createTrainActivities({ artifacts }).trainStudent({
          runId: config.runId,
          dataset: dataset.dataset.id,
          config: config.train,
        })
      : { steps: 0 };
  const done = performance.now();
  return {
    seconds: {
      generation: (generated - started) / 1000,
      dataset: (built - generated) / 1000,
      training: (done - built) / 1000,
    },
    finished: ledger.length,
    accepted: ledger.filter((e) => e.accepted).length,
    datasetLines: dataset.lines,
    trainingSteps: trained.steps,
  };
}
