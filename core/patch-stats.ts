import { signedLines } from './soft-verify';
import { parsePatch } from 'diff';

export interface PatchStats {
  filesChanged: number;
  linesAdded: number;
  linesDeleted: number;
}

/** Counts files and changed lines of a unified diff (as `git diff` prints it). */
export function patchStats(patch: string): PatchStats {
  if (patch.trim() === '') return { filesChanged: 0, linesAdded: 0, linesDeleted: 0 };
  let linesAdded = 0;
  let linesDeleted = 0;
  const files = parsePatch(patch);
  for (const file of files) {
    for (const hunk of file.hunks) {
      for (const line of hunk.lines) {
        if (line.startsWith('+')) linesAdded += 1;
        else if (line.startsWith('-')) linesDeleted += 1;
      }
    }
  }
  return { filesChanged: files.length, linesAdded, linesDeleted };
}

/**
 * Added + deleted lines of a unified diff, blank ones included, file and hunk headers not. Reads
 * line by line, so a patch with wrong hunk counts is still counted rather than refused.
 */
export function countChangedLines(patch: string): number {
  return signedLines(patch).length;
}
