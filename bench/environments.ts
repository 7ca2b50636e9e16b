import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { indexFunctions } from '../activities/index/index-functions';
import { prepareRepoImage } from '../activities/sandbox/repo-image';
import { toolchainLayers } from '../activities/sandbox/toolchains';
import type { ImageRecipe } from '../core/environment-recipe';
import { dependencyFiles } from '../activities/sandbox/dependency-files';
import { imageRecipeInput, parseRunConfig } from '../core/run-config';
import { baseImageTag } from '../infra/base-image';
import { LocalArtifactStore } from '../infra/local-artifact-store';
import { repoRoot } from '../infra/paths';

const run = promisify(execFile);

/** The real repositories with a run config under examples/<name>/run.json. */
export const ENVIRONMENT_EXAMPLES = ['flask', 'ufo', 'uuid'] as const;

export interface EnvironmentBenchRow {
  example: string;
  /** run.json's commit, as written there, and the full id it names. */
  ref: string;
  commit: string;
  /** Images removed before the first build, and those the engine kept (in use by a container). */
  removed: string[];
  kept: string[];
  /** Fetching and packing the recipe's toolchains alone (0 without toolchains). */
  toolchainSeconds: number;
  /** prepareRepoImage with no image of this repository on the engine, toolchains already packed. */
  firstSeconds: number;
  /** Build steps answered from the engine's layer cache during the first build (none: cold). */
  firstCachedSteps: string[];
  environment: string;
  /** The same call again: the tag exists. */
  cachedSeconds: number;
  second: SecondCommit & {
    seconds: number;
    environment: string;
    sharesEnvironment: boolean;
    cachedSteps: string[];
  };
  index: {
    seconds: number;
    filesRead: number;
    found: number;
    languages: string[];
    foundByLanguage: Record<string, number>;
  };
}

interface SecondCommit {
  commit: string;
  /** How it was chosen: a release tag with the same dependency files, or the parent commit. */
  how: string;
  /** Dependency files whose contents differ from the first commit's (empty: same dependencies). */
  changedDependencyFiles: string[];
}

/**
 * Environment images and the function index on the real examples, on this machine's engine:
 * a first build with none of the repository's images (nor its toolchain) present, the same call
 * again, another commit of the repository (one with the same dependency files where its history
 * has one), and the function index at the run's commit.
 */
export async function benchEnvironments(
  names: readonly string[],
  progress: (line: string) => void,
): Promise<EnvironmentBenchRow[]> {
  const docker = new Docker();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'sera-bench-env-'));
  const artifacts = new LocalArtifactStore(path.join(scratch, 'artifacts'));
  const rows: EnvironmentBenchRow[] = [];
  try {
    for (const name of names) {
      await run('bash', [path.join(repoRoot, 'infra', 'real-repos.sh'), name]);
      const config = exampleConfig(name);
      const repository = path.resolve(repoRoot, config.repository);
      const recipe = config.recipe;
      const repoTag = path.basename(repository).toLowerCase();
      const toolchainKinds = Object.keys(recipe.toolchains).filter(
        (k) => recipe.toolchains[k as keyof typeof recipe.toolchains],
      );
      // Commit images first, so the environment images (their parents) go with their own tags.
      const { removed, kept } = await removeImages(docker, [
        new RegExp(`^sera-repo-${escape(repoTag)}:`),
        new RegExp(`^sera-env-${escape(repoTag)}:`),
        ...toolchainKinds.map((kind) => new RegExp(`^sera-toolchain-${kind}:`)),
      ]);
      progress(`${name}: removed ${removed.length} images${kept.length ? `, kept ${kept.join(', ')}` : ''}`);

      const toolchainSeconds = await timed(() => toolchainLayers(docker, recipe.toolchains, progress));
      const build = async (
        commit: string,
      ): Promise<{ seconds: number; cachedSteps: string[]; image: string }> => {
        // The build log announces each step as "-- <its meaning>"; the builder then may say it
        // took the step from its cache (layers another image on this engine shares).
        const cachedSteps: string[] = [];
        let step = '';
        const follow = (line: string): void => {
          if (line.startsWith('-- ')) step = line.slice(3);
          else if (line.includes('Using cache')) cachedSteps.push(step);
        };
        let image = '';
        const seconds = await timed(async () => {
          image = (
            await prepareRepoImage(
              docker,
              baseImageTag(),
              { repository, commit, recipe },
              { progress: follow },
            )
          ).image;
        });
        return { seconds, cachedSteps, image };
      };
      const first = await build(config.commit);
      const environment = await environmentOf(docker, first.image);
      progress(
        `${name}: first build ${first.seconds.toFixed(1)} s (${first.cachedSteps.length} cached steps)`,
      );
      const cached = await build(config.commit);
      const commit = (await git(repository, ['rev-parse', `${config.commit}^{commit}`])).trim();

      const pick = await secondCommit(repository, commit, recipe);
      const second = await build(pick.commit);
      const secondEnvironment = await environmentOf(docker, second.image);
      progress(`${name}: ${pick.how} ${pick.commit.slice(0, 12)} in ${second.seconds.toFixed(1)} s`);

      let index: Awaited<ReturnType<typeof indexFunctions>> | undefined;
      const indexSeconds = await timed(async () => {
        index = await indexFunctions(artifacts, { repository, commit, cap: 1_000_000, seed: 0 });
      });
      if (!index) throw new Error(`${name}: the function index returned nothing`);
      rows.push({
        example: name,
        ref: config.commit,
        commit,
        removed,
        kept,
        toolchainSeconds,
        firstSeconds: first.seconds,
        firstCachedSteps: first.cachedSteps,
        environment,
        cachedSeconds: cached.seconds,
        second: {
          ...pick,
          seconds: second.seconds,
          environment: secondEnvironment,
          sharesEnvironment: secondEnvironment === environment,
          cachedSteps: second.cachedSteps,
        },
        index: {
          seconds: indexSeconds,
          filesRead: index.filesRead,
          found: index.found,
          languages: index.languages,
          foundByLanguage: Object.fromEntries(Object.entries(index.foundByLanguage)),
        },
      });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return rows;
}

function exampleConfig(name: string): { repository: string; commit: string; recipe: ImageRecipe } {
  const file = path.join(repoRoot, 'examples', name, 'run.json');
  const parsed = parseRunConfig(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.ok) throw new Error(`${file}: ${parsed.message}`);
  const { recipe } = imageRecipeInput(parsed.value);
  if (!recipe) throw new Error(`${file}: its environment adds nothing to the base image`);
  return { repository: parsed.value.repository.path, commit: parsed.value.repository.commit, recipe };
}

/** Removes every image with a tag matching a pattern, pattern by pattern, never by force. */
async function removeImages(
  docker: Docker,
  patterns: RegExp[],
): Promise<{ removed: string[]; kept: string[] }> {
  const removed: string[] = [];
  const kept: string[] = [];
  for (const pattern of patterns) {
    const tags = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => pattern.test(t));
    for (const tag of tags) {
      try {
        await docker.getImage(tag).remove();
        removed.push(tag);
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        // 404: it went with another of its tags. 409: a container still uses it: leave it, say so.
        if (status === 409) kept.push(tag);
        else if (status !== 404) throw error;
      }
    }
  }
  return { removed, kept };
}

async function environmentOf(docker: Docker, image: string): Promise<string> {
  const labels = (await docker.getImage(image).inspect()).Config.Labels ?? {};
  return labels['sera.environment'] ?? '';
}

/**
 * Another commit to build: the newest earlier release tag whose dependency files are the same
 * blobs (the environment image must be reused), else the parent commit (which may change them).
 */
async function secondCommit(repository: string, commit: string, recipe: ImageRecipe): Promise<SecondCommit> {
  const mine = await dependencyFiles(repository, commit, recipe);
  const tags = (await git(repository, ['tag', '--merged', commit, '--sort=-v:refname'])).split('\n');
  for (const tag of tags.filter(Boolean)) {
    const tagged = (await git(repository, ['rev-parse', `${tag}^{commit}`])).trim();
    if (tagged === commit) continue;
    if (changed(mine, await dependencyFiles(repository, tagged, recipe)).length === 0)
      return { commit: tagged, how: `release ${tag}`, changedDependencyFiles: [] };
  }
  const parent = (await git(repository, ['rev-parse', `${commit}^`])).trim();
  return {
    commit: parent,
    how: 'parent commit',
    changedDependencyFiles: changed(mine, await dependencyFiles(repository, parent, recipe)),
  };
}

function changed(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((file) => a.get(file) !== b.get(file)).sort();
}

async function git(repository: string, args: string[]): Promise<string> {
  return (await run('git', args, { cwd: repository, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The table `npm run bench -- --only environments` prints. */
export function printEnvironments(rows: readonly EnvironmentBenchRow[]): void {
  console.log('environment images and the function index on the real examples (seconds)');
  console.log(
    `${'example'.padEnd(8)} ${'toolchain'.padStart(9)} ${'first'.padStart(7)} ${'cached'.padStart(7)} ${'second'.padStart(7)}  ${'second commit'.padEnd(30)} ${'env shared'.padEnd(10)} ${'index'.padStart(6)} ${'files'.padStart(6)} ${'functions'.padStart(9)}`,
  );
  for (const r of rows) {
    const second = `${r.second.how} ${r.second.commit.slice(0, 8)}`;
    console.log(
      `${r.example.padEnd(8)} ${r.toolchainSeconds.toFixed(1).padStart(9)} ${r.firstSeconds.toFixed(1).padStart(7)} ${r.cachedSeconds.toFixed(2).padStart(7)} ${r.second.seconds.toFixed(1).padStart(7)}  ${second.padEnd(30)} ${(r.second.sharesEnvironment ? 'yes' : 'no').padEnd(10)} ${r.index.seconds.toFixed(2).padStart(6)} ${String(r.index.filesRead).padStart(6)} ${String(r.index.found).padStart(9)}`,
    );
  }
  for (const r of rows) {
    const languages = Object.entries(r.index.foundByLanguage)
      .map(([language, n]) => `${language} ${n}`)
      .join(', ');
    const notes = [
      `index: ${languages || 'no functions'}`,
      `first build's steps from the layer cache: ${r.firstCachedSteps.join(', ') || 'none'}`,
      r.kept.length > 0 ? `kept (in use): ${r.kept.join(', ')}` : '',
      r.second.changedDependencyFiles.length > 0
        ? `second commit changes ${r.second.changedDependencyFiles.join(', ')}`
        : '',
    ].filter(Boolean);
    console.log(`${r.example}: ${notes.join('; ')}`);
  }
}
