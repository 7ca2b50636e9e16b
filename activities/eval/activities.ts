import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import type { FileSource, RepoEnvironment } from '../../core/eval/eval-input';
import { gradeFromResults, gradeWithoutTests, type GradeRecord } from '../../core/eval/grading';
import {
  InstancesFileError,
  parseInstances,
  parsePredictions,
  testFilesOf,
  type SweInstance,
} from '../../core/eval/instances';
import { withoutTestFiles } from '../../core/eval/test-files';
import type { SandboxLimits } from '../../core/environment-input';
import { heartbeat } from '../common/activity-context';
import { runInstanceTests, type GradeTimings } from './instance-tests';

/** What a workflow keeps of an instance: enough to schedule it, nothing large. */
export interface InstanceHead {
  instanceId: string;
  repo: string;
  baseCommit: string;
}

export interface LoadedInstances {
  /** The instances, normalized, as JSONL: activities read the rest from here. */
  instances: ArtifactRef;
  heads: InstanceHead[];
}

export interface GradeInput {
  runId: string;
  workflowId: string;
  /** Names the grading container together with the run id. */
  container: string;
  instances: ArtifactRef;
  instanceId: string;
  /** The model patch: an artifact, or a prediction of a stored predictions file. */
  patch: { artifact: string } | { predictions: string };
  image: string;
  environment: RepoEnvironment;
  limits: SandboxLimits;
}

export interface GradeResult extends GradeRecord {
  /** The patch as graded (test files kept out) and the per-instance log. */
  patch: ArtifactRef;
  droppedTestFiles: string[];
  log: ArtifactRef;
  /** Where grading spent its time; absent when no container was needed (an empty patch). */
  timings?: GradeTimings;
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorTypes.InvalidInput, message, nonRetryable: true });
}

async function readSource(artifacts: ArtifactStore, source: FileSource, what: string): Promise<string> {
  if ('artifact' in source) return (await artifacts.get(source.artifact)).toString('utf8');
  try {
    return await readFile(source.path, 'utf8');
  } catch (error) {
    throw invalid(
      `${what} ${source.path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

// Stored instance files are content-addressed, so a parsed one never goes stale: every grading and
// every problem statement of an evaluation reads the same file, parsed once per worker.
const parsedInstances = new Map<string, Map<string, SweInstance>>();
const PARSED_INSTANCES_KEPT = 8;

async function instancesOf(
  artifacts: ArtifactStore,
  ref: ArtifactRef | string,
): Promise<Map<string, SweInstance>> {
  const id = typeof ref === 'string' ? ref : ref.id;
  const cached = parsedInstances.get(id);
  if (cached) return cached;
  const text = (await artifacts.get(id)).toString('utf8');
  const parsed = new Map(parseInstances(text).map((i) => [i.instance_id, i]));
  if (parsedInstances.size >= PARSED_INSTANCES_KEPT)
    parsedInstances.delete(parsedInstances.keys().next().value!);
  parsedInstances.set(id, parsed);
  return parsed;
}

export interface InstancesRequest {
  source: FileSource;
  environments: string[];
  instanceIds?: string[];
}

export interface StoredInstances {
  /** The instances, normalized, as JSONL. */
  instances: ArtifactRef;
  count: number;
}

function headOf(instance: SweInstance): InstanceHead {
  return { instanceId: instance.instance_id, repo: instance.repo, baseCommit: instance.base_commit };
}

/**
 * Reads and checks an instances file: every field, every repo has an environment, every
 * requested id exists. Stores it normalized (the requested ids only, in the file's order).
 */
async function storeCheckedInstances(
  artifacts: ArtifactStore,
  input: InstancesRequest,
): Promise<{ ref: ArtifactRef; instances: SweInstance[] }> {
  const text = await readSource(artifacts, input.source, 'instances file');
  let instances: SweInstance[];
  try {
    instances = parseInstances(text, 'path' in input.source ? input.source.path : 'instances file');
  } catch (error) {
    if (error instanceof InstancesFileError) throw invalid(error.message);
    throw error;
  }
  if (input.instanceIds) {
    const known = new Set(instances.map((i) => i.instance_id));
    const unknown = input.instanceIds.filter((id) => !known.has(id));
    if (unknown.length > 0) throw invalid(`instanceIds not in the instances file: ${unknown.join(', ')}`);
    const wanted = new Set(input.instanceIds);
    instances = instances.filter((i) => wanted.has(i.instance_id));
  }
  const missing = instances.filter((i) => !input.environments.includes(i.repo));
  if (missing.length > 0) {
    const repos = [...new Set(missing.map((i) => i.repo))];
    throw invalid(
      `no environment for repo ${repos.map((r) => JSON.stringify(r)).join(', ')} (instance ${missing[0]?.instance_id}): add it under "environments"`,
    );
  }
  const ref = await artifacts.put(
    instances.map((i) => JSON.stringify(i)).join('\n') + '\n',
    'application/x-ndjson',
  );
  return { ref, instances };
}

/** Activities of evaluation that need no container: reading instances and predictions. */
export function createEvalFileActivities(deps: { artifacts: ArtifactStore }) {
  const { artifacts } = deps;
  return {
    /**
     * Reads and checks an instances file: every field, every repo has an environment, every
     * requested id exists. Stores it normalized; returns the heads.
     */
    async loadInstances(input: InstancesRequest): Promise<LoadedInstances> {
      const { ref, instances } = await storeCheckedInstances(artifacts, input);
      return {
        instances: ref,
        heads: instances.map(headOf),
      };
    },

    /**
     * As loadInstances, without the heads: a large set's heads (about 130 bytes each) would make
     * this result too large a payload, so `instanceHeads` hands them out a page at a time.
     */
    async storeInstances(input: InstancesRequest): Promise<StoredInstances> {
      const { ref, instances } = await storeCheckedInstances(artifacts, input);
      return { instances: ref, count: instances.length };
    },

    /** The heads of the stored instances from `offset`, at most `limit`, in the file's order. */
    async instanceHeads(input: {
      instances: ArtifactRef;
      offset: number;
      limit: number;
    }): Promise<InstanceHead[]> {
      const all = [...(await instancesOf(artifacts, input.instances)).values()];
      return all.slice(input.offset, input.offset + input.limit).map(headOf);
    },

    /** Reads a predictions file; ids it has that the instances lack are named, not fatal. */
    async loadPredictions(input: {
      source: FileSource | 'gold' | 'empty';
      instances: ArtifactRef;
    }): Promise<{ predictions: ArtifactRef; count: number; modelName: string; unknownIds: string[] }> {
      const known = await instancesOf(artifacts, input.instances);
      if (input.source === 'gold' || input.source === 'empty') {
        const name = input.source;
        const made = [...known.values()].map((i) => ({
          instance_id: i.instance_id,
          model_name_or_path: name,
          model_patch: name === 'gold' ? i.patch : '',
        }));
        const ref = await artifacts.put(JSON.stringify(made), 'application/json');
        return { predictions: ref, count: made.length, modelName: name, unknownIds: [] };
      }
      const text = await readSource(artifacts, input.source, 'predictions file');
      let predictions;
      try {
        predictions = parsePredictions(text, 'path' in input.source ? input.source.path : 'predictions file');
      } catch (error) {
        if (error instanceof InstancesFileError) throw invalid(error.message);
        throw error;
      }
      const ref = await artifacts.put(JSON.stringify(predictions), 'application/json');
      return {
        predictions: ref,
        count: predictions.length,
        modelName: predictions[0]?.model_name_or_path ?? '',
        unknownIds: predictions.filter((p) => !known.has(p.instance_id)).map((p) => p.instance_id),
      };
    },

    /** The problem statement the solving agent gets. */
    async instanceProblem(input: { instances: ArtifactRef; instanceId: string }): Promise<string> {
      const instance = (await instancesOf(artifacts, input.instances)).get(input.instanceId);
      if (!instance) throw invalid(`instance ${input.instanceId} is not in the stored instances`);
      const hints = instance.hints_text.trim();
      return hints ? `${instance.problem_statement}\n\nHints:\n${hints}` : instance.problem_statement;
    },
  };
}

/** Grading, on the sandbox host that holds the instance's image. */
export function createGradeActivities(deps: { docker: Docker; artifacts: ArtifactStore }) {
  const { docker, artifacts } = deps;
  return {
    async gradePrediction(input: GradeInput): Promise<GradeResult> {
      const instance = (await instancesOf(artifacts, input.instances)).get(input.instanceId);
      if (!instance) throw invalid(`instance ${input.instanceId} is not in the stored instances`);
      const raw = await patchOf(artifacts, input.patch, input.instanceId);
      const { patch, dropped } = withoutTestFiles(raw);
      const patchRef = await artifacts.put(patch, 'text/x-diff');
      const record = async (
        grade: GradeRecord,
        log: string,
        timings?: GradeTimings,
      ): Promise<GradeResult> => ({
        ...grade,
        patch: patchRef,
        droppedTestFiles: dropped,
        log: await artifacts.put(log, 'text/plain'),
        timings,
      });
      if (patch.trim() === '')
        return record(
          gradeWithoutTests(input.instanceId, 'empty_patch', 'the prediction changes no non-test file'),
          '',
        );
      const run = await runInstanceTests(
        docker,
        {
          container: input.container,
          image: input.image,
          baseCommit: instance.base_commit,
          runId: input.runId,
          workflowId: input.workflowId,
          limits: input.limits,
          environment: input.environment,
          modelPatch: patch,
          testPatch: instance.test_patch,
          testFiles: testFilesOf(instance.test_patch),
        },
        heartbeat,
      );
      const { outcome } = run;
      if (outcome.kind === 'ran') {
        const results = new Map(Object.entries(outcome.results));
        return record(
          gradeFromResults(input.instanceId, instance.FAIL_TO_PASS, instance.PASS_TO_PASS, results),
          run.log,
          run.timings,
        );
      }
      const status = outcome.kind === 'install_failed' || outcome.kind === 'crashed' ? 'error' : outcome.kind;
      return record(gradeWithoutTests(input.instanceId, status, outcome.reason), run.log, run.timings);
    },
  };
}

async function patchOf(
  artifacts: ArtifactStore,
  source: GradeInput['patch'],
  instanceId: string,
): Promise<string> {
  if ('artifact' in source) return (await artifacts.get(source.artifact)).toString('utf8');
  const predictions = JSON.parse((await artifacts.get(source.predictions)).toString('utf8')) as Array<{
    instance_id: string;
    model_patch: string;
  }>;
  return predictions.find((p) => p.instance_id === instanceId)?.model_patch ?? '';
}

export type EvalFileActivities = ReturnType<typeof createEvalFileActivities>;
export type GradeActivities = ReturnType<typeof createGradeActivities>;
