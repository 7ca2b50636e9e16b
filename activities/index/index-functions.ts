import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { capFunctions, isTestPath, type IndexedFunction } from '../../core/function-sampling';
import { hostGit, hostGitRaw, tryHostGit } from '../sandbox/git';
import { heartbeat } from '../common/activity-context';
import { LANGUAGES, parseFunctions, type SourceLanguage } from './parse-functions';

export interface IndexFunctionsInput {
  /** A local git repository on this host (the sandbox host that built the image). */
  repository: string;
  commit: string;
  language: SourceLanguage;
  cap: number;
  seed: number;
}

export interface FunctionIndex {
  functions: ArtifactRef;
  count: number;
  filesRead: number;
  /** Functions found before the cap. */
  found: number;
}

/**
 * Lists the repository's functions at a commit, read from git (no checkout), skipping test
 * paths, parsed with the language's tree-sitter grammar, capped deterministically by the seed.
 */
export async function indexFunctions(
  artifacts: ArtifactStore,
  input: IndexFunctionsInput,
): Promise<FunctionIndex> {
  const commit = await tryHostGit(
    ['rev-parse', '--verify', '--quiet', `${input.commit}^{commit}`],
    input.repository,
  );
  if (!commit) {
    throw ApplicationFailure.create({
      type: ErrorTypes.CommitNotFound,
      message: `commit ${JSON.stringify(input.commit)} does not exist in ${input.repository}`,
      nonRetryable: true,
    });
  }
  const extensions: readonly string[] = LANGUAGES[input.language].extensions;
  const files = (await hostGit(['ls-tree', '-r', '--name-only', commit], input.repository))
    .split('\n')
    .filter((file) => extensions.some((ext) => file.endsWith(ext)) && !isTestPath(file));
  const found: IndexedFunction[] = [];
  for (const file of files) {
    heartbeat();
    const source = await hostGitRaw(['show', `${commit}:${file}`], input.repository);
    for (const fn of await parseFunctions(input.language, source)) found.push({ ...fn, file });
  }
  const kept = capFunctions(found, input.cap, input.seed);
  return {
    functions: await artifacts.put(JSON.stringify(kept), 'application/json'),
    count: kept.length,
    filesRead: files.length,
    found: found.length,
  };
}
