import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../infra/paths';
import { ensureDevServer, freePort } from '../../infra/temporal-server';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sera-server-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the embedded Temporal dev server', () => {
  it('is reused, not started twice, when a healthy server already listens', async () => {
    const port = Number(inject('temporalAddress').split(':')[1]);
    const server = await ensureDevServer({
      port,
      uiPort: await freePort(),
      dbFile: path.join(scratch, 'x.db'),
      stateDir: scratch,
      headless: true,
    });
    expect(server).toMatchObject({ started: false, address: `127.0.0.1:${port}` });
  });

  it('refuses a port another program holds, and says which setting moves it', async () => {
    const squatter = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const attempt = ensureDevServer({
        port,
        uiPort: await freePort(),
        dbFile: path.join(scratch, 'y.db'),
        stateDir: scratch,
        headless: true,
      });
      await expect(attempt).rejects.toThrow(new RegExp(`port ${port} is taken .*SERA_TEMPORAL_PORT`));
    } finally {
      squatter.close();
    }
  });

  it('says where the CLI should be and how to install it when it is missing', async () => {
    const attempt = ensureDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      dbFile: path.join(scratch, 'z.db'),
      stateDir: scratch,
      headless: true,
      cliPath: path.join(scratch, 'no-such-temporal'),
    });
    await expect(attempt).rejects.toThrow(
      /the Temporal CLI is missing at .*no-such-temporal: run infra\/setup\.sh/,
    );
  });
});

describe('the Docker set-up script', () => {
  it('fails with one clear line when the configured engine does not answer', () => {
    const result = spawnSync('bash', ['infra/docker-engine.sh'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DOCKER_HOST: `unix://${path.join(scratch, 'no-docker.sock')}`,
        SERA_STATE_DIR: scratch,
      },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /error: DOCKER_HOST=unix:\/\/.*no-docker\.sock does not answer: start that engine or unset DOCKER_HOST/,
    );
  });
});
