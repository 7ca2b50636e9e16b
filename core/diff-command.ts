import { USAGE_LINE } from './sandbox-probe';

/**
 * The shell command that prints a sandbox's patch against the base commit: `git add -A` and
 * `git diff --cached` (untracked files included), staged in a copy of the index so the agent's own
 * index stays as it left it (the review's `git checkout -- <file>` still puts a file back), with
 * new objects written to the harness's folder `dir`, so a /repo the agent filled still diffs.
 * The first line is the writable space in use (/repo and /tmp) in kB, for the trajectory.
 */
export function diffCommand(dir: string, baseCommit: string): string {
  return [
    `df -kP /repo /tmp 2>/dev/null | awk 'NR>1{s+=$3} END{print "${USAGE_LINE}", s+0}'`,
    `index=${dir}/sera-diff-index-$$`,
    `cp "$(git -c safe.directory='*' rev-parse --git-path index)" "$index" 2>/dev/null`,
    `objects=${dir}/sera-diff-objects-$$`,
    'mkdir -p "$objects"',
    `export GIT_ALTERNATE_OBJECT_DIRECTORIES="$(cd "$(git -c safe.directory='*' rev-parse --git-path objects)" && pwd)" GIT_OBJECT_DIRECTORY="$objects"`,
    // Run by root on the user's repository: git would call that ownership dubious.
    `GIT_INDEX_FILE="$index" git -c safe.directory='*' add -A && GIT_INDEX_FILE="$index" git -c safe.directory='*' diff --cached ${baseCommit}`,
    'status=$?',
    'rm -rf "$index" "$objects"',
    'exit $status',
  ].join('; ');
}

/** The diff command's output split into the usage line and the patch. */
export function splitDiffOutput(output: string): { diff: string; writableKb?: number } {
  const newline = output.indexOf('\n');
  const first = newline < 0 ? output : output.slice(0, newline);
  if (!first.startsWith(`${USAGE_LINE} `)) return { diff: output };
  return { diff: output.slice(newline + 1), writableKb: Number(first.slice(USAGE_LINE.length + 1)) };
}
