import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { isGitUrl } from '../../core/names';
import { sandboxCacheDir } from '../../infra/paths';
import { hostGit, tryHostGit } from './git';

/**
 * A repository as a git directory on this host: a local path as it is, a URL as a bare mirror
 * cloned once per host into the sandbox cache and fetched again only when a commit is missing.
 */
export async function localRepository(repository: string, commit?: string): Promise<string> {
  if (!isGitUrl(repository)) return checkLocalRepository(repository);
  const mirror = path.join(
    sandboxCacheDir(),
    'git',
    `${createHash('sha256').update(repository).digest('hex').slice(0, 16)}.git`,
  );
  if (!(await isDirectory(mirror))) await cloneMirror(repository, mirror);
  else if (commit && !(await resolveCommit(mirror, commit))) {
    // A commit made after the mirror was cloned: fetch once, then the commit check decides.
    await hostGit(['fetch', '--quiet', '--prune', 'origin', '+refs/*:refs/*'], mirror).catch(
      (error: Error) => {
        throw ApplicationFailure.create({
          type: ErrorTypes.RepositoryNotFound,
          message: `could not fetch ${repository}: ${lastLines(error.message)}`,
          nonRetryable: false,
        });
      },
    );
  }
  return mirror;
}

/** The full commit id of a commit-ish, or a non-retryable CommitNotFound. */
export async function commitOf(repository: string, source: string, commitish: string): Promise<string> {
  const commit = await resolveCommit(source, commitish);
  if (!commit)
    throw ApplicationFailure.create({
      type: ErrorTypes.CommitNotFound,
      message: `commit ${JSON.stringify(commitish)} does not exist in ${repository}`,
      nonRetryable: true,
    });
  return commit;
}

function resolveCommit(source: string, commitish: string): Promise<string | undefined> {
  return tryHostGit(['rev-parse', '--verify', '--quiet', `${commitish}^{commit}`], source);
}

async function cloneMirror(url: string, mirror: string): Promise<void> {
  await mkdir(path.dirname(mirror), { recursive: true });
  // Cloned beside its place and renamed, so a concurrent clone or a crash leaves no half mirror.
  const partial = `${mirror}.${process.pid}.${Date.now()}.partial`;
  try {
    await hostGit(['clone', '--quiet', '--mirror', url, partial]);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw ApplicationFailure.create({
      type: ErrorTypes.RepositoryNotFound,
      message: `could not clone ${url}: ${lastLines((error as Error).message)}`,
      nonRetryable: true,
    });
  }
  await rename(partial, mirror).catch(async (error: NodeJS.ErrnoException) => {
    await rm(partial, { recursive: true, force: true });
    // Another activity on this host finished the same clone first: use that one.
    if (!(await isDirectory(mirror))) throw error;
  });
}

async function checkLocalRepository(repository: string): Promise<string> {
  if (!(await isDirectory(repository)))
    throw ApplicationFailure.create({
      type: ErrorTypes.RepositoryNotFound,
      message: `repository path ${repository} does not exist on sandbox host ${os.hostname()}`,
      nonRetryable: true,
    });
  if (!(await tryHostGit(['rev-parse', '--git-dir'], repository)))
    throw ApplicationFailure.create({
      type: ErrorTypes.RepositoryNotFound,
      message: `${repository} is not a git repository: run "git init && git add -A && git commit" there first`,
      nonRetryable: true,
    });
  return repository;
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function lastLines(message: string): string {
  return message.trim().split('\n').slice(-2).join(' ');
}
