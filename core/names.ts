/**
 * Deterministic names, so a retried activity finds what its first attempt made instead of
 * making it twice. Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]* in container names.
 */
export function containerName(runId: string, purpose: string): string {
  const clean = (s: string): string => s.replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^[-_.]+/, '');
  const name = `sera-${clean(runId)}-${clean(purpose)}`;
  return name.length <= 128 ? name : name.slice(0, 128);
}

/** Bumped whenever what prepareRepoImage puts in an image changes, so old images are not reused. */
export const REPO_IMAGE_LAYOUT = 2;

/** A repository's name as Docker allows it in an image name. */
function imageRepoName(repoName: string): string {
  return (
    repoName
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, '-')
      .replace(/^[-_.]+/, '') || 'repo'
  );
}

/** Image tag for a repository at a commit on a given base image (no recipe). */
export function repoImageTag(repoName: string, commit: string, baseImageTag: string): string {
  const base = baseImageTag.split(':')[1] ?? 'base';
  return `sera-repo-${imageRepoName(repoName)}:${commit.slice(0, 12)}-${base.slice(0, 12)}-l${REPO_IMAGE_LAYOUT}`;
}

/** Bumped whenever what a recipe's images hold changes; part of every recipe key. */
export const RECIPE_IMAGE_LAYOUT = 4;

/** The commit image of a recipe (its key: 64 hex digits). */
export function recipeImageTag(repoName: string, commit: string, key: string): string {
  return `sera-repo-${imageRepoName(repoName)}:${commit.slice(0, 12)}-r${key.slice(0, 12)}`;
}

/** The environment image of a recipe and a set of dependency files. */
export function environmentImageTag(repoName: string, key: string): string {
  return `sera-env-${imageRepoName(repoName)}:${key.slice(0, 16)}`;
}

/** The image a repository's own Dockerfile builds. */
export function startImageTag(repoName: string, key: string): string {
  return `sera-start-${imageRepoName(repoName)}:${key.slice(0, 16)}`;
}

/** True for what git clones from the network (scheme URLs and scp-style `user@host:path`), false for local paths. */
export function isGitUrl(repository: string): boolean {
  return /^[a-z+]+:\/\//.test(repository) || /^[\w.-]+@[\w.-]+:/.test(repository);
}
