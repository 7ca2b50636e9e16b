import { describe, expect, it } from 'vitest';
import { CappedOutput } from '../../core/output-cap';

describe('CappedOutput', () => {
  it('keeps everything under the cap and says nothing', () => {
    const out = new CappedOutput(10);
    out.append(Buffer.from('abc'));
    out.append(Buffer.from('def'));
    expect(out.text()).toBe('abcdef');
    expect(out.truncated).toBe(false);
  });

  it('cuts at the cap across chunks and counts what it dropped', () => {
    const out = new CappedOutput(5);
    out.append(Buffer.from('abc'));
    out.append(Buffer.from('defgh'));
    out.append(Buffer.from('ij'));
    expect(out.truncated).toBe(true);
    expect(out.droppedBytes).toBe(5);
    expect(out.text()).toBe('abcde\n[output truncated: 5 more bytes not shown (cap 5 bytes)]');
  });
});
