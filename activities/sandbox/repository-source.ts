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
  else if (commit && (!FULL_SHA.test(commit) || !(await resolveCommit(mirror, commit)))) {
    // A branch or tag may have moved, a commit may be newer than the mirror: fetch, then the
    // commit check decides. A fetch that fails is retried (the network may come back).
    await hostGit(['fetch', '--quiet', '--prune', 'origin', '+refs/*:refs/*'], mirror).catch(
      (error: Error) => {
        throw new Error(`could not fetch ${repository} into this host's mirror: ${lastLines(error.message)}`);
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
    const detail = lastLines((error as Error).message);
    // A network that failed may come back; a URL that names no repository will not.
    if (TRANSIENT_GIT.test(detail)) throw new Error(`could not clone ${url} (retried): ${detail}`);
    throw ApplicationFailure.create({
      type: ErrorTypes.RepositoryNotFound,
      message: `could not clone ${url}: ${detail}`,
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

const FULL_SHA = /^[0-9a-f]{40}$/;
const TRANSIENT_GIT =
  /Could not resolve host|timed out|Connection (refused|reset|timed out)|early EOF|RPC failed|Temporary failure/i;

function lastLines(message: string): string {
  return message.trim().split('\n').slice(-2).join(' ');
}
