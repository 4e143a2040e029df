/**
 * Stand-in for the Lambda Invoke HTTP API (a mock of the AWS service, real HTTP on loopback):
 * lets the LambdaPool tests script answers that moto cannot produce without Docker (throttles,
 * 5xx, FunctionError, REPORT log tails, slow answers). Real handler invocation is covered by the
 * test against the local Lambda runtime (controller/local/lambda-runtime).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface StandInReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
  /** Hold the answer this long (ms) before replying. */
  delayMs?: number;
}

export interface StandIn {
  endpoint: string;
  /** Requests seen: function name + parsed payload. */
  calls: Array<{ functionName: string; payload: unknown }>;
  /** Next answers, in order; when empty, `fallback` answers. */
  queue: StandInReply[];
  fallback: StandInReply;
  close(): Promise<void>;
}

export function lambdaEnvelope(statusCode: number, body: unknown): string {
  return JSON.stringify({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export function reportTail(opts: { billedMs: number; memoryMb: number; initMs?: number }): string {
  const init = opts.initMs !== undefined ? ` Init Duration: ${opts.initMs.toFixed(2)} ms` : '';
  const text =
    `START RequestId: abc Version: $LATEST\nEND RequestId: abc\n` +
    `REPORT RequestId: abc\tDuration: ${(opts.billedMs - 0.5).toFixed(2)} ms\tBilled Duration: ${opts.billedMs} ms\t` +
    `Memory Size: ${opts.memoryMb} MB\tMax Memory Used: 150 MB\t${init}\n`;
  return Buffer.from(text).toString('base64');
}

export async function startStandIn(): Promise<StandIn> {
  const state: Omit<StandIn, 'endpoint' | 'close'> = {
    calls: [],
    queue: [],
    fallback: { status: 500, body: '{"message":"no scripted reply"}' },
  };
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      let payload: unknown;
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        payload = undefined;
      }
      state.calls.push({ functionName: decodeURIComponent(m?.[1] ?? ''), payload });
      const reply = state.queue.shift() ?? state.fallback;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const standIn = Object.assign(state, {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  }) as StandIn;
  return standIn;
}
