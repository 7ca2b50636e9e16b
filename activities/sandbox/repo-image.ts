import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { isGitUrl, repoImageTag } from '../../core/names';
import { asSandboxFailure, dockerStatus } from './docker-errors';
import { hostGit, tryHostGit } from './git';

export interface RepoImageInput {
  /** A git repository on the sandbox host (a local path) or a URL git can clone. */
  repository: string;
  /** Any commit-ish: a sha, a tag, a branch. */
  commit: string;
}

export interface RepoImage {
  image: string;
  /** The full commit id the image holds at /repo. */
  commit: string;
  repoName: string;
}

/**
 * Builds (once) an image holding the repository at a commit in /repo, git history included, on
 * top of the sandbox base image. The tag is derived from the commit and the base image, so a
 * retry or a second run finds the image that is already there.
 */
export async function prepareRepoImage(
  docker: Docker,
  baseImage: string,
  input: RepoImageInput,
): Promise<RepoImage> {
  const repoName = path.basename(input.repository).replace(/\.git$/, '') || 'repo';
  // A full commit id names the image without looking at the repository (no clone of a URL).
  if (/^[0-9a-f]{40}$/.test(input.commit)) {
    const tag = repoImageTag(repoName, input.commit, baseImage);
    if (await imageExists(docker, tag)) return { image: tag, commit: input.commit, repoName };
  }
  const work = await mkdtemp(path.join(os.tmpdir(), 'sera-image-'));
  try {
    const source = await resolveSource(input.repository, work);
    const commit = await tryHostGit(['rev-parse', '--verify', '--quiet', `${input.commit}^{commit}`], source);
    if (!commit) {
      throw ApplicationFailure.create({
        type: ErrorTypes.CommitNotFound,
        message: `commit ${JSON.stringify(input.commit)} does not exist in ${input.repository}`,
        nonRetryable: true,
      });
    }
    const tag = repoImageTag(repoName, commit, baseImage);
    if (await imageExists(docker, tag)) return { image: tag, commit, repoName };
    if (!(await imageExists(docker, baseImage))) {
      throw ApplicationFailure.create({
        type: ErrorTypes.BaseImageMissing,
        message: `sandbox base image ${baseImage} is missing on this Docker host: run infra/setup.sh (or infra/base-image.sh) here`,
        nonRetryable: true,
      });
    }
    const context = path.join(work, 'context');
    await hostGit(['clone', '--quiet', '--no-checkout', source, path.join(context, 'repo')]);
    const repoDir = path.join(context, 'repo');
    await hostGit(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commit], repoDir);
    await hostGit(['remote', 'remove', 'origin'], repoDir);
    // Byte code and caches that running Python leaves behind are never part of a patch.
    await writeFile(path.join(repoDir, '.git', 'info', 'exclude'), '__pycache__/\n*.pyc\n.pytest_cache/\n');
    // Files written through the engine's archive API lose their executable bit; that is not a change.
    await hostGit(['config', 'core.fileMode', 'false'], repoDir);
    await writeFile(
      path.join(context, 'Dockerfile'),
      [`FROM ${baseImage}`, 'COPY repo /repo', 'WORKDIR /repo', ''].join('\n'),
    );
    await buildImage(docker, context, tag, { 'sera.managed': 'true', 'sera.commit': commit });
    return { image: tag, commit, repoName };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A local path must be an existing git repository; a URL is cloned into the work directory. */
async function resolveSource(repository: string, work: string): Promise<string> {
  if (isGitUrl(repository)) {
    const target = path.join(work, 'clone');
    try {
      await hostGit(['clone', '--quiet', '--bare', repository, target]);
    } catch (error) {
      throw ApplicationFailure.create({
        type: ErrorTypes.RepositoryNotFound,
        message: `could not clone ${repository}: ${(error as Error).message.split('\n').slice(-2).join(' ')}`,
        nonRetryable: true,
      });
    }
    return target;
  }
  const exists = await stat(repository).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists) {
    throw ApplicationFailure.create({
      type: ErrorTypes.RepositoryNotFound,
      message: `repository path ${repository} does not exist on sandbox host ${os.hostname()}`,
      nonRetryable: true,
    });
  }
  if (!(await tryHostGit(['rev-parse', '--git-dir'], repository))) {
    throw ApplicationFailure.create({
      type: ErrorTypes.RepositoryNotFound,
      message: `${repository} is not a git repository: run "git init && git add -A && git commit" there first`,
      nonRetryable: true,
    });
  }
  return repository;
}

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if (dockerStatus(error) === 404) return false;
    throw asSandboxFailure(error, `inspecting image ${tag}`);
  }
}

async function buildImage(
  docker: Docker,
  context: string,
  tag: string,
  labels: Record<string, string>,
): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage({ context, src: ['Dockerfile', 'repo'] }, { t: tag, labels, rm: true });
  } catch (error) {
    throw asSandboxFailure(error, `building image ${tag}`);
  }
  const events = await new Promise<Array<{ error?: string; stream?: string }>>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) =>
      err ? reject(err) : resolve(output),
    );
  });
  const failed = events.find((e) => e.error);
  if (failed) {
    throw ApplicationFailure.create({
      type: ErrorTypes.ImageBuildFailed,
      message: `building image ${tag} failed: ${failed.error}`,
      nonRetryable: true,
    });
  }
}
