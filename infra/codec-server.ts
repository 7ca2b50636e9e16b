// The codec endpoint: an HTTP server the Temporal UI (and `temporal --codec-endpoint`) sends
// encrypted payloads to, and gets them back readable. It speaks Temporal's remote codec protocol:
// POST <endpoint>/decode and <endpoint>/encode with a JSON body `{"payloads": [...]}`, each payload
// in protobuf JSON form (metadata values and data base64), the namespace in an X-Namespace header.
// The browser calls it from the UI's origin, so it answers CORS for that one origin, and it decodes
// only for a caller holding the bearer token.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Callers must send `Authorization: Bearer <token>`; undefined only where no login exists (see the command). */
  token: string | undefined;
  /** The UI's origin, e.g. http://localhost:8233: the only origin a browser may call from. */
  allowedOrigin: string;
  port: number;
  host: string;
}

export interface RunningCodecServer {
  url: string;
  close(): Promise<void>;
}

/** Batches from the UI are a page of history; far above that is not a UI request. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

const JsonPayloads = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.string()).nullish(),
      data: z.string().nullish(),
    }),
  ),
});
export type JsonPayload = z.infer<typeof JsonPayloads>['payloads'][number];

export function payloadFromJson(json: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(json.metadata ?? {}).map(([field, value]) => [field, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(json.data ?? '', 'base64'),
  };
}

export function payloadToJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([field, value]) => [
        field,
        Buffer.from(value ?? new Uint8Array()).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const origin = options.allowedOrigin.replace(/\/$/, '');
  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 400;
      reply(response, status, { error: (error as Error).message });
    });
  });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // CORS headers go only to the UI's origin; a browser on any other page cannot read the answer.
    if (request.headers.origin === origin) {
      response.setHeader('Access-Control-Allow-Origin', origin);
      response.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    response.setHeader('Vary', 'Origin');
    if (request.method === 'OPTIONS') {
      // A preflight carries no credentials, so it is answered before the token check.
      if (request.headers.origin !== origin) throw new HttpError(403, 'origin not allowed');
      response.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      response.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      response.setHeader('Access-Control-Max-Age', '600');
      response.writeHead(204).end();
      return;
    }
    const pathname = new URL(request.url ?? '/', 'http://codec').pathname.replace(/\/$/, '');
    const operation = pathname.endsWith('/decode')
      ? 'decode'
      : pathname.endsWith('/encode')
        ? 'encode'
        : undefined;
    if (!operation) throw new HttpError(404, 'not found: POST <endpoint>/decode or <endpoint>/encode');
    if (request.method !== 'POST') throw new HttpError(405, `${operation} takes POST`);
    if (options.token !== undefined && !hasToken(request.headers.authorization, options.token)) {
      throw new HttpError(401, 'a valid bearer token is required (Authorization: Bearer <token>)');
    }
    const body = JsonPayloads.safeParse(await readJson(request));
    if (!body.success)
      throw new HttpError(400, 'expected {"payloads": [{"metadata": {...}, "data": "<base64>"}]}');
    const payloads = body.data.payloads.map(payloadFromJson);
    const result =
      operation === 'decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
    reply(response, 200, { payloads: result.map(payloadToJson) });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function hasToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readJson(request: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

function reply(response: http.ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
