import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import {
  canonicalImageRecipe,
  ImageRecipeSchema,
  isPlainRecipe,
  type ImageRecipe,
  type ImageRecipeRequest,
} from '../../core/environment-recipe';
import { ErrorTypes } from '../../core/errors';
import {
  commitDockerfile,
  environmentDockerfile,
  plainDockerfile,
  type Dockerfile,
} from '../../core/image-dockerfile';
import { describeIssues } from '../../core/environment-input';
import {
  environmentImageTag,
  RECIPE_IMAGE_LAYOUT,
  recipeImageTag,
  repoImageTag,
  startImageTag,
} from '../../core/names';
import { asSandboxFailure, dockerStatus } from './docker-errors';
import { dependencyFiles } from './dependency-files';
import { hostGit } from './git';
import {
  buildFailure,
  buildImage,
  ImageBuildError,
  imageExists,
  stepLabel,
  type BuildOptions,
} from './image-build';
import { hostCaBundle } from './host-ca';
import { commitOf, localRepository } from './repository-source';
import { toolchainLayers } from './toolchains';

export { imageExists } from './image-build';

export interface RepoImageInput {
  /** A git repository on the sandbox host (a local path) or a URL git can clone. */
  repository: string;
  /** Any commit-ish: a sha, a tag, a branch. */
  commit: string;
  /** How the environment is built. Absent: the base image plus the repository. */
  recipe?: ImageRecipeRequest;
}

export interface RepoImage {
  image: string;
  /** The full commit id the image holds at /repo. */
  commit: string;
  repoName: string;
  /** The builder's output, when this call built something. */
  buildLog?: ArtifactRef;
}

export interface RepoImageOptions {
  /** Where the build log goes; without it the log is only streamed to `progress`. */
  artifacts?: ArtifactStore;
  /** Each line of the builder's output, for heartbeats. */
  progress?: (line: string) => void;
}

/**
 * Builds (once per host) an image holding the repository at a commit in /repo, git history
 * included. Without a recipe: the sandbox base image plus the repository. With one: an
 * environment image (start, packages, toolchains, variables, setup run with network), keyed by
 * the recipe and the dependency files so other commits reuse it, then the commit's files on top.
 * Tags are derived from their inputs, so a retry or a second run finds what is already there.
 */
export async function prepareRepoImage(
  docker: Docker,
  baseImage: string,
  input: RepoImageInput,
  options: RepoImageOptions = {},
): Promise<RepoImage> {
  const parsed = ImageRecipeSchema.safeParse(input.recipe ?? {});
  if (!parsed.success)
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `invalid environment recipe: ${describeIssues(parsed.error)}`,
      nonRetryable: true,
    });
  const recipe = parsed.data;
  const repoName = path.basename(input.repository).replace(/\.git$/, '') || 'repo';
  const plain = isPlainRecipe(recipe);
  const start = plain ? undefined : await startIdentity(docker, baseImage, recipe);
  const tagFor = (commit: string): string =>
    start
      ? recipeImageTag(repoName, commit, recipeKey(recipe, start))
      : repoImageTag(repoName, commit, baseImage);
  // A full commit id names the image without looking at the repository (no clone of a URL).
  if (/^[0-9a-f]{40}$/.test(input.commit) && start !== 'dockerfile') {
    const tag = tagFor(input.commit);
    if (await imageExists(docker, tag)) return { image: tag, commit: input.commit, repoName };
  }
  const source = await localRepository(input.repository, input.commit);
  const commit = await commitOf(input.repository, source, input.commit);
  if (start !== 'dockerfile') {
    const tag = tagFor(commit);
    if (await imageExists(docker, tag)) return { image: tag, commit, repoName };
  }
  if (!(await imageExists(docker, baseImage)) && (plain || !recipe.from))
    throw ApplicationFailure.create({
      type: ErrorTypes.BaseImageMissing,
      message: `sandbox base image ${baseImage} is missing on this Docker host: run infra/setup.sh (or infra/base-image.sh) here`,
      nonRetryable: true,
    });

  const log = new BuildLog(options.progress);
  const work = await mkdtemp(path.join(os.tmpdir(), 'sera-image-'));
  try {
    await checkoutInto(source, commit, path.join(work, 'repo'));
    if (plain) {
      const tag = tagFor(commit);
      await buildOrFail(docker, work, plainDockerfile(baseImage), tag, labels(commit), log, options);
      return { image: tag, commit, repoName, buildLog: await log.store(options.artifacts) };
    }
    const from = await startImage(docker, baseImage, recipe, work, repoName, log, options);
    const startKey = start === 'dockerfile' || !start ? from : start;
    const tag = recipeImageTag(repoName, commit, recipeKey(recipe, startKey));
    if (await imageExists(docker, tag)) return { image: tag, commit, repoName };
    // The build commands run in the commit image: changing them keeps the environment.
    const environment = environmentImageTag(
      repoName,
      sha256(
        recipeKey({ ...recipe, build: [] }, startKey) +
          listing(await dependencyFiles(source, commit, recipe)),
      ),
    );
    if (!(await imageExists(docker, environment))) {
      log.line(`building the environment ${environment} (dependencies of ${commit.slice(0, 12)})`);
      const toolchains = await toolchainLayers(docker, recipe.toolchains, (line) => log.line(line));
      const ca = await hostCaBundle();
      if (ca) await copyFile(ca, path.join(work, 'sera-ca.pem'));
      const dockerfile = environmentDockerfile({
        from,
        packages: recipe.packages,
        toolchains,
        env: recipe.env,
        setup: recipe.setup,
        caBundle: ca !== undefined,
      });
      await buildOrFail(
        docker,
        work,
        dockerfile,
        environment,
        { 'sera.managed': 'true' },
        log,
        options,
        ca ? ['sera-ca.pem'] : [],
      );
    } else log.line(`reusing the environment ${environment}`);
    await buildOrFail(
      docker,
      work,
      commitDockerfile(environment, recipe.build),
      tag,
      { ...labels(commit), 'sera.environment': environment },
      log,
      options,
      [],
      // The commit's own build steps run without network, as everything after setup does.
      { networkMode: 'none' },
    );
    return { image: tag, commit, repoName, buildLog: await log.store(options.artifacts) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What the image starts from, as far as it is known before reading the repository. */
async function startIdentity(docker: Docker, baseImage: string, recipe: ImageRecipe): Promise<string> {
  if (!recipe.from) return baseImage;
  if ('dockerfile' in recipe.from) return 'dockerfile';
  try {
    // The image's id, not its name: a rebuilt image under the same name makes new environments.
    return (await docker.getImage(recipe.from.image).inspect()).Id;
  } catch (error) {
    if (dockerStatus(error) === 404)
      throw ApplicationFailure.create({
        type: ErrorTypes.ImageNotFound,
        message: `the recipe's start image ${recipe.from.image} is not on this Docker host: build or load it on every sandbox host`,
        nonRetryable: true,
      });
    throw asSandboxFailure(error, `inspecting image ${recipe.from.image}`);
  }
}

/** The image tag to write in FROM: the base, the named image, or the repository's Dockerfile built here. */
async function startImage(
  docker: Docker,
  baseImage: string,
  recipe: ImageRecipe,
  work: string,
  repoName: string,
  log: BuildLog,
  options: RepoImageOptions,
): Promise<string> {
  if (!recipe.from) return baseImage;
  if ('image' in recipe.from) return recipe.from.image;
  const repo = path.join(work, 'repo');
  const dockerfile = path.normalize(recipe.from.dockerfile);
  const context = path.normalize(recipe.from.context ?? path.dirname(dockerfile));
  if (
    dockerfile.startsWith('..') ||
    path.isAbsolute(dockerfile) ||
    context.startsWith('..') ||
    path.isAbsolute(context)
  )
    throw invalid(
      `from.dockerfile and from.context are folders of the repository, got ${recipe.from.dockerfile}`,
    );
  const text = await readFile(path.join(repo, dockerfile), 'utf8').catch(() => undefined);
  if (text === undefined)
    // The same on every host: bad input, not a host that cannot serve the claim.
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `the recipe's Dockerfile ${dockerfile} is not in the repository at this commit`,
      nonRetryable: true,
    });
  const contextTree = await hostGit(['rev-parse', `HEAD:${context === '.' ? '' : context}`], repo).catch(
    () => {
      throw invalid(`the recipe's build context ${context} is not a folder of the repository at this commit`);
    },
  );
  const tag = startImageTag(repoName, sha256(`${dockerfile}\n${contextTree}\n${text}`));
  if (await imageExists(docker, tag)) return tag;
  log.line(`building the repository's Dockerfile ${dockerfile} as ${tag}`);
  try {
    await buildImage(
      docker,
      path.join(repo, context),
      await readdir(path.join(repo, context)),
      tag,
      { 'sera.managed': 'true' },
      (line) => log.line(line),
      { dockerfile: path.relative(path.join(repo, context), path.join(repo, dockerfile)) },
    );
  } catch (error) {
    if (!(error instanceof ImageBuildError)) throw error;
    const stored = await log.store(options.artifacts);
    throw ApplicationFailure.create({
      type: ErrorTypes.ImageBuildFailed,
      message: `building the repository's Dockerfile ${dockerfile} failed at its step ${error.step ?? '?'}: ${error.detail}; build log: ${stored ? `artifact ${stored.id}` : 'not stored'}\n${error.tail.split('\n').slice(-12).join('\n')}`,
      nonRetryable: true,
    });
  }
  return tag;
}

async function buildOrFail(
  docker: Docker,
  work: string,
  dockerfile: Dockerfile,
  tag: string,
  imageLabels: Record<string, string>,
  log: BuildLog,
  options: RepoImageOptions,
  extra: string[] = [],
  buildOptions: BuildOptions = {},
): Promise<void> {
  await writeFile(path.join(work, 'Dockerfile'), dockerfile.text);
  try {
    await buildImage(
      docker,
      work,
      ['Dockerfile', 'repo', ...extra],
      tag,
      imageLabels,
      (line) => {
        // Each step is announced by its meaning, then the builder's own words follow.
        const label = stepLabel(line, dockerfile.steps);
        if (label) log.line(`-- ${label}`);
        log.line(line);
      },
      buildOptions,
    );
  } catch (error) {
    if (!(error instanceof ImageBuildError)) throw error;
    const stored = await log.store(options.artifacts);
    throw buildFailure(error, dockerfile.steps, tag, stored ? stored.id : 'not stored');
  }
}

/** The repository at the commit, history included, as the image's /repo. */
async function checkoutInto(source: string, commit: string, repoDir: string): Promise<void> {
  await hostGit(['clone', '--quiet', '--no-checkout', source, repoDir]);
  await hostGit(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commit], repoDir);
  await hostGit(['remote', 'remove', 'origin'], repoDir);
  // Byte code and caches that running Python leaves behind are never part of a patch.
  await writeFile(path.join(repoDir, '.git', 'info', 'exclude'), '__pycache__/\n*.pyc\n.pytest_cache/\n');
  // Files written through the engine's archive API lose their executable bit; that is not a change.
  await hostGit(['config', 'core.fileMode', 'false'], repoDir);
}

function listing(files: Map<string, string>): string {
  return [...files].map(([file, blob]) => `${file} ${blob}`).join('\n');
}

function recipeKey(recipe: ImageRecipe, start: string): string {
  return sha256(`layout ${RECIPE_IMAGE_LAYOUT}\nstart ${start}\n${canonicalImageRecipe(recipe)}`);
}

function labels(commit: string): Record<string, string> {
  return { 'sera.managed': 'true', 'sera.commit': commit };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorTypes.InvalidInput, message, nonRetryable: true });
}

/** The builder's output of one prepareRepoImage call, stored as one artifact. */
class BuildLog {
  private readonly lines: string[] = [];
  private stored?: ArtifactRef;

  constructor(private readonly progress?: (line: string) => void) {}

  line(text: string): void {
    this.lines.push(text);
    this.progress?.(text);
  }

  async store(artifacts: ArtifactStore | undefined): Promise<ArtifactRef | undefined> {
    if (!artifacts || this.lines.length === 0) return undefined;
    this.stored ??= await artifacts.put(`${this.lines.join('\n')}\n`, 'text/plain');
    return this.stored;
  }
}
