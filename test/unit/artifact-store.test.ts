import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isArtifactId, PREVIEW_CHARS } from '../../core/artifacts';
import { LocalArtifactStore } from '../../infra/local-artifact-store';

const root = mkdtempSync(path.join(os.tmpdir(), 'sera-artifacts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('LocalArtifactStore', () => {
  const store = new LocalArtifactStore(root);

  it('stores by content: the same bytes get the same id, once', async () => {
    const a = await store.put('patch text', 'text/x-diff');
    const b = await store.put(Buffer.from('patch text'), 'text/x-diff');
    expect(a.id).toBe(b.id);
    expect(a.id).toBe(`sha256:${createHash('sha256').update('patch text').digest('hex')}`);
    expect(isArtifactId(a.id)).toBe(true);
    expect((await store.get(a.id)).toString()).toBe('patch text');
    const shard = readdirSync(path.join(root, 'sha256', a.id.slice(7, 9)));
    expect(shard).toEqual([a.id.slice(7)]);
  });

  it('keeps only a short preview of text for the history, none of binary', async () => {
    const long = await store.put('x'.repeat(PREVIEW_CHARS * 3), 'text/plain');
    expect(long.size).toBe(PREVIEW_CHARS * 3);
    expect(long.preview).toBe(`${'x'.repeat(PREVIEW_CHARS)}…`);
    const binary = await store.put(new Uint8Array([0, 1, 2]), 'application/octet-stream');
    expect(binary.preview).toBe('');
  });

  it('fails clearly for a missing artifact and for something that is not an id', async () => {
    await expect(store.get(`sha256:${'0'.repeat(64)}`)).rejects.toThrow(/is not in the store/);
    await expect(store.get('../../etc/passwd')).rejects.toThrow(/not an artifact id/);
    expect(await store.has(`sha256:${'0'.repeat(64)}`)).toBe(false);
  });
});
