import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The CA bundle this host's own tools trust, when its configuration names one: image builds that
 * reach package registries are given it, so they verify TLS as the host does (behind an
 * intercepting proxy, say). A host with ordinary TLS names none, and builds get nothing extra.
 * Looked up, in order: SERA_BUILD_CA_BUNDLE, the usual variables, then pip's configured `cert`.
 */
export function hostCaBundle(): string | undefined {
  const fromEnv = [
    process.env.SERA_BUILD_CA_BUNDLE,
    process.env.SSL_CERT_FILE,
    process.env.REQUESTS_CA_BUNDLE,
    process.env.PIP_CERT,
    process.env.NODE_EXTRA_CA_CERTS,
  ].find((file) => file && existsSync(file));
  if (fromEnv) return fromEnv;
  const fromPip = pipCert();
  return fromPip && existsSync(fromPip) ? fromPip : undefined;
}

function pipCert(): string | undefined {
  try {
    const out = execFileSync('python3', ['-m', 'pip', 'config', 'list'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    });
    return /^[\w:.-]*\.cert='([^']+)'$/m.exec(out)?.[1];
  } catch {
    return undefined;
  }
}
