import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SeededRandom } from '../core/teacher/random';

/**
 * A fault-injecting proxy in front of any OpenAI-compatible endpoint, for drills: it forwards
 * requests unchanged, except that a seeded share of chat completions is answered with a 429 and
 * Retry-After, a 500, a connection cut before any answer, a slow answer, or the real answer with
 * its first tool call's JSON arguments truncated (what weaker models send). Model listings pass.
 */
export interface ProxyFaults {
  rate429: number;
  rate500: number;
  cutRate: number;
  slowRate: number;
  slowMs: number;
  garbageRate: number;
  retryAfterSeconds: number;
}

export const DRILL_FAULTS: ProxyFaults = {
  rate429: 0.06,
  rate500: 0.05,
  cutRate: 0.04,
  slowRate: 0.05,
  slowMs: 1500,
  garbageRate: 0.05,
  retryAfterSeconds: 1,
};

export interface FaultProxy {
  url: string;
  /** Chat completions by what the proxy did with them. */
  counts: Record<'passed' | 'rate_limited' | 'server_error' | 'cut' | 'slow' | 'garbled', number>;
  close(): Promise<void>;
}

interface Completion {
  choices?: Array<{ message?: { tool_calls?: Array<{ function?: { arguments?: string } }> } }>;
}

export async function startFaultProxy(options: {
  /** The endpoint's base URL, e.g. http://127.0.0.1:8400/v1. */
  target: string;
  faults: Partial<ProxyFaults>;
  seed: number;
  port?: number;
}): Promise<FaultProxy> {
  const faults = { ...DRILL_FAULTS, ...options.faults };
  const target = new URL(options.target);
  const draws = new SeededRandom('fault-proxy', options.seed);
  const counts: FaultProxy['counts'] = {
    passed: 0,
    rate_limited: 0,
    server_error: 0,
    cut: 0,
    slow: 0,
    garbled: 0,
  };
  const sendError = (res: http.ServerResponse, status: number, message: string, headers = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message, type: 'injected', code: status } }));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const suffix = (req.url ?? '/').replace(/^\/v1/, '');
      const upstream = new URL(`${target.pathname.replace(/\/$/, '')}${suffix}`, target);
      const isCompletion = req.method === 'POST' && suffix.startsWith('/chat/completions');
      // One draw per decision, in a fixed order, so a seed repeats the same faults.
      const draw = isCompletion ? draws.next() : 1;
      const slow = isCompletion && draws.next() < faults.slowRate;
      const garble = isCompletion && draws.next() < faults.garbageRate;
      let edge = faults.rate429;
      if (draw < edge) {
        counts.rate_limited += 1;
        return sendError(res, 429, 'Rate limit reached (injected).', {
          'retry-after': String(faults.retryAfterSeconds),
        });
      }
      if (draw < (edge += faults.rate500)) {
        counts.server_error += 1;
        return sendError(res, 500, 'Internal error (injected).');
      }
      if (draw < (edge += faults.cutRate)) {
        counts.cut += 1;
        req.socket.destroy();
        return;
      }
      const forward = (): void => {
        const out = http.request(
          upstream,
          { method: req.method, headers: { ...req.headers, host: target.host } },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('end', () => {
              let payload = Buffer.concat(parts);
              if (garble && answer.statusCode === 200) {
                const parsed = JSON.parse(payload.toString('utf8')) as Completion;
                const call = parsed.choices?.[0]?.message?.tool_calls?.[0]?.function;
                if (call?.arguments) {
                  call.arguments = call.arguments.slice(0, Math.max(1, call.arguments.length - 3));
                  payload = Buffer.from(JSON.stringify(parsed));
                  counts.garbled += 1;
                }
              }
              if (isCompletion && !garble) counts.passed += 1;
              const headers = { ...answer.headers, 'content-length': String(payload.length) };
              delete headers['transfer-encoding'];
              res.writeHead(answer.statusCode ?? 502, headers);
              res.end(payload);
            });
          },
        );
        out.on('error', (error) => sendError(res, 502, `upstream: ${error.message}`));
        out.end(body);
      };
      if (slow) {
        counts.slow += 1;
        setTimeout(forward, faults.slowMs);
      } else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    counts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
