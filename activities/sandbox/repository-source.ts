import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { isGitUrl } from '../../core/names';
import { sandboxCacheDir } from '../../infra/paths';
import { whileHeartbeating } from '../common/activity-context';
import { retryTransient, transientWaitsMs, waitedFor } from '../common/transient-retry';
import { hostGit, tryHostGit } from './git';
import { isTransientGitFailure } from './git-failures';

/**
 * A repository as a git directory on this host: a local path as it is, a URL as a bare mirror
 * cloned once per host into the sandbox cache and fetched again only when a commit is missing.
 */
export async function localRepository(
  repository: string,
  commit?: string,
  /** The waits between tries of a clone or fetch that failed transiently (tests shorten them). */
  waitsMs: readonly number[] = transientWaitsMs(),
): Promise<string> {
  if (!isGitUrl(repository)) return checkLocalRepository(repository);
  const mirror = path.join(
    sandboxCacheDir(),
    'git',
    `${createHash('sha256').update(repository).digest('hex').slice(0, 16)}.git`,
  );
  if (!(await isDirectory(mirror)))
    await fromRemote('clone', repository, () => cloneMirror(repository, mirror), waitsMs);
  else if (commit && (!FULL_SHA.test(commit) || !(await resolveCommit(mirror, commit)))) {
    // A branch or tag may have moved, a commit may be newer than the mirror: fetch, then the
    // commit check decides.
    await fromRemote(
      'fetch',
      repository,
      () => hostGit(['fetch', '--quiet', '--prune', 'origin', '+refs/*:refs/*'], mirror),
      waitsMs,
    );
  }
  return mirror;
}

/**
 * A clone or fetch, heartbeating while it runs (a large repository takes minutes). A network or
 * disk fault is tried again for about 30 s, then fails non-retryably as RepositoryUnreachable; a
 * repository that is not there (or may not be read) fails at once as RepositoryNotFound.
 */
async function fromRemote(
  what: 'clone' | 'fetch',
  url: string,
  step: () => Promise<unknown>,
  waitsMs: readonly number[],
): Promise<void> {
  const transient = (error: unknown): boolean => isTransientGitFailure(gitDetail(error));
  try {
    await retryTransient(() => whileHeartbeating(step), transient, waitsMs);
  } catch (error) {
    const detail = whatGitSaid(gitDetail(error));
    if (transient(error))
      throw ApplicationFailure.create({
        type: ErrorTypes.RepositoryUnreachable,
        message: `could not ${what} ${url} on sandbox host ${os.hostname()}, tried ${waitsMs.length + 1} times over ${waitedFor(waitsMs)}: ${detail}`,
        nonRetryable: true,
      });
    throw ApplicationFailure.create({
      type: ErrorTypes.RepositoryNotFound,
      message: `could not ${what} ${url}: ${detail}`,
      nonRetryable: true,
    });
  }
}

function gitDetail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
    throw error;
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

/** git's own complaint ("fatal: …", "remote: …"), without the command line and the advice after it. */
function whatGitSaid(message: string): string {
  const said = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^(fatal|error|remote):/.test(line));
  return said.length > 0 ? said.join(' ') : message.trim().split('\n').slice(-2).join(' ');
}
