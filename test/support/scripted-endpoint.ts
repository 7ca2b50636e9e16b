import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One reply the endpoint will give, as a server would put it in `choices[0]`. */
export interface ScriptedReply {
  content?: string | null;
  reasoning_content?: string;
  reasoning?: string;
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> | string }>;
  /** Default: `tool_calls` when there are calls, else `stop`. */
  finishReason?: string;
  /** Answer with this HTTP error status instead (a server that refuses and bills nothing). */
  status?: number;
  /** Answer only after this long (longer than the client waits: a reply lost to a timeout). */
  delayMs?: number;
}

/** What one request asked for. */
export interface RecordedRequest {
  seed?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  messages: Array<Record<string, unknown>>;
}

export interface ScriptedEndpoint {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible endpoint (GET /v1/models, POST /v1/chat/completions) that answers from a
 * queue of scripted replies, then from `fallback`, and records every request it gets.
 */
export async function startScriptedEndpoint(
  replies: ScriptedReply[],
  fallback: ScriptedReply = { content: 'Submitting.', toolCalls: [{ name: 'submit', arguments: {} }] },
): Promise<ScriptedEndpoint> {
  const queue = [...replies];
  const requests: RecordedRequest[] = [];
  let served = 0;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v1/models') {
      send(200, {
        object: 'list',
        data: [{ id: 'scripted', object: 'model', created: 0, owned_by: 'test' }],
      });
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      send(404, { error: { message: `no route ${req.method} ${req.url}`, type: 'not_found' } });
      return;
    }
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as RecordedRequest & { model: string };
      requests.push({
        seed: body.seed,
        max_tokens: body.max_tokens,
        max_completion_tokens: body.max_completion_tokens,
        messages: body.messages,
      });
      served += 1;
      const reply = queue.shift() ?? fallback;
      if (reply.status !== undefined) {
        send(reply.status, { error: { message: `scripted ${reply.status}`, type: 'server_error' } });
        return;
      }
      if (reply.delayMs !== undefined) {
        // The client gives up first; the reply is never read.
        setTimeout(() => res.destroy(), reply.delayMs);
        return;
      }
      const toolCalls = (reply.toolCalls ?? []).map((call, i) => ({
        id: `call_${served}_${i}`,
        type: 'function',
        function: {
          name: call.name,
          arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
        },
      }));
      send(200, {
        id: `chatcmpl-${served}`,
        object: 'chat.completion',
        created: 0,
        model: body.model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: reply.content ?? null,
              ...(reply.reasoning_content !== undefined
                ? { reasoning_content: reply.reasoning_content }
                : {}),
              ...(reply.reasoning !== undefined ? { reasoning: reply.reasoning } : {}),
              ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
            },
            finish_reason: reply.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
          },
        ],
        usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 },
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
