import { describe, expect, it } from 'vitest';
import { duplicateKey } from '../../core/duplicate-key';

describe("a patch's key in the duplicate index", () => {
  it('is 16 hex digits of the sha256, not the id prefix', () => {
    const id = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(duplicateKey(id)).toBe('0123456789abcdef');
  });

  it('tells apart ids that differ only after the scheme', () => {
    const a = `sha256:aaaaaaaaaaaaaaaa${'0'.repeat(48)}`;
    const b = `sha256:aaaaaaaaaaaaaaab${'0'.repeat(48)}`;
    expect(duplicateKey(a)).not.toBe(duplicateKey(b));
  });
});
