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

/** Image tag for a repository at a commit on a given base image. */
export function repoImageTag(repoName: string, commit: string, baseImageTag: string): string {
  const repo =
    repoName
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, '-')
      .replace(/^[-_.]+/, '') || 'repo';
  const base = baseImageTag.split(':')[1] ?? 'base';
  return `sera-repo-${repo}:${commit.slice(0, 12)}-${base.slice(0, 12)}-l${REPO_IMAGE_LAYOUT}`;
}

/** True for what git clones from the network (scheme URLs and scp-style `user@host:path`), false for local paths. */
export function isGitUrl(repository: string): boolean {
  return /^[a-z+]+:\/\//.test(repository) || /^[\w.-]+@[\w.-]+:/.test(repository);
}
