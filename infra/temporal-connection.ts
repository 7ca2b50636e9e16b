import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { dataConverterFor, payloadKeysFromEnv, type PayloadKeys } from './payload-codec';

/**
 * Where Temporal is, read from the same environment variables the `temporal` CLI uses, so one
 * set of settings serves the CLI, the workers and the project's own client:
 *   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
 *   TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
 *   TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_UI_URL.
 * With none set, it is the embedded dev server on localhost:7233.
 * The project's own SERA_PAYLOAD_KEY, SERA_PAYLOAD_KEY_ID and SERA_PAYLOAD_PREVIOUS_KEYS turn on
 * payload encryption (infra/payload-codec.ts).
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: {
    clientCertPath?: string;
    clientKeyPath?: string;
    serverCaCertPath?: string;
    serverName?: string;
  };
  uiUrl: string;
  /** Set: every payload is encrypted with these keys; unset: payloads as plain JSON. */
  payloadKeys?: PayloadKeys;
}

export const DEFAULT_TEMPORAL_PORT = 7233;

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS ?? `localhost:${DEFAULT_TEMPORAL_PORT}`;
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  if (Boolean(certPath) !== Boolean(keyPath)) {
    throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together');
  }
  const wantsTls =
    env.TEMPORAL_TLS === 'true' ||
    Boolean(certPath) ||
    Boolean(env.TEMPORAL_API_KEY) ||
    Boolean(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH);
  return {
    address,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    apiKey: env.TEMPORAL_API_KEY || undefined,
    tls:
      wantsTls && env.TEMPORAL_TLS !== 'false'
        ? {
            clientCertPath: certPath,
            clientKeyPath: keyPath,
            serverCaCertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
            serverName: env.TEMPORAL_TLS_SERVER_NAME,
          }
        : undefined,
    uiUrl: (env.TEMPORAL_UI_URL ?? defaultUiUrl(address)).replace(/\/$/, ''),
    payloadKeys: payloadKeysFromEnv(env),
  };
}

/** The dev server's UI listens on the gRPC port plus 1000. */
function defaultUiUrl(address: string): string {
  const [host, port] = address.split(':');
  const uiPort = Number(port ?? DEFAULT_TEMPORAL_PORT) + 1000;
  return `http://${host === '127.0.0.1' ? 'localhost' : host}:${uiPort}`;
}

function tlsOptions(settings: TemporalSettings): ConnectionOptions['tls'] {
  if (!settings.tls) return undefined;
  const { clientCertPath, clientKeyPath, serverCaCertPath, serverName } = settings.tls;
  return {
    serverNameOverride: serverName,
    serverRootCACertificate: serverCaCertPath ? readFileSync(serverCaCertPath) : undefined,
    clientCertPair:
      clientCertPath && clientKeyPath
        ? { crt: readFileSync(clientCertPath), key: readFileSync(clientKeyPath) }
        : undefined,
  };
}

export async function connectClient(settings: TemporalSettings = temporalSettingsFromEnv()): Promise<Client> {
  const connection = await Connection.connect({
    address: settings.address,
    tls: tlsOptions(settings),
    apiKey: settings.apiKey,
  });
  return new Client({
    connection,
    namespace: settings.namespace,
    dataConverter: dataConverterFor(settings.payloadKeys),
  });
}

/**
 * A worker's connection cannot carry a data converter, so workers take the one of the client they
 * are given (workers/role-workers.ts): clients and workers of a process always encode alike.
 */
export async function connectWorker(
  settings: TemporalSettings = temporalSettingsFromEnv(),
): Promise<NativeConnection> {
  const options: NativeConnectionOptions = {
    address: settings.address,
    tls: tlsOptions(settings) as NativeConnectionOptions['tls'],
    apiKey: settings.apiKey,
  };
  return NativeConnection.connect(options);
}

export function workflowUiUrl(settings: TemporalSettings, workflowId: string, runId?: string): string {
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
