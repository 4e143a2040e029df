/**
 * HTTP edges of the controller's public API on a real loopback server: the real controller app,
 * runtime and policy, routing to a real VM inference server (in process, real onnxruntime) through
 * the real HttpVmClient. The Lambda pool is a stand-in that fails loudly (it cannot be reached:
 * the one ready VM takes every request, and these tests check what happens before any backend).
 */
import type { Server } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import { loadRegistry } from '../../functions/engine/registry.js';
import { type VmServer, createVmServer } from '../../functions/server/vm-server.js';
import { HttpVmClient } from '../../controller/local/vm-client.js';
import { createApiServer } from '../../controller/server/app.js';
import { ApiMetrics } from '../../controller/server/metrics.js';
import { NO_MODEL_MSG, SERVED, quietLogger, staticVmRuntime } from './helpers.js';

const KEY = 'edge-test-key-0123';
const H = { 'x-api-key': KEY };
const MAX_BODY = 256 * 1024;
const BODY_TIMEOUT_MS = 400;

interface Api {
  url: string;
  server: Server;
  vm: VmServer;
  logs: string[];
  /** Bytes the API server read from each closed connection. */
  bytesRead: number[];
  close(): Promise<void>;
}

async function startApi(): Promise<Api> {
  const name = SERVED!.name;
  const registry = loadRegistry();
  const engine = createEngine({ registry, intraOpThreads: 1 });
  const vm = createVmServer({ engine, variants: [name], logger: quietLogger });
  const vmAddr = await vm.listen(0);
  await vm.load();
  const rt = await staticVmRuntime({ name, vmId: 'i-edge', endpoint: `http://127.0.0.1:${vmAddr.port}`, slots: 8, sloMs: 5_000 });
  const lambdaStandIn = {
    invoke: () => Promise.reject(new Error('stand-in Lambda pool: not expected to be called')),
    setMemory: () => Promise.resolve(),
    describe: () => Promise.resolve([]),
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const vmClient = new HttpVmClient();
  const server = createApiServer({
    runtime: rt as never,
    vmClient,
    pool: lambdaStandIn as never,
    metrics: new ApiMetrics(),
    backendTimeoutMs: 10_000,
    maxBodyBytes: MAX_BODY,
    bodyTimeoutMs: BODY_TIMEOUT_MS,
    apiKey: KEY,
    log: pino({ level: 'info' }, sink),
  });
  const bytesRead: number[] = [];
  server.on('connection', (s: Socket) => s.on('close', () => bytesRead.push(s.bytesRead)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    vm,
    logs,
    bytesRead,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      vmClient.close();
      await vm.drain({ forceAfterMs: 100 });
      await engine.close();
    },
  };
}

async function call(
  api: Api,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; body: { error?: { code: string; message: string; field?: string } } }> {
  const res = await fetch(api.url + path, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let body = {};
  try {
    body = JSON.parse(text);
  } catch {
    // metrics, HEAD
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** A raw HTTP/1.1 request over a socket; resolves with the status line's code and the raw answer. */
function rawRequest(
  api: Api,
  head: string,
  opts: { bodyBytes?: number; chunkBytes?: number } = {},
): Promise<{ status: number; answer: string; wroteBytes: number }> {
  const { port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1');
    let answer = '';
    let wrote = 0;
    let stop = false;
    s.on('data', (d) => {
      answer += d.toString('latin1');
    });
    s.on('error', () => {
      stop = true;
    });
    s.on('close', () => {
      stop = true;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (!m) reject(new Error(`no HTTP answer (got ${JSON.stringify(answer.slice(0, 80))})`));
      else resolve({ status: Number(m[1]), answer, wroteBytes: wrote });
    });
    s.write(head);
    const total = opts.bodyBytes ?? 0;
    const chunk = Buffer.alloc(opts.chunkBytes ?? 64 * 1024, 0x61);
    const pump = () => {
      while (!stop && wrote < total) {
        const n = Math.min(chunk.length, total - wrote);
        wrote += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          s.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe.skipIf(!SERVED)(`controller API HTTP edges (real app + real VM server) ${SERVED ? '' : NO_MODEL_MSG}`, () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  it('checks the API key before routing: unknown and known routes, any method, /metrics all answer 401 without it', async () => {
    for (const [method, path] of [
      ['GET', '/no/such/route'],
      ['GET', '/v1/infer'],
      ['DELETE', '/v1/models'],
      ['POST', '/v1/models/nope/infer'],
      ['GET', '/metrics'],
      ['GET', '/openapi.json'],
      ['GET', '/endpoints/x/invocations'],
      ['GET', '/v2/models/x'],
      ['GET', '/v1/history'],
    ] as const) {
      const r = await call(api, path, { method });
      expect(r.status, `${method} ${path}`).toBe(401);
      // Protocol routes (/v2, /endpoints) answer 401 in their own wire format.
      if (!/^\/(v2|endpoints)\//.test(path)) expect(r.body.error?.code, `${method} ${path}: ${r.text}`).toBe('unauthorized');
    }
    expect((await call(api, '/metrics', { headers: H })).status).toBe(200);
    const health = await call(api, '/healthz');
    expect(health.status).toBe(200);
    // Health probes under /v2/health/ are public: whatever they answer, it is not a 401.
    expect((await call(api, '/v2/health/live')).status).not.toBe(401);
  });

  it('405 carries an Allow header; HEAD works wherever GET does', async () => {
    const post = await call(api, '/v1/models', { method: 'POST', body: {}, headers: H });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const get = await call(api, '/v1/infer', { headers: H });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const health = await call(api, '/healthz', { method: 'PUT' });
    expect(health.status).toBe(405);
    expect(health.headers.get('allow')).toBe('GET, HEAD');
    for (const path of ['/healthz', '/v1/models', '/v1/status', '/v1/history', '/metrics', '/openapi.json', '/', '/dashboard/echarts.min.js']) {
      const head = await call(api, path, { method: 'HEAD', headers: H });
      expect(head.status, path).toBe(200);
      expect(head.text).toBe('');
    }
  });

  it('the dashboard page and its script are public; its data (/v1/history) is not; a bad ?since= is a 400', async () => {
    const page = await call(api, '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await call(api, '/dashboard/echarts.min.js')).status).toBe(200);
    expect((await call(api, '/', { method: 'POST', body: {} })).status).toBe(405);
    const hist = await call(api, '/v1/history', { headers: H });
    expect(hist.status).toBe(200);
    // This runtime was built without historySamples: the route answers, with nothing kept.
    expect(hist.body).toMatchObject({ capacity: 0, samples: [], decisions: [], tickIntervalMs: 1_000, sloMs: 5_000 });
    const bad = await call(api, '/v1/history?since=yesterday', { headers: H });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', field: 'since' });
  });

  it('a malformed percent-escape in the path is a logged 400 naming the path', async () => {
    const r = await call(api, '/v1/models/%E0%A4%A/infer', { body: {}, headers: H });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_path', field: 'path' });
    expect(r.body.error?.message).toContain('/v1/models/%E0%A4%A/infer');
    expect(api.logs.some((l) => l.includes('%E0%A4%A'))).toBe(true);
  });

  it('random paths never get a 5xx (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom('%', '%E0', '%A', '%zz', '/', 'v1', 'models', 'infer', '..'), fc.webSegment()), {
          maxLength: 8,
        }),
        async (parts) => {
          const r = await call(api, `/${parts.join('')}`, { body: {}, headers: H });
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an unknown task 404 lists the served tasks', async () => {
    const r = await call(api, '/v1/infer', {
      body: { task: 'speech-to-text', input: { image: 'AAAA' }, sloMs: 1_000, minAccuracy: 0 },
      headers: H,
    });
    expect(r.status).toBe(404);
    expect(r.body.error?.field).toBe('task');
    expect(r.body.error?.message).toContain('served tasks: image-classification');
  });

  it("backend errors name the public request's fields (input.*), never the backend's (inputs.0.*)", async () => {
    const badDtype = await call(api, `/v1/models/${SERVED!.name}/infer`, {
      body: { input: { tensor: { dtype: 'bool', shape: [1], data: [1] } }, sloMs: 5_000 },
      headers: H,
    });
    expect(badDtype.status).toBe(400);
    expect(badDtype.body.error?.field).toMatch(/^input(\.|$)/);
    const badImage = await call(api, '/v1/infer', {
      body: { task: 'image-classification', input: { image: Buffer.from('GIF89a-not-really').toString('base64') }, sloMs: 5_000, minAccuracy: 0 },
      headers: H,
    });
    expect(badImage.status).toBe(400);
    expect(badImage.body.error).toMatchObject({ code: 'invalid_image', field: 'input.image' });
    for (const e of [badDtype.body.error, badImage.body.error]) {
      expect(JSON.stringify(e)).not.toMatch(/inputs\.0|inputs\[0\]/);
    }
  });

  it('a slow upload gets 408 after the body timeout, without trying a backend', async () => {
    const before = await api.vm.metrics.requests.get();
    const started = performance.now();
    const r = await rawRequest(
      api,
      `POST /v1/infer HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"task":`,
    );
    const tookMs = performance.now() - started;
    expect(r.status).toBe(408);
    expect(r.answer).toContain('request_timeout');
    expect(r.answer).toContain('SPILLWAY_BODY_TIMEOUT_MS');
    expect(r.answer.toLowerCase()).toContain('connection: close');
    expect(tookMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 5);
    const after = await api.vm.metrics.requests.get();
    const total = (m: typeof before) => m.values.reduce((s, v) => s + v.value, 0);
    expect(total(after)).toBe(total(before));
  });

  // 50 MB at whatever speed the loopback allows: the server must answer and stop reading.
  const HUGE = 50 * 1024 * 1024;
  it.each([
    ['401 (no key), declared length', `POST /v1/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${HUGE}\r\n\r\n`, 401],
    [
      '413, declared length',
      `POST /v1/infer HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${HUGE}\r\n\r\n`,
      413,
    ],
  ])('after a %s answer the server closes instead of reading a 50 MB body', async (_name, head, status) => {
    const seen = api.bytesRead.length;
    const r = await rawRequest(api, head, { bodyBytes: HUGE, chunkBytes: 64 * 1024 });
    // The client saw the close; wait for the server side's 'close' to record what it read.
    for (let i = 0; i < 100 && api.bytesRead.length === seen; i++) await new Promise((res) => setTimeout(res, 20));
    expect(r.status).toBe(status);
    expect(r.answer.toLowerCase()).toContain('connection: close');
    const consumed = api.bytesRead.slice(seen).reduce((a, b) => a + b, 0);
    // The limit (256 KiB) plus socket buffers, far from 50 MB.
    expect(consumed).toBeLessThan(MAX_BODY + 4 * 1024 * 1024);
    expect(r.wroteBytes).toBeLessThan(HUGE);
  });
});
