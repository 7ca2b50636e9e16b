import { describe, expect, it } from 'vitest';
import { containerName, repoImageTag } from '../../core/names';

describe('containerName', () => {
  it('is the same for the same run and purpose, and valid for Docker', () => {
    expect(containerName('run-1', 'env')).toBe('sera-run-1-env');
    expect(containerName('run-1', 'env')).toBe(containerName('run-1', 'env'));
    expect(containerName('a b/c', 'roll out#2')).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/);
  });

  it('never exceeds Docker’s length limit', () => {
    expect(containerName('r'.repeat(200), 'env').length).toBe(128);
  });
});

describe('repoImageTag', () => {
  it('names repository, commit and base image', () => {
    expect(repoImageTag('More_Itertools', 'a'.repeat(40), 'sera-base:0123456789abcdef')).toBe(
      'sera-repo-more_itertools:aaaaaaaaaaaa-0123456789ab-l2',
    );
  });
});
