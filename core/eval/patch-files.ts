/**
 * A git diff split by file, and the harnesses' Python rule for test files.
 */
export interface FileDiff {
  path: string;
  text: string;
}

export function splitGitDiff(diff: string): FileDiff[] {
  const parts = diff.split(/^(?=diff --git )/m).filter((p) => p.startsWith('diff --git '));
  return parts.map((text) => {
    const header = /^diff --git a\/(.+?) b\/(.+)$/m.exec(text);
    return { path: header?.[2] ?? header?.[1] ?? '', text };
  });
}

/** Test files by the harnesses' convention: a test directory, or test_*.py / *_test.py / conftest.py. */
export function isTestFile(path: string): boolean {
  const parts = path.split('/');
  const name = parts[parts.length - 1] ?? '';
  if (parts.slice(0, -1).some((dir) => /^(tests?|testing)$/.test(dir))) return true;
  return /^test_.*\.py$/.test(name) || /_test\.py$/.test(name) || name === 'conftest.py';
}
