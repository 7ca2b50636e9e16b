import { ApplicationFailure } from '@temporalio/common';
import picomatch from 'picomatch';
import { ErrorTypes } from '../../core/errors';
import {
  SOURCE_LANGUAGES,
  detectLanguages,
  indexedLanguageOf,
  type SourceLanguage,
} from '../../core/languages';
import { hostGit } from '../sandbox/git';

/** Larger files are generated or bundled, not code a person edits; parsing them only costs time. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

export interface SourceFile {
  path: string;
  language: SourceLanguage;
}

/** Paths of the regular files at a commit that are small enough to be source, from git (no checkout). */
export async function filesAtCommit(repository: string, commit: string): Promise<string[]> {
  // `-z` keeps unusual names unquoted; `-l` adds sizes; links and submodules are not files to read.
  const listing = await hostGit(['ls-tree', '-r', '-l', '-z', commit], repository);
  return listing
    .split('\0')
    .map((entry) => /^(\d+) blob [0-9a-f]+\s+(\d+)\t(.+)$/s.exec(entry))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== '120000' && Number(m[2]) <= MAX_SOURCE_BYTES)
    .map((m) => m[3] ?? '');
}

/**
 * The files in the include globs (all when none) and outside the exclude globs. An include glob
 * that matches nothing is a mistake in the run's settings, not an empty repository.
 */
export function filterByGlobs(
  files: readonly string[],
  include: readonly string[],
  exclude: readonly string[],
): string[] {
  const options = { dot: true };
  const unmatched = include.filter((glob) => {
    const matches = picomatch(glob, options);
    return !files.some((file) => matches(file));
  });
  if (unmatched.length > 0) {
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `include globs match no file: ${unmatched.map((g) => JSON.stringify(g)).join(', ')}`,
      nonRetryable: true,
    });
  }
  const included = include.length > 0 ? picomatch([...include], options) : () => true;
  const excluded = exclude.length > 0 ? picomatch([...exclude], options) : () => false;
  return files.filter((file) => included(file) && !excluded(file));
}

/**
 * The files to index and their languages: the languages asked for, or those that make up the
 * repository when none are; tests and vendored files are left out either way.
 */
export function chooseSourceFiles(
  files: readonly string[],
  asked: readonly SourceLanguage[],
  repository: string,
): { languages: SourceLanguage[]; files: SourceFile[] } {
  const languages = asked.length > 0 ? [...new Set(asked)] : detectLanguages(files);
  if (languages.length === 0) {
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `no source files of a known language (${SOURCE_LANGUAGES.join(', ')}) outside tests and vendored code in ${repository}`,
      nonRetryable: true,
    });
  }
  const chosen: SourceFile[] = [];
  for (const path of files) {
    const language = indexedLanguageOf(path);
    if (language && languages.includes(language)) chosen.push({ path, language });
  }
  return { languages, files: chosen };
}
