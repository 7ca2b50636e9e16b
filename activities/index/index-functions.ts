import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import { ErrorTypes } from '../../core/errors';
import { capFunctions, type IndexedFunction } from '../../core/function-sampling';
import { isGeneratedSource, isSourceLanguage, type SourceLanguage } from '../../core/languages';
import { whileHeartbeating } from '../common/activity-context';
import { hostGitRaw } from '../sandbox/git';
import { commitOf, localRepository } from '../sandbox/repository-source';
import { parseFunctions } from './parse-functions';
import { chooseSourceFiles, filesAtCommit, filterByGlobs } from './source-files';

export interface IndexFunctionsInput {
  /** A local git repository on this host (the sandbox host that built the image). */
  repository: string;
  commit: string;
  /** The languages to index; when absent (and `language` too), those that make up the repository. */
  languages?: SourceLanguage[];
  /** One language, as callers said before `languages`. */
  language?: SourceLanguage;
  /** Globs on paths from the repository root: only files matching one (e.g. `packages/core/**`). */
  include?: string[];
  /** Globs of files never indexed. */
  exclude?: string[];
  cap: number;
  seed: number;
}

export interface FunctionIndex {
  functions: ArtifactRef;
  count: number;
  filesRead: number;
  /** Functions found before the cap. */
  found: number;
  /** The languages indexed, asked for or detected, most files first when detected. */
  languages: SourceLanguage[];
  /** Functions found per language, before the cap. */
  foundByLanguage: Partial<Record<SourceLanguage, number>>;
}

function askedLanguages(input: IndexFunctionsInput): SourceLanguage[] {
  const asked: string[] = input.languages?.length ? input.languages : input.language ? [input.language] : [];
  const unknown = asked.filter((name) => !isSourceLanguage(name));
  if (unknown.length > 0) {
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `the function index does not read ${unknown.map((l) => JSON.stringify(l)).join(', ')}`,
      nonRetryable: true,
    });
  }
  return asked.filter(isSourceLanguage);
}

/**
 * Lists the repository's functions at a commit, read from git (no checkout): the files of its
 * languages within the include / exclude globs, less tests, vendored and generated code, parsed with
 * each language's tree-sitter grammar, capped deterministically by the seed.
 */
export function indexFunctions(artifacts: ArtifactStore, input: IndexFunctionsInput): Promise<FunctionIndex> {
  // Heartbeats by the clock, not per file: listing a large tree or one large file takes a while.
  return whileHeartbeating(() => indexAt(artifacts, input));
}

async function indexAt(artifacts: ArtifactStore, input: IndexFunctionsInput): Promise<FunctionIndex> {
  const asked = askedLanguages(input);
  // A URL is read from this host's mirror of it (cloned once, shared with image builds).
  const repository = await localRepository(input.repository, input.commit);
  const commit = await commitOf(input.repository, repository, input.commit);
  const inScope = filterByGlobs(
    await filesAtCommit(repository, commit),
    input.include ?? [],
    input.exclude ?? [],
  );
  const { languages, files } = chooseSourceFiles(inScope, asked, input.repository);
  const found: IndexedFunction[] = [];
  const foundByLanguage: Partial<Record<SourceLanguage, number>> = {};
  for (const { path, language } of files) {
    const source = await hostGitRaw(['show', `${commit}:${path}`], repository);
    if (isGeneratedSource(source)) continue;
    for (const fn of await parseFunctions(language, source, path)) {
      found.push({ ...fn, file: path, language });
      foundByLanguage[language] = (foundByLanguage[language] ?? 0) + 1;
    }
  }
  const kept = capFunctions(found, input.cap, input.seed);
  return {
    functions: await artifacts.put(JSON.stringify(kept), 'application/json'),
    count: kept.length,
    filesRead: files.length,
    found: found.length,
    languages,
    foundByLanguage,
  };
}
