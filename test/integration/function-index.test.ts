import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  indexFunctions,
  type FunctionIndex,
  type IndexFunctionsInput,
} from '../../activities/index/index-functions';
import { parseFunctions } from '../../activities/index/parse-functions';
import type { IndexedFunction } from '../../core/function-sampling';
import { exampleRepository } from '../../infra/example-repo';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { cloneRealRepo, haveRealRepos, realRepoBundles, type RealRepo } from '../support/real-repos';

const root = mkdtempSync(path.join(os.tmpdir(), 'sera-index-'));
const store = new LocalArtifactStore(path.join(root, 'artifacts'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const functionsOf = async (index: FunctionIndex): Promise<IndexedFunction[]> =>
  JSON.parse((await store.get(index.functions.id)).toString()) as IndexedFunction[];

describe('function index (tree-sitter)', () => {
  it('finds Python functions and methods with their lines', async () => {
    const source =
      '\n\nclass A:\n    def m(self):\n        def inner():\n            pass\n\nasync def top(x):\n    return x\n';
    expect(await parseFunctions('python', source)).toEqual([
      { name: 'A.m', line: 4 },
      { name: 'inner', line: 5 },
      { name: 'top', line: 8 },
    ]);
  });

  it('indexes the example repository at its commit, skipping tests, the same way twice', async () => {
    const example = exampleRepository();
    // The one-language input of callers written before `languages`.
    const input = {
      repository: example.path,
      commit: example.commit,
      language: 'python' as const,
      cap: 5000,
      seed: 1,
    };
    const index = await indexFunctions(store, input);
    expect(index.count).toBeGreaterThan(150);
    expect(index.languages).toEqual(['python']);
    const functions = await functionsOf(index);
    expect(functions.some((f) => f.file.startsWith('tests/'))).toBe(false);
    expect(functions).toContainEqual({
      name: 'windowed',
      file: 'more_itertools/more.py',
      line: 870,
      language: 'python',
    });
    expect((await indexFunctions(store, input)).functions.id).toBe(index.functions.id);

    const capped = await indexFunctions(store, { ...input, cap: 20 });
    expect(capped.count).toBe(20);
    expect(capped.found).toBe(index.count);
    expect((await indexFunctions(store, { ...input, cap: 20, seed: 2 })).functions.id).not.toBe(
      capped.functions.id,
    );
  });

  it('says when the commit does not exist', async () => {
    const example = exampleRepository();
    await expect(
      indexFunctions(store, {
        repository: example.path,
        commit: 'nope',
        language: 'python',
        cap: 10,
        seed: 1,
      }),
    ).rejects.toThrow(/commit "nope" does not exist/);
  });

  it('refuses a language it does not read', async () => {
    const example = exampleRepository();
    const input = {
      repository: example.path,
      commit: example.commit,
      languages: ['cobol'],
      cap: 10,
      seed: 1,
    };
    await expect(indexFunctions(store, input as unknown as IndexFunctionsInput)).rejects.toMatchObject({
      type: 'InvalidInput',
      message: expect.stringContaining('"cobol"'),
    });
  });
});

const haveBundles = haveRealRepos('ufo', 'uuid', 'flask');
if (!haveBundles) {
  console.warn(
    `function index on real repositories skipped: no bundles at ${realRepoBundles()} (set SERA_REPO_BUNDLES)`,
  );
}

describe.skipIf(!haveBundles)('function index on real repositories (ufo, uuid, flask bundles)', () => {
  const clone = (name: RealRepo): string => cloneRealRepo(name, path.join(root, name));
  const repos = { ufo: '', uuid: '', flask: '' };
  beforeAll(() => {
    repos.ufo = clone('ufo');
    repos.uuid = clone('uuid');
    repos.flask = clone('flask');
  });

  /** Indexes with the language detected, and says how long it took and what it found. */
  async function indexed(repository: string, commit: string, more: Partial<IndexFunctionsInput> = {}) {
    const started = performance.now();
    const index = await indexFunctions(store, { repository, commit, cap: 100_000, seed: 1, ...more });
    console.log(
      `${path.basename(repository)}@${commit}: ${index.found} functions in ${index.filesRead} files ` +
        `${JSON.stringify(index.foundByLanguage)} in ${Math.round(performance.now() - started)} ms`,
    );
    return { index, functions: await functionsOf(index) };
  }

  it('ufo (TypeScript): exported functions, class methods, function expressions bound to names', async () => {
    const { index, functions } = await indexed(repos.ufo, 'v1.6.3');
    expect(index.languages).toEqual(['typescript']);
    expect(index.found).toBeGreaterThan(50);
    expect(functions).toContainEqual(
      expect.objectContaining({ name: 'withQuery', file: 'src/utils.ts', language: 'typescript' }),
    );
    expect(functions).toContainEqual(expect.objectContaining({ name: '$URL.toString', file: 'src/url.ts' }));
    expect(functions).toContainEqual({
      name: 'c',
      file: 'src/punycode.ts',
      line: 16,
      language: 'typescript',
    });
    expect(functions.filter((f) => !f.file.startsWith('src/'))).toEqual([]);
  });

  it('uuid (Go): functions and methods by receiver type, no _test.go files', async () => {
    const { index, functions } = await indexed(repos.uuid, 'v1.6.0');
    expect(index.languages).toEqual(['go']);
    expect(index.found).toBeGreaterThan(50);
    expect(functions).toContainEqual(expect.objectContaining({ name: 'UUID.String', file: 'uuid.go' }));
    expect(functions).toContainEqual(expect.objectContaining({ name: 'NullUUID.Scan', file: 'null.go' }));
    expect(functions).toContainEqual(expect.objectContaining({ name: 'NewRandom', file: 'version4.go' }));
    expect(functions.some((f) => f.file.endsWith('_test.go'))).toBe(false);
  });

  it('flask (Python): methods by class, no tests; include and exclude globs', async () => {
    const { index, functions } = await indexed(repos.flask, '3.1.3');
    expect(index.languages).toEqual(['python']);
    expect(index.found).toBeGreaterThan(250);
    expect(functions).toContainEqual(
      expect.objectContaining({ name: 'Flask.wsgi_app', file: 'src/flask/app.py' }),
    );
    expect(functions).toContainEqual(
      expect.objectContaining({ name: 'find_best_app', file: 'src/flask/cli.py' }),
    );
    expect(functions.some((f) => f.file.startsWith('tests/'))).toBe(false);

    const scoped = await indexed(repos.flask, '3.1.3', {
      include: ['src/**'],
      exclude: ['src/flask/cli.py'],
    });
    const scopedFunctions = await functionsOf(scoped.index);
    expect(scopedFunctions.length).toBeGreaterThan(150);
    expect(
      scopedFunctions.every((f) => f.file.startsWith('src/flask/') && f.file !== 'src/flask/cli.py'),
    ).toBe(true);

    await expect(
      indexFunctions(store, {
        repository: repos.flask,
        commit: '3.1.3',
        include: ['source/**'],
        cap: 10,
        seed: 1,
      }),
    ).rejects.toMatchObject({
      type: 'InvalidInput',
      message: expect.stringContaining('"source/**"'),
    });
  });

  it('says which repository has no language it reads', async () => {
    await expect(
      indexFunctions(store, {
        repository: repos.uuid,
        commit: 'v1.6.0',
        include: ['*.md'],
        cap: 10,
        seed: 1,
      }),
    ).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining(repos.uuid) });
  });
});
