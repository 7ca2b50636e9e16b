import { describe, expect, it } from 'vitest';
import { parsePrepareEnvironmentInput } from '../../core/environment-input';

const minimal = { runId: 'r1', repository: { path: '/src/repo', commit: 'main' }, testCommand: 'pytest' };

describe('parsePrepareEnvironmentInput', () => {
  it('fills in the defaults', () => {
    const parsed = parsePrepareEnvironmentInput(minimal);
    expect(parsed).toEqual({
      ok: true,
      value: {
        ...minimal,
        testTimeoutSeconds: 900,
        testRunner: 'pytest',
        outputCapBytes: 1024 * 1024,
        limits: { cpus: 1, memoryMb: 2048, pids: 512, inodes: 200_000, fileMb: 512, user: 'agent' },
        heartbeatTimeoutSeconds: 30,
        hostStartTimeoutSeconds: 60,
        requireTestsPass: true,
      },
    });
  });

  it('names every wrong field in one message', () => {
    const parsed = parsePrepareEnvironmentInput({
      ...minimal,
      runId: '../x',
      repository: { path: '' },
      limits: { memoryMb: 1 },
    });
    expect(parsed.ok).toBe(false);
    const message = parsed.ok ? '' : parsed.message;
    expect(message).toMatch(/^invalid environment input: /);
    expect(message).toMatch(/runId: letters, digits/);
    expect(message).toMatch(/repository\.path: /);
    expect(message).toMatch(/repository\.commit: /);
    expect(message).toMatch(/limits\.memoryMb: /);
  });

  it('rejects something that is not an object at all', () => {
    const parsed = parsePrepareEnvironmentInput('run it');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toMatch(/\(root\): /);
  });
});
