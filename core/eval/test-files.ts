import { isTestPath } from '../function-sampling';
import { isTestFile, splitGitDiff } from './patch-files';

/**
 * Test files the shared rules may miss: files that are not code in a test folder (Go's
 * `testdata/`, jest's `__snapshots__/`, fixtures in `__tests__/`), whose language the sampler's
 * rule cannot tell, and the JavaScript, TypeScript and Go test names, whatever that rule says.
 */
const MORE_TEST_PATHS = [
  /(^|\/)(__tests__|__snapshots__|__mocks__|testdata)\//,
  /\.(test|spec)\.[cm]?[jt]sx?(\.snap)?$/,
  /_test\.go$/,
];

/**
 * Whether a changed file belongs to a change's test patch rather than its code patch: the
 * harnesses' Python rule, the sampler's test paths, and the rules above.
 */
export function isTestPatchFile(path: string): boolean {
  return isTestFile(path) || isTestPath(path) || MORE_TEST_PATHS.some((rule) => rule.test(path));
}

/**
 * A model's patch without its test files, in any language: the instance's test patch brings the
 * tests (as the harnesses do), so a patch that also edits them could not take it.
 */
export function withoutTestFiles(diff: string): { patch: string; dropped: string[] } {
  const files = splitGitDiff(diff);
  return {
    patch: files
      .filter((f) => !isTestPatchFile(f.path))
      .map((f) => f.text)
      .join(''),
    dropped: files.filter((f) => isTestPatchFile(f.path)).map((f) => f.path),
  };
}
