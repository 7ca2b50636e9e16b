import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { heartbeat, whileHeartbeating } from '../../activities/common/activity-context';
import { retryTransient, transientWaitsMs } from '../../activities/common/transient-retry';
import { isTransientGitFailure } from '../../activities/sandbox/git-failures';
import { localRepository } from '../../activities/sandbox/repository-source';
import { LocalArtifactStore } from '../../infra/local-artifact-store';
import { inFakeActivity } from '../support/fake-activity-context';

const idOf = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const later = (ms: number, then: () => Promise<unknown>): void => void setTimeout(() => void then(), ms);

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('which clone and fetch failures may pass', () => {
  const transient = [
    "fatal: unable to access 'https://github.com/a/b/': Could not resolve host: github.com",
    "fatal: unable to access 'https://github.com/a/b/': Failed to connect to github.com port 443 after 130 ms: Couldn't connect to server",
    "fatal: unable to access 'https://example.com/r.git/': The requested URL returned error: 502",
    "fatal: unable to access 'https://example.com/r.git/': The requested URL returned error: 429",
    "fatal: unable to access 'https://example.com/r.git/': gnutls_handshake() failed: The TLS connection was non-properly terminated.",
    'error: RPC failed; curl 92 HTTP/2 stream 5 was not closed cleanly: CANCEL (err 8)\nfatal: early EOF',
    'fatal: the remote end hung up unexpectedly',
    'fetch-pack: unexpected disconnect while reading sideband packet',
    'fatal: write error: No space left on device',
    'error: unable to write file objects/pack/tmp_pack_x: Input/output error',
  ];
  const permanent = [
    "remote: Repository not found.\nfatal: repository 'https://github.com/a/nope/' not found",
    "fatal: repository '/srv/repos/nope.git' does not exist",
    "fatal: 'nope' does not appear to be a git repository",
    "fatal: unable to access 'https://example.com/r.git/': The requested URL returned error: 404",
    "fatal: unable to access 'https://example.com/r.git/': The requested URL returned error: 403",
    "fatal: Authentication failed for 'https://github.com/a/private/'",
    "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
    'git@github.com: Permission denied (publickey).',
    'Host key verification failed.',
    "fatal: protocol 'htps' is not supported",
    "git: 'remote-foo' is not a git command. See 'git --help'.\nfatal: Unable to find remote helper for 'foo'",
  ];
  it.each(transient)('transient: %s', (detail) => expect(isTransientGitFailure(detail)).toBe(true));
  it.each(permanent)('permanent: %s', (detail) => expect(isTransientGitFailure(detail)).toBe(false));
});

describe('the waits before a transient fault is final', () => {
  const total = (waits: readonly number[]): number => waits.reduce((a, b) => a + b, 0);
  it('add up to 30 s by default, each longer than the one before', () => {
    const waits = transientWaitsMs({});
    expect(total(waits)).toBe(30_000);
    expect([...waits].sort((a, b) => a - b)).toEqual(waits);
  });
  it('follow SERA_TRANSIENT_WAIT_SECONDS, 0 meaning none', () => {
    expect(total(transientWaitsMs({ SERA_TRANSIENT_WAIT_SECONDS: '3' }))).toBe(3000);
    expect(transientWaitsMs({ SERA_TRANSIENT_WAIT_SECONDS: '0' })).toEqual([]);
    expect(() => transientWaitsMs({ SERA_TRANSIENT_WAIT_SECONDS: 'soon' })).toThrow(
      /SERA_TRANSIENT_WAIT_SECONDS="soon"/,
    );
  });
});

describe('retryTransient', () => {
  it('tries a transient fault again until it passes', async () => {
    let tries = 0;
    const value = await retryTransient(
      async () => {
        tries += 1;
        if (tries < 3) throw new Error('mount hiccup');
        return 'read';
      },
      () => true,
      [5, 5, 5, 5],
    );
    expect({ value, tries }).toEqual({ value: 'read', tries: 3 });
  });
  it('does not try a permanent fault again', async () => {
    let tries = 0;
    const step = async (): Promise<never> => {
      tries += 1;
      throw new Error('no such repository');
    };
    await expect(retryTransient(step, () => false, [5, 5])).rejects.toThrow('no such repository');
    expect(tries).toBe(1);
  });
  it('gives up after its waits, with the last failure', async () => {
    let tries = 0;
    const step = async (): Promise<never> => {
      tries += 1;
      throw new Error(`failure ${tries}`);
    };
    await expect(retryTransient(step, () => true, [5, 5])).rejects.toThrow('failure 3');
    expect(tries).toBe(3);
  });
  it('heartbeats while it waits', async () => {
    const run = await inFakeActivity(() =>
      retryTransient(
        async () => {
          throw new Error('down');
        },
        () => true,
        [50],
      ).catch(() => 'gave up'),
    );
    expect(run.heartbeats.length).toBeGreaterThan(0);
  });
});

describe('whileHeartbeating', () => {
  it('heartbeats by the clock while a silent step runs, repeating the last details', async () => {
    const run = await inFakeActivity(async () => {
      heartbeat({ building: 'Step 3/9 : RUN pip install' });
      return whileHeartbeating(() => new Promise((resolve) => setTimeout(() => resolve('done'), 120)), 10);
    });
    expect(run.value).toBe('done');
    // The first is the step's own; then the ticks, which keep the build's last line.
    expect(run.heartbeats.length).toBeGreaterThan(2);
    expect(new Set(run.heartbeats.map((d) => JSON.stringify(d)))).toEqual(
      new Set([JSON.stringify({ building: 'Step 3/9 : RUN pip install' })]),
    );
  });
  it('outside an activity only runs the step', async () => {
    await expect(whileHeartbeating(async () => 7)).resolves.toBe(7);
  });
});

describe('a missing artifact', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'sera-transient-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  afterEach(() => {
    delete process.env.SERA_TRANSIENT_WAIT_SECONDS;
  });

  it('that reaches the store a moment after the first look is read', async () => {
    const store = new LocalArtifactStore(root, { missingWaitsMs: [20, 40, 80, 160, 320] });
    const content = 'written by another host';
    later(60, () => new LocalArtifactStore(root).put(content, 'text/plain'));
    expect((await store.get(idOf(content))).toString()).toBe(content);
  });

  it('is waited for inside an activity, heartbeating, by default', async () => {
    process.env.SERA_TRANSIENT_WAIT_SECONDS = '1';
    const content = 'visible after a mount catches up';
    later(150, () => new LocalArtifactStore(root).put(content, 'text/plain'));
    const destination = path.join(root, 'copy', 'file.txt');
    const run = await inFakeActivity(() => new LocalArtifactStore(root).getFile(idOf(content), destination));
    expect(run.heartbeats.length).toBeGreaterThan(0);
  });

  it('that never comes fails non-retryably, naming it and how long it was looked for', async () => {
    const id = idOf('never stored');
    const failure = await failureOf(new LocalArtifactStore(root, { missingWaitsMs: [10, 10] }).get(id));
    expect(failure.type).toBe('ArtifactMissing');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(id);
    expect(failure.message).toMatch(/looked 3 times/);
  });

  it('is not waited for outside an activity (a command line answers at once)', async () => {
    const failure = await failureOf(new LocalArtifactStore(root).get(idOf('not here either')));
    expect(failure.type).toBe('ArtifactMissing');
    expect(failure.message).not.toMatch(/looked/);
  });

  it('with a malformed id fails at once as InvalidInput', { timeout: 5000 }, async () => {
    // Waits of a minute: looking again would run past the test's timeout.
    const store = new LocalArtifactStore(root, { missingWaitsMs: [60_000] });
    const failure = await failureOf(store.get('sha256:not-hex'));
    expect(failure.type).toBe('InvalidInput');
    expect(failure.nonRetryable).toBe(true);
  });
});

describe('a clone of a URL', () => {
  let cache: string;
  beforeAll(() => {
    cache = mkdtempSync(path.join(os.tmpdir(), 'sera-clone-cache-'));
    process.env.SERA_SANDBOX_CACHE = cache;
  });
  afterAll(() => {
    delete process.env.SERA_SANDBOX_CACHE;
    rmSync(cache, { recursive: true, force: true });
  });

  it('that names no repository fails at once as RepositoryNotFound', async () => {
    const failure = await failureOf(localRepository('file:///nowhere/nope.git', 'main', [60_000]));
    expect(failure.type).toBe('RepositoryNotFound');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/nope\.git' does not appear to be a git repository/);
  });

  it('that cannot connect is tried again, then fails as RepositoryUnreachable naming the fault', async () => {
    // Port 9 (discard) has no git server here: the connection is refused, a network fault.
    const failure = await failureOf(localRepository('http://127.0.0.1:9/r.git', 'main', [10, 10]));
    expect(failure.type).toBe('RepositoryUnreachable');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/could not clone http:\/\/127\.0\.0\.1:9\/r\.git .*tried 3 times/);
    expect(failure.message).toMatch(/connect/i);
  });
});
