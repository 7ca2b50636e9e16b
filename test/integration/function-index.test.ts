import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { indexFunctions } from '../../activities/index/index-functions';
import { parseFunctions } from '../../activities/index/parse-functions';
import type { IndexedFunction } from '../../core/function-sampling';
import { exampleRepository } from '../../infra/example-repo';
import { LocalArtifactStore } from '../../infra/local-artifact-store';

const root = mkdtempSync(path.join(os.tmpdir(), 'sera-index-'));
const store = new LocalArtifactStore(root);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('function index (tree-sitter)', () => {
  it('finds Python functions and methods with their lines', async () => {
    const source =
      '\n\nclass A:\n    def m(self):\n        def inner():\n            pass\n\nasync def top(x):\n    return x\n';
    expect(await parseFunctions('python', source)).toEqual([
      { name: 'm', line: 4 },
      { name: 'inner', line: 5 },
      { name: 'top', line: 8 },
    ]);
  });

  it('finds JavaScript functions and methods', async () => {
    const source = 'function a() {}\nclass B { m() { return 1; } }\nconst c = () => 2;\n';
    expect((await parseFunctions('javascript', source)).map((f) => f.name)).toEqual(['a', 'm']);
  });

  it('indexes the example repository at its commit, skipping tests, the same way twice', async () => {
    const example = exampleRepository();
    const input = {
      repository: example.path,
      commit: example.commit,
      language: 'python' as const,
      cap: 5000,
      seed: 1,
    };
    const index = await indexFunctions(store, input);
    expect(index.count).toBeGreaterThan(150);
    const functions = JSON.parse((await store.get(index.functions.id)).toString()) as IndexedFunction[];
    expect(functions.some((f) => f.file.startsWith('tests/'))).toBe(false);
    expect(functions).toContainEqual({ name: 'windowed', file: 'more_itertools/more.py', line: 870 });
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
});
