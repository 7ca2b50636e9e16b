import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import type { SandboxLimits } from '../../core/environment-input';
import { gradeFromResults } from '../../core/eval/grading';
import { testFilesOf, type SweInstance } from '../../core/eval/instances';
import { splitGitDiff } from '../../core/eval/patch-files';
import { isTestPatchFile } from '../../core/eval/test-files';
import { countsAsPassed, type TestStatus } from '../../core/eval/test-log';
import { heartbeat } from '../common/activity-context';
import { hostGitRaw, tryHostGit } from '../sandbox/git';
import { localRepository } from '../sandbox/repository-source';
import { containerName } from '../../core/names';
import { runInstanceTests, type InstanceTestInput, type TestEnvironment } from './instance-tests';

/** A change to turn into an instance: the repository at `base`, the change up to `commit`. */
export interface CommitPair {
  base: string;
  commit: string;
}

export interface Rejected {
  instanceId: string;
  reason: string;
}

export interface DraftResult {
  /** JSON array of drafts: instances without their test lists. */
  drafts: ArtifactRef;
  heads: Array<{ instanceId: string; baseCommit: string }>;
  rejected: Rejected[];
}

export interface DeriveInput {
  runId: string;
  workflowId: string;
  drafts: ArtifactRef;
  instanceId: string;
  image: string;
  environment: TestEnvironment;
  limits: SandboxLimits;
}

export type DeriveResult =
  | { accepted: true; instanceId: string; instance: ArtifactRef; failToPass: number; passToPass: number }
  | { accepted: false; instanceId: string; reason: string };

const invalid = (message: string): ApplicationFailure =>
  ApplicationFailure.create({ type: ErrorTypes.InvalidInput, message, nonRetryable: true });

/**
 * Builds SWE-bench-format instances from a git repository: each (base, commit) pair's diff split
 * into the gold patch and the test patch, the test lists found by running the tests before and
 * after the change, then each instance checked: the gold patch resolves it, an empty one does not.
 */
export function createBuildInstanceActivities(deps: { docker: Docker; artifacts: ArtifactStore }) {
  const { docker, artifacts } = deps;
  return {
    async draftInstances(input: {
      repository: string;
      repo: string;
      pairs: CommitPair[];
    }): Promise<DraftResult> {
      const drafts: Array<Omit<SweInstance, 'FAIL_TO_PASS' | 'PASS_TO_PASS'>> = [];
      const rejected: Rejected[] = [];
      for (const pair of input.pairs) {
        // A URL is read from this host's mirror of it, as image builds read it (fetched again
        // only when the pair's commit is missing there).
        const repository = await localRepository(input.repository, pair.commit);
        const base = await resolve(repository, pair.base);
        const commit = await resolve(repository, pair.commit);
        const name =
          (await tryHostGit(['describe', '--tags', '--exact-match', commit], repository)) ??
          commit.slice(0, 12);
        const instanceId = `${input.repo.replace('/', '__')}-${name}`;
        const files = splitGitDiff(
          await hostGitRaw(['diff', '--no-color', '--full-index', base, commit], repository),
        );
        const patch = files
          .filter((f) => !isTestPatchFile(f.path))
          .map((f) => f.text)
          .join('');
        const testPatch = files
          .filter((f) => isTestPatchFile(f.path))
          .map((f) => f.text)
          .join('');
        if (patch === '') {
          rejected.push({ instanceId, reason: 'the change touches only test files' });
          continue;
        }
        if (testPatch === '') {
          rejected.push({ instanceId, reason: 'the change touches no test file' });
          continue;
        }
        const message = (await hostGitRaw(['log', '-1', '--format=%B', commit], repository)).trim();
        const createdAt = (await hostGitRaw(['log', '-1', '--format=%cI', commit], repository)).trim();
        drafts.push({
          instance_id: instanceId,
          repo: input.repo,
          base_commit: base,
          patch,
          test_patch: testPatch,
          problem_statement: message,
          hints_text: '',
          created_at: createdAt,
          version: name.replace(/^v/, ''),
          environment_setup_commit: base,
        });
      }
      return {
        drafts: await artifacts.put(JSON.stringify(drafts), 'application/json'),
        heads: drafts.map((d) => ({ instanceId: d.instance_id, baseCommit: d.base_commit })),
        rejected,
      };
    },

    async deriveInstance(input: DeriveInput): Promise<DeriveResult> {
      const drafts = JSON.parse((await artifacts.get(input.drafts.id)).toString('utf8')) as Array<
        Omit<SweInstance, 'FAIL_TO_PASS' | 'PASS_TO_PASS'>
      >;
      const draft = drafts.find((d) => d.instance_id === input.instanceId);
      if (!draft) throw invalid(`no draft for ${input.instanceId}`);
      const reject = (reason: string): DeriveResult => ({
        accepted: false,
        instanceId: input.instanceId,
        reason,
      });
      const testFiles = testFilesOf(draft.test_patch);
      const run = async (purpose: string, modelPatch: string) => {
        const base: InstanceTestInput = {
          container: containerName(input.runId, `${input.instanceId}-${purpose}`),
          image: input.image,
          baseCommit: draft.base_commit,
          runId: input.runId,
          workflowId: input.workflowId,
          limits: input.limits,
          environment: input.environment,
          modelPatch,
          testPatch: draft.test_patch,
          testFiles,
        };
        const result = await runInstanceTests(docker, base, heartbeat);
        return result.outcome;
      };
      const before = await run('before', '');
      if (before.kind !== 'ran') return reject(`before the change: ${before.reason}`);
      const after = await run('after', draft.patch);
      if (after.kind !== 'ran') return reject(`with the gold patch: ${after.reason}`);
      const passed = (results: Record<string, TestStatus>, id: string): boolean =>
        countsAsPassed(results[id]);
      const afterIds = Object.keys(after.results).sort();
      const failToPass = afterIds.filter((id) => passed(after.results, id) && !passed(before.results, id));
      const passToPass = afterIds.filter((id) => passed(after.results, id) && passed(before.results, id));
      if (failToPass.length === 0) return reject('no test fails before the change and passes after it');

      // Validation: run both again and grade them as any prediction is graded.
      const gold = await run('gold', draft.patch);
      const empty = await run('empty', '');
      if (gold.kind !== 'ran') return reject(`validation, gold patch: ${gold.reason}`);
      if (empty.kind !== 'ran') return reject(`validation, empty patch: ${empty.reason}`);
      const goldGrade = gradeFromResults(
        draft.instance_id,
        failToPass,
        passToPass,
        new Map(Object.entries(gold.results)),
      );
      if (!goldGrade.resolved)
        return reject(`validation: the gold patch does not resolve it (${goldGrade.reason})`);
      const emptyGrade = gradeFromResults(
        draft.instance_id,
        failToPass,
        passToPass,
        new Map(Object.entries(empty.results)),
      );
      if (emptyGrade.resolved) return reject('validation: an empty patch resolves it');

      const instance: SweInstance = { ...draft, FAIL_TO_PASS: failToPass, PASS_TO_PASS: passToPass };
      return {
        accepted: true,
        instanceId: input.instanceId,
        instance: await artifacts.put(JSON.stringify(instance), 'application/json'),
        failToPass: failToPass.length,
        passToPass: passToPass.length,
      };
    },

    /** Joins accepted instances into one JSONL file, in the order given. */
    async joinInstances(input: { parts: string[] }): Promise<ArtifactRef> {
      const lines: string[] = [];
      for (const id of input.parts) lines.push((await artifacts.get(id)).toString('utf8').trim());
      return artifacts.put(lines.join('\n') + '\n', 'application/x-ndjson');
    },
  };

  async function resolve(repository: string, commitish: string): Promise<string> {
    const sha = await tryHostGit(['rev-parse', '--verify', '--quiet', `${commitish}^{commit}`], repository);
    if (!sha) throw invalid(`commit ${JSON.stringify(commitish)} does not exist in ${repository}`);
    return sha;
  }
}

export type BuildInstanceActivities = ReturnType<typeof createBuildInstanceActivities>;
