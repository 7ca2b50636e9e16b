import { describe, expect, it } from 'vitest';
import { splitDiffOutput } from '../../core/diff-command';
import { SandboxLimitsSchema, describeIssues } from '../../core/environment-input';
import { forkFailed, parseProbe, probeVerdict, shouldProbe, withNotes } from '../../core/sandbox-probe';
import { sandboxPolicy, writableSizes } from '../../core/sandbox-policy';
import { parseSandboxUser } from '../../core/sandbox-user';

describe('the sandbox user', () => {
  it('is uid 1000 by default, root only when written "root", or a uid and gid', () => {
    expect(parseSandboxUser('agent')).toEqual({ ok: true, user: { uid: 1000, gid: 1000 } });
    expect(parseSandboxUser('root')).toEqual({ ok: true, user: { uid: 0, gid: 0 } });
    expect(parseSandboxUser('1001')).toEqual({ ok: true, user: { uid: 1001, gid: 1001 } });
    expect(parseSandboxUser('1001:50')).toEqual({ ok: true, user: { uid: 1001, gid: 50 } });
  });

  it('refuses root spelled any other way, and names the explicit choice', () => {
    for (const spelled of ['0', '0:0', 'root:root', '0:1000']) {
      const parsed = parseSandboxUser(spelled);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok)
        expect(parsed.message).toBe(`"${spelled}" runs the agent as root: write "root" to choose that`);
    }
    const nonsense = parseSandboxUser('nobody');
    expect(nonsense.ok).toBe(false);
  });
});

describe('sandbox limits', () => {
  it('size /repo and /tmp from the memory when left out, up to 1024 and 256 MB', () => {
    expect(writableSizes({})).toEqual({ diskMb: 1024, scratchMb: 256 });
    // 512 MB: (512 - 128) × 0.6 and × 0.2.
    expect(writableSizes({ memoryMb: 512 })).toEqual({ diskMb: 230, scratchMb: 76 });
    expect(sandboxPolicy({ memoryMb: 512, diskMb: 200, user: 'root' })).toMatchObject({
      diskMb: 200,
      scratchMb: 76,
      inodes: 200_000,
      fileMb: 512,
      user: { uid: 0, gid: 0 },
    });
  });

  it('refuses writable space the memory cannot hold, with the sizes and the memory it would need', () => {
    const result = SandboxLimitsSchema.safeParse({ memoryMb: 1024, diskMb: 1024 });
    expect(result.success).toBe(false);
    if (!result.success)
      expect(describeIssues(result.error)).toBe(
        'memoryMb: 1024 MB cannot hold the writable space (diskMb 1024 + scratchMb 179, kept in memory) and 128 MB to run in: raise memoryMb to 1408 or lower diskMb',
      );
    expect(SandboxLimitsSchema.safeParse({ memoryMb: 1408, diskMb: 1024 }).success).toBe(true);
    expect(SandboxLimitsSchema.safeParse({ memoryMb: 1200, diskMb: 1024, scratchMb: 64 }).success).toBe(
      false,
    );
  });

  it('refuses a user of uid 0 not written "root"', () => {
    const result = SandboxLimitsSchema.safeParse({ user: '0:0' });
    expect(result.success).toBe(false);
    if (!result.success)
      expect(describeIssues(result.error)).toBe(
        'user: "0:0" runs the agent as root: write "root" to choose that',
      );
  });
});

describe('the limits probe', () => {
  const limits = { memoryMb: 256, pids: 128, fileMb: 16 };
  const probe = (lines: string[]) => parseProbe(lines.join('\n'));

  it('runs after a failed command, or a successful one whose output shows a limit', () => {
    expect(shouldProbe(0, 'all good')).toBe(false);
    expect(shouldProbe(1, '')).toBe(true);
    expect(shouldProbe(0, 'bash: fork: retry: Resource temporarily unavailable')).toBe(true);
    expect(forkFailed('bash: fork: retry: Resource temporarily unavailable')).toBe(true);
    expect(forkFailed('bash: fork: Resource temporarily unavailable')).toBe(true);
    expect(forkFailed('read: Resource temporarily unavailable')).toBe(false);
  });

  it('names the full mount and its limit, in bytes and in files', () => {
    const reading = probe([
      'now 0 0 3',
      'before 0 0',
      'bytes /repo 65536 65530',
      'bytes /tmp 32768 100',
      'files /repo 5000 812',
      'files /tmp 5000 5000',
    ]);
    expect(probeVerdict(reading, limits, 1, 'No space left on device').notes).toEqual([
      '[sandbox] disk limit reached: /repo holds 64 of 64 MB (limits.diskMb); delete files to go on',
      '[sandbox] file-count limit reached: /tmp holds 5000 of 5000 files (limits.inodes); delete files to go on',
    ]);
  });

  it('tells an OOM kill and a process-limit hit from the counters moving since the last look', () => {
    const oom = probe(['now 2 0 3', 'before 1 0']);
    expect(probeVerdict(oom, limits, 137, 'Killed').notes).toEqual([
      '[sandbox] out of memory: a process was killed (limits.memoryMb = 256 MB)',
    ]);
    const old = probe(['now 2 5 3', 'before 2 5']);
    expect(probeVerdict(old, limits, 137, 'Killed')).toEqual({ notes: [], stopProcesses: false });
    const bomb = probeVerdict(probe(['now 2 9 127', 'before 2 5']), limits, 0, 'fork: retry');
    expect(bomb.stopProcesses).toBe(true);
    expect(bomb.notes).toEqual([
      '[sandbox] process limit reached (limits.pids = 128): every process the agent left running was stopped',
    ]);
    // A probe that could not start: only a sandbox with every process slot taken does that.
    expect(probeVerdict(undefined, limits, 0, '').stopProcesses).toBe(true);
  });

  it('names the per-file cap on exit 153', () => {
    expect(probeVerdict(probe(['now 0 0 2']), limits, 153, '').notes).toEqual([
      '[sandbox] a file reached the per-file size cap of 16 MB (limits.fileMb)',
    ]);
    expect(withNotes('OBSERVATION:\nx', ['[sandbox] a'])).toBe('OBSERVATION:\nx\n[sandbox] a');
  });
});

describe('the diff output', () => {
  it('splits the usage line from the patch, and leaves output without one whole', () => {
    expect(splitDiffOutput('sera-writable 2048\ndiff --git a/x b/x\n')).toEqual({
      diff: 'diff --git a/x b/x\n',
      writableKb: 2048,
    });
    expect(splitDiffOutput('diff --git a/x b/x\n')).toEqual({ diff: 'diff --git a/x b/x\n' });
  });
});
