import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import {
  CoordinationUnavailableError,
  MAX_COORD_BODY_BYTES,
} from '../../controller/coord/coordination-port.js';
import { LocalStoreClient } from '../../controller/coord/local-store-client.js';
import { type LocalStoreServer, startLocalStoreServer } from '../../controller/coord/local-store-server.js';
import { MAX_LOCAL_STORE_REQUEST_BYTES } from '../../controller/coord/local-store-wire.js';
import { INTERNAL_TOKEN_HEADER } from '../../functions/server/internal-token.js';
import { storeContract } from './store-contract.js';

// Two clients over real loopback HTTP to one server: the races cross the wire as two processes' would.
storeContract('local HTTP store (loopback server + two clients)', async () => {
  const server = await startLocalStoreServer();
  const a = new LocalStoreClient({ endpoint: server.endpoint, token: server.token });
  const b = new LocalStoreClient({ endpoint: server.endpoint, token: server.token });
  return { a, b, close: () => server.close() };
});

describe('local store service: token, validation, limits', () => {
  let server: LocalStoreServer;
  beforeAll(async () => {
    server = await startLocalStoreServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const post = (path: string, body: string, token: string | undefined = server.token) =>
    fetch(`${server.endpoint}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== undefined ? { [INTERNAL_TOKEN_HEADER]: token } : {}),
      },
      body,
    });

  it('answers /healthz without a token and refuses everything else without the right one (401)', async () => {
    expect(await (await fetch(`${server.endpoint}/healthz`)).json()).toEqual({ ok: true });
    const none = await fetch(`${server.endpoint}/lease`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: unknown }).error).toMatchObject({
      code: 'Unauthorized',
      message: expect.stringContaining(INTERNAL_TOKEN_HEADER),
    });
    const wrong = await post(
      '/lease/acquire',
      JSON.stringify({ holderId: 'A', nowMs: 0, ttlMs: 1 }),
      'not-the-token',
    );
    expect(wrong.status).toBe(401);
    expect(await server.store.readLease()).toBeUndefined();
    const client = new LocalStoreClient({ endpoint: server.endpoint, token: 'wrong' });
    await expect(client.readLease()).rejects.toThrow(CoordinationUnavailableError);
    await expect(client.readLease()).rejects.toThrow(/401/);
  });

  it('400 names the field for a wrong type, a missing field, an unknown field and bad JSON', async () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        '/lease/acquire',
        JSON.stringify({ holderId: 'A', nowMs: 'soon', ttlMs: 1 }),
        /POST \/lease\/acquire: nowMs: .*number/,
      ],
      ['/lease/acquire', JSON.stringify({ holderId: 'A', nowMs: 0 }), /ttlMs/],
      ['/plan', JSON.stringify({ fence: 1, atMs: 0, body: {}, extra: 1 }), /extra: unknown field/],
      ['/plan', JSON.stringify({ fence: 1, atMs: 0 }), /body: required/],
      ['/observations/trim', JSON.stringify({ upTo: { r1: 1.5 }, fence: 1 }), /upTo\.r1/],
      ['/lease/release', '{"holderId": ', /not valid JSON/],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, body);
      expect(res.status, path).toBe(400);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe('InvalidInput');
      expect(json.error.message).toMatch(message);
    }
  });

  it('404 for an unknown route, 405 naming the method a known one takes', async () => {
    const h = { [INTERNAL_TOKEN_HEADER]: server.token };
    expect((await fetch(`${server.endpoint}/nope`, { headers: h })).status).toBe(404);
    const res = await fetch(`${server.endpoint}/lease/acquire`, { headers: h });
    expect(res.status).toBe(405);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /takes POST, not GET/,
    );
  });

  it('refuses a body over the request limit with 413 from Content-Length, before reading it', async () => {
    const declared = MAX_LOCAL_STORE_REQUEST_BYTES + 1;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(`${server.endpoint}/plan`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-length': declared, [INTERNAL_TOKEN_HEADER]: server.token },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write('{"fence":1,'); // a few bytes only: the answer comes from the header alone
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error).toMatchObject({
      code: 'TooLarge',
      message: expect.stringContaining(String(MAX_LOCAL_STORE_REQUEST_BYTES)),
    });
    expect(MAX_LOCAL_STORE_REQUEST_BYTES).toBeGreaterThan(MAX_COORD_BODY_BYTES);
  });

  it('a client of a stopped service fails with CoordinationUnavailableError naming the endpoint', async () => {
    const gone = await startLocalStoreServer();
    const client = new LocalStoreClient({ endpoint: gone.endpoint, token: gone.token, timeoutMs: 2_000 });
    await gone.close();
    const err = await client.readPlan().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoordinationUnavailableError);
    expect((err as Error).message).toContain(gone.endpoint);
  });
});
