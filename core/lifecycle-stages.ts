import { imageRecipeInput, ScaffoldSchema, type RunConfig } from './run-config';

/** The memo field where a specialization run keeps its stage manifest's artifact id. */
export const STAGE_MANIFEST_MEMO = 'stageManifest';

/** The specialization lifecycle's stages, in order. */
export const LIFECYCLE_STAGES = [
  'environment',
  'generation',
  'dataset',
  'training',
  'evaluation-base',
  'evaluation-student',
  'report',
] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/**
 * One stage as the run's stage manifest keeps it. `key` is everything the stage's output depends
 * on (its settings and the artifacts it reads), so a later run may take `result` as its own
 * exactly when its key for that stage is the same.
 */
export interface StageRecord {
  stage: LifecycleStage;
  status: 'finished' | 'reused' | 'started';
  key: string;
  /** The child workflow that did the work (for `reused`: the one in the earlier run). */
  workflowId: string;
  seconds: number;
  /** The stage's result, as small as the workflow's own: artifact references, counts, headlines. */
  result?: unknown;
}

/** JSON with object keys sorted, so equal settings give equal keys whatever the order they were written in. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The settings a run's generation depends on; concurrency, output and run id change how, not what. */
export function generationKey(config: RunConfig): string {
  return stableJson({
    repository: config.repository,
    language: config.language,
    index: config.index,
    // Absent for a plain environment, so runs from before recipes keep their keys.
    recipe: imageRecipeInput(config).recipe,
    teacher: config.teacher,
    samples: config.samples,
    seed: config.seed,
    threshold: config.threshold,
    templates: config.templates,
    demonstrations: config.demonstrations,
    demonstrationsFile: config.demonstrationsFile,
    functionCap: config.functionCap,
    rolloutLimits: config.rolloutLimits,
    sandboxLimits: config.sandboxLimits,
    budget: config.budget,
    judgeTries: config.judgeTries,
    // Only where it differs from the authors' defaults, so earlier runs keep their keys.
    ...(stableJson(config.scaffold) === stableJson(ScaffoldSchema.parse({}))
      ? {}
      : { scaffold: config.scaffold }),
  });
}

export function environmentKey(config: RunConfig): string {
  return stableJson({
    repository: config.repository,
    environment: config.environment && {
      testCommand: config.environment.testCommand,
      testTimeoutSeconds: config.environment.testTimeoutSeconds,
      requireTestsPass: config.environment.requireTestsPass,
      // Only when not the default, so runs from before runners keep their keys.
      ...(config.environment.testRunner !== 'pytest' ? { testRunner: config.environment.testRunner } : {}),
    },
    recipe: imageRecipeInput(config).recipe,
    sandboxLimits: config.sandboxLimits,
  });
}

/** The dataset depends on its settings and on the generation's ledger (content-addressed ids). */
export function datasetKey(config: RunConfig, ledger: string[]): string {
  return stableJson({ dataset: config.dataset, threshold: config.threshold, ledger });
}

export function trainingKey(config: RunConfig, dataset: string): string {
  return stableJson({ train: config.train, dataset });
}

/** The base model's evaluation needs no student: it depends on the evaluation settings alone. */
export function baseEvaluationKey(config: RunConfig): string {
  const evaluation = config.evaluate;
  if (!evaluation) return stableJson(null);
  const { serve: _serve, settings: _settings, ...rest } = evaluation;
  return stableJson({ runId: config.runId, evaluation: rest });
}

export function studentEvaluationKey(config: RunConfig, model: string): string {
  return stableJson({ runId: config.runId, evaluation: config.evaluate, model });
}

/** What an earlier run finished that this one may take: the record, when its key is the same. */
export function reusableStage(
  previous: StageRecord[] | undefined,
  stage: LifecycleStage,
  key: string,
): StageRecord | undefined {
  return previous?.find(
    (r) => r.stage === stage && (r.status === 'finished' || r.status === 'reused') && r.key === key,
  );
}

/** The earlier run's generation that started with the same settings but did not finish: its samples can be taken. */
export function unfinishedGeneration(
  previous: StageRecord[] | undefined,
  key: string,
): StageRecord | undefined {
  return previous?.find((r) => r.stage === 'generation' && r.status === 'started' && r.key === key);
}
