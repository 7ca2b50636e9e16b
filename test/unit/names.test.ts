import { describe, expect, it } from 'vitest';
import { containerName, repoImageTag } from '../../core/names';

describe('containerName', () => {
  it('is made of the run and purpose, with what Docker refuses replaced by a dash', () => {
    expect(containerName('run-1', 'env')).toBe('sera-run-1-env');
    expect(containerName('a b/c', 'roll out#2')).toBe('sera-a-b-c-roll-out-2');
    // A part may not start with a dash, dot or underscore.
    expect(containerName('--r.1', '_x')).toBe('sera-r.1-x');
  });

  it('never exceeds Docker’s length limit, keeping its start', () => {
    expect(containerName('r'.repeat(200), 'env')).toBe(`sera-${'r'.repeat(123)}`);
  });
});

describe('repoImageTag', () => {
  it('names repository, commit and base image', () => {
    expect(repoImageTag('More_Itertools', 'a'.repeat(40), 'sera-base:0123456789abcdef')).toBe(
      'sera-repo-more_itertools:aaaaaaaaaaaa-0123456789ab-l2',
    );
  });
});
