import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The CA bundle this host's own tools trust, when its configuration names one: image builds that
 * reach package registries are given it, so they verify TLS as the host does (behind an
 * intercepting proxy, say). A host with ordinary TLS names none, and builds get nothing extra.
 * Looked up once per worker, in order: SERA_BUILD_CA_BUNDLE, the variables that name a whole
 * bundle (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT; not NODE_EXTRA_CA_CERTS, which may hold
 * only extra certificates), then pip's configured `cert`.
 */
export function hostCaBundle(): Promise<string | undefined> {
  lookup ??= find();
  return lookup;
}

let lookup: Promise<string | undefined> | undefined;

async function find(): Promise<string | undefined> {
  const fromEnv = [
    process.env.SERA_BUILD_CA_BUNDLE,
    process.env.SSL_CERT_FILE,
    process.env.REQUESTS_CA_BUNDLE,
    process.env.PIP_CERT,
  ].find((file) => file && existsSync(file));
  if (fromEnv) return fromEnv;
  const fromPip = await pipCert();
  return fromPip && existsSync(fromPip) ? fromPip : undefined;
}

async function pipCert(): Promise<string | undefined> {
  try {
    const { stdout } = await run('python3', ['-m', 'pip', 'config', 'list'], { timeout: 20_000 });
    return /^[\w:.-]*\.cert='([^']+)'$/m.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}
