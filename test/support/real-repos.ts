import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../infra/paths';

/**
 * Git bundles of real repositories (Flask, ufo, Google's uuid) kept beside the project, or where
 * SERA_REPO_BUNDLES points. Tests that need them skip, saying why, where they are missing.
 */
export const REAL_REPOS = {
  flask: 'pallets+flask',
  ufo: 'unjs+ufo',
  uuid: 'google+uuid',
} as const;
export type RealRepo = keyof typeof REAL_REPOS;

export function realRepoBundles(): string {
  return process.env.SERA_REPO_BUNDLES ?? path.resolve(repoRoot, '..', 'shared', 'repos');
}

export function haveRealRepos(...names: RealRepo[]): boolean {
  return names.every((name) => existsSync(realRepoBundle(name)));
}

export function realRepoBundle(name: RealRepo): string {
  return path.join(realRepoBundles(), `${REAL_REPOS[name]}.bundle`);
}

/** Clones a real repository (all its tags) into `dir`, without a checkout. */
export function cloneRealRepo(name: RealRepo, dir: string): string {
  execFileSync('git', ['clone', '--quiet', '--no-checkout', realRepoBundle(name), dir]);
  return dir;
}
