import { describe, expect, it } from 'vitest';
import { toolResultKey } from '../../activities/agent/tool-result-key';
import { ownership } from '../../activities/sandbox/execution-owner';

describe('toolResultKey', () => {
  const ls = { tool: 'bash' as const, command: 'ls' };

  it('is the same for a retried attempt of the same call', () => {
    expect(toolResultKey('run-a', 't3-0', ls)).toBe(toolResultKey('run-a', 't3-0', { ...ls }));
    // The order the fields come in does not matter.
    expect(
      toolResultKey('run-a', 't1-0', { tool: 'str_replace_editor', command: 'view', path: 'a.py' }),
    ).toBe(toolResultKey('run-a', 't1-0', { path: 'a.py', command: 'view', tool: 'str_replace_editor' }));
  });

  it('differs for another run (a reset, a rerun), another place or another action', () => {
    const key = toolResultKey('run-a', 't3-0', ls);
    expect(toolResultKey('run-b', 't3-0', ls)).not.toBe(key);
    expect(toolResultKey('run-a', 't3-1', ls)).not.toBe(key);
    expect(toolResultKey('run-a', 't3-0', { tool: 'bash', command: 'ls -a' })).not.toBe(key);
    expect(toolResultKey('run-a', 't3-0', { tool: 'submit' })).not.toBe(key);
    const view = { tool: 'str_replace_editor' as const, command: 'view' as const, path: 'a.py' };
    expect(toolResultKey('run-a', 't3-0', { ...view, viewRange: [1, 5] })).not.toBe(
      toolResultKey('run-a', 't3-0', { ...view, viewRange: [1, 6] }),
    );
  });

  it('is a file name: no slashes or spaces from run ids or keys', () => {
    expect(toolResultKey('a/b c', 't1-0', ls)).toMatch(/^a_b_c-t1-0-[0-9a-f]{16}$/);
  });
});

describe('ownership of a container by a workflow run', () => {
  it('lets a run use its own container, and one its predecessor passed on by continue-as-new', () => {
    expect(ownership('run-a', 'run-a', undefined)).toBe('own');
    expect(ownership('run-a', 'run-b', 'run-a')).toBe('continued');
  });

  it('refuses one another run left: a reset run, a rerun, a chain it is not part of', () => {
    // A reset run or a rerun continued from nothing, or from a run other than the last user.
    expect(ownership('run-a', 'run-b', undefined)).toBe('stale');
    expect(ownership('run-b', 'run-b2', 'run-a')).toBe('stale');
  });

  it('takes over a container made before the record existed', () => {
    expect(ownership(undefined, 'run-a', undefined)).toBe('unrecorded');
    expect(ownership('', 'run-a', undefined)).toBe('unrecorded');
  });
});
