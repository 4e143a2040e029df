/**
 * The bounded body reader shared by the VM server and the controller API, on a real loopback
 * server: it resolves complete bodies, rejects oversize ones (declared or streamed) with the
 * caller's error, and settles when the client hangs up mid-body (no leaked pending request).
 */
import { type IncomingMessage, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBodyLimited } from '../../functions/server/read-body.js';

class TooLarge extends Error {}
class Aborted extends Error {}
const ERRORS = { tooLarge: (n: number) => new TooLarge(String(n)), aborted: () => new Aborted('aborted') };

let close: (() => void) | undefined;
afterEach(() => close?.());

/** Starts a server whose handler reads with `limit` and reports the outcome through the returned promise. */
async function serve(limit: number): Promise<{ port: number; outcome: Promise<Buffer | Error> }> {
  let settle!: (v: Buffer | Error) => void;
  const outcome = new Promise<Buffer | Error>((r) => {
    settle = r;
  });
  const server = createServer((req: IncomingMessage, res) => {
    readBodyLimited(req, limit, ERRORS).then(
      (b) => {
        settle(b);
        res.end('ok');
      },
      (e: Error) => {
        settle(e);
        res.writeHead(413, { connection: 'close' }).end();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  close = () => {
    server.closeAllConnections();
    server.close();
  };
  return { port: (server.address() as AddressInfo).port, outcome };
}

function send(port: number, chunks: string[], opts: { contentLength?: number; hangUp?: boolean } = {}): void {
  const req = request({
    port,
    host: '127.0.0.1',
    method: 'POST',
    headers:
      opts.contentLength !== undefined
        ? { 'content-length': opts.contentLength }
        : { 'transfer-encoding': 'chunked' },
  });
  req.on('error', () => {});
  for (const c of chunks) req.write(c);
  if (opts.hangUp) setTimeout(() => req.destroy(), 50);
  else req.end();
}

describe('readBodyLimited (real loopback server)', () => {
  it('resolves a complete body', async () => {
    const { port, outcome } = await serve(100);
    send(port, ['hello ', 'world']);
    expect((await outcome).toString()).toBe('hello world');
  });

  it('rejects a declared Content-Length over the limit before reading', async () => {
    const { port, outcome } = await serve(10);
    send(port, ['x'.repeat(20)], { contentLength: 20 });
    expect(await outcome).toBeInstanceOf(TooLarge);
  });

  it('rejects a streamed body once it passes the limit', async () => {
    const { port, outcome } = await serve(10);
    send(port, ['x'.repeat(6), 'y'.repeat(6)]);
    expect(await outcome).toBeInstanceOf(TooLarge);
  });

  it('settles with the aborted error when the client hangs up mid-body', async () => {
    const { port, outcome } = await serve(1000);
    send(port, ['partial'], { contentLength: 500, hangUp: true });
    expect(await outcome).toBeInstanceOf(Aborted);
  });
});
