import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { chooseSourceFiles, filterByGlobs } from '../../activities/index/source-files';
import { ErrorTypes } from '../../core/errors';

const monorepo = [
  'package.json',
  'packages/core/src/index.ts',
  'packages/core/src/url.ts',
  'packages/core/src/url.test.ts',
  'packages/core/src/generated/schema.ts',
  'packages/cli/src/main.ts',
  'packages/cli/bin/run.js',
  'tools/release.py',
  'go/client.go',
];

function failureOf(run: () => unknown): ApplicationFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof ApplicationFailure) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('source files of a repository', () => {
  it('keeps the files in the include globs and outside the exclude globs', () => {
    expect(filterByGlobs(monorepo, [], [])).toEqual(monorepo);
    expect(filterByGlobs(monorepo, ['packages/core/**'], ['**/generated/**'])).toEqual([
      'packages/core/src/index.ts',
      'packages/core/src/url.ts',
      'packages/core/src/url.test.ts',
    ]);
    expect(filterByGlobs(monorepo, ['packages/*/src/**', 'go/**'], ['packages/cli/**'])).toEqual([
      'packages/core/src/index.ts',
      'packages/core/src/url.ts',
      'packages/core/src/url.test.ts',
      'packages/core/src/generated/schema.ts',
      'go/client.go',
    ]);
  });

  it('refuses include globs that match no file, naming them', () => {
    const failure = failureOf(() => filterByGlobs(monorepo, ['packages/core/**', 'pakages/web/**'], []));
    expect(failure.type).toBe(ErrorTypes.InvalidInput);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('"pakages/web/**"');
    expect(failure.message).not.toContain('"packages/core/**"');
  });

  it('chooses the files of the languages asked for, or of those detected, without tests', () => {
    const scoped = filterByGlobs(monorepo, ['packages/**'], []);
    expect(chooseSourceFiles(scoped, [], 'acme/mono')).toEqual({
      languages: ['typescript', 'javascript'],
      files: [
        { path: 'packages/core/src/index.ts', language: 'typescript' },
        { path: 'packages/core/src/url.ts', language: 'typescript' },
        { path: 'packages/core/src/generated/schema.ts', language: 'typescript' },
        { path: 'packages/cli/src/main.ts', language: 'typescript' },
        { path: 'packages/cli/bin/run.js', language: 'javascript' },
      ],
    });
    expect(chooseSourceFiles(monorepo, ['go'], 'acme/mono')).toEqual({
      languages: ['go'],
      files: [{ path: 'go/client.go', language: 'go' }],
    });
  });

  it('says which repository has no source files of a known language', () => {
    const failure = failureOf(() => chooseSourceFiles(['README.md', 'main.c'], [], 'acme/c-only'));
    expect(failure.type).toBe(ErrorTypes.InvalidInput);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('acme/c-only');
  });
});
