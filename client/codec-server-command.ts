// `npm run cli -- codec-server`: serves the codec endpoint the Temporal UI decodes payloads through
// (docs/operations.md, "Encrypting payloads") until SIGINT or SIGTERM.
import { startCodecServer, type RunningCodecServer } from '../infra/codec-server';
import { EncryptionCodec, payloadKeysFromEnv } from '../infra/payload-codec';
import { temporalSettingsFromEnv } from '../infra/temporal-connection';

export interface CodecServerCommandOptions {
  port: number;
  host: string;
  /** The UI's origin; the configured Temporal UI address by default. */
  origin?: string;
  /** No token check: only for a UI without login (the dev server's) on this machine. */
  withoutToken?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startCodecServerCommand(
  options: CodecServerCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningCodecServer & { origin: string; authenticated: boolean }> {
  const keys = payloadKeysFromEnv(env);
  if (!keys) throw new Error('SERA_PAYLOAD_KEY is not set: the codec endpoint needs the key the workers use');
  const token = env.SERA_CODEC_TOKEN?.trim() || undefined;
  if (options.withoutToken) {
    if (!LOOPBACK.has(options.host)) {
      throw new Error(
        '--without-token serves decoded payloads to anyone: it is allowed only on a loopback --host',
      );
    }
  } else if (!token) {
    throw new Error(
      'SERA_CODEC_TOKEN is not set: callers must prove access with it (or pass --without-token for a local UI without login)',
    );
  }
  const origin = (options.origin ?? temporalSettingsFromEnv(env).uiUrl).replace(/\/$/, '');
  const server = await startCodecServer({
    codec: new EncryptionCodec(keys),
    token: options.withoutToken ? undefined : token,
    allowedOrigin: origin,
    port: options.port,
    host: options.host,
  });
  return { ...server, origin, authenticated: !options.withoutToken };
}

export async function runCodecServerCommand(options: CodecServerCommandOptions): Promise<void> {
  const server = await startCodecServerCommand(options);
  console.log(
    `codec endpoint ${server.url} for the UI at ${server.origin} (${server.authenticated ? 'bearer token required' : 'no token: local use only'}); Ctrl-C stops it`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
