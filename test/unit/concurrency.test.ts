import { describe, expect, it } from 'vitest';
import { concurrencyFor, DEFAULT_CONCURRENCY } from '../../workers/concurrency';

describe('concurrencyFor', () => {
  it('uses the role’s default', () => {
    expect(concurrencyFor('gpu-train', {})).toBe(DEFAULT_CONCURRENCY['gpu-train']);
  });

  it('reads SERA_<ROLE>_CONCURRENCY', () => {
    expect(concurrencyFor('gpu-serve', { SERA_GPU_SERVE_CONCURRENCY: '3' })).toBe(3);
  });

  it('rejects a value that is not a whole number of at least 1', () => {
    expect(() => concurrencyFor('llm', { SERA_LLM_CONCURRENCY: '0' })).toThrow(/SERA_LLM_CONCURRENCY="0"/);
  });
});
