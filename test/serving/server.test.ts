/**
 * VM server on a real loopback port with the real engine: predictions, batching equivalence,
 * queue full -> 503 + Retry-After, deadline -> 504 (never held past the budget), body limit -> 413,
 * routes, readiness and metrics.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuIsa, isaKey } from '../../functions/engine/cpu-isa.js';
import { createEngine } from '../../functions/engine/engine.js';
import type { InferenceEngine } from '../../functions/engine/engine-types.js';
import { BackendInferResponseSchema, ErrorBodySchema } from '../../functions/engine/protocol.js';
import { readServerEnv } from '../../functions/server/config.js';
import { createVmServer, type VmServer, type VmServerOptions } from '../../functions/server/vm-server.js';
import { gatedEngine, NO_MODEL_MSG, quietLogger, SERVED, samples } from './helpers.js';

const served = SERVED;

async function start(opts: Omit<VmServerOptions, 'logger'>): Promise<{ server: VmServer; url: string }> {
  // No warm-up: these tests hold predict() shut (gatedEngine) and count what it runs (warm-up.test.ts covers it).
  const server = createVmServer({ logger: quietLogger, warmUp: false, ...opts });
  await server.load();
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${port}` };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as unknown };
}

describe.skipIf(!served)(
  `VM inference server (${served?.name ?? NO_MODEL_MSG}, ${served?.note ?? ''})`,
  () => {
    let engine: InferenceEngine;
    const model = served!.name;
    const photos = samples();
    const req = (bytes: Buffer, extra: Record<string, unknown> = {}) => ({
      model,
      inputs: [{ image: bytes.toString('base64') }],
      topK: 5,
      ...extra,
    });

    beforeAll(async () => {
      engine = createEngine({});
      await engine.load(model);
    });
    afterAll(async () => {
      await engine?.close();
    });

    it('serves real predictions, health, readiness and metrics', async () => {
      const { server, url } = await start({ engine, variants: [model], instanceId: 'vm-test-1' });
      try {
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        const readyz = await fetch(`${url}/readyz`);
        expect(readyz.status).toBe(200);
        // The server reports the CPU instruction-set class its int8 kernels run on (models verify shows it per backend).
        expect(((await readyz.json()) as { isa?: string }).isa).toBe(isaKey(cpuIsa()));
        for (const p of photos) {
          const r = await post(url, req(p.bytes));
          expect(r.status).toBe(200);
          const body = BackendInferResponseSchema.parse(r.json);
          expect(body.backend).toEqual({ kind: 'vm', id: 'vm-test-1', isa: isaKey(cpuIsa()) });
          expect(body.outputs[0]!.top).toHaveLength(5);
          if (served!.real) expect(p.labels).toContain(body.outputs[0]!.top[0]!.index);
        }
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(metrics).toMatch(
          new RegExp(`spillway_requests_total\\{status="200",model="${model}"\\} ${photos.length}`),
        );
        expect(metrics).toMatch(/spillway_batch_size_bucket/);
        expect(metrics).toMatch(/spillway_queue_depth\{model=/);
        expect(metrics).toMatch(/spillway_request_duration_seconds_bucket/);
      } finally {
        await server.drain();
      }
    });

    it('a full-size tensor body (fast parse path) gives the same top-k as the engine on the same tensor', async () => {
      const { server, url } = await start({ engine, variants: [model] });
      try {
        const shape = served!.variant.input.shape.slice(1).map((d) => d ?? 1);
        const n = shape.reduce((a, b) => a * b, 1);
        const uint8 = served!.variant.input.dtype === 'uint8';
        const data = Array.from({ length: n }, (_, i) =>
          uint8 ? (i * 7) % 256 : Math.round(Math.sin(i) * 2000) / 1000,
        );
        const tensor = { dtype: served!.variant.input.dtype, shape, data };
        const r = await post(url, { model, inputs: [{ tensor }], topK: 5 });
        expect(r.status).toBe(200);
        const got = BackendInferResponseSchema.parse(r.json).outputs[0]!.top;
        const want = (await engine.predict(model, [{ tensor }], { topK: 5 })).outputs[0]!;
        expect(got.map((p) => p.index)).toEqual(want.map((p) => p.index));
        got.forEach((p, k) => {
          expect(p.score).toBeCloseTo(want[k]!.score, 6);
        });
      } finally {
        await server.drain();
      }
    });

    it('readyz is 503 until the models are loaded; infer before that is 503 not_ready', async () => {
      const server = createVmServer({ engine, variants: [model], logger: quietLogger });
      const { port } = await server.listen(0);
      const url = `http://127.0.0.1:${port}`;
      try {
        expect((await fetch(`${url}/readyz`)).status).toBe(503);
        const r = await post(url, req(photos[0]!.bytes));
        expect(r.status).toBe(503);
        expect(ErrorBodySchema.parse(r.json).error.code).toBe('not_ready');
        await server.load();
        expect((await fetch(`${url}/readyz`)).status).toBe(200);
      } finally {
        await server.drain();
      }
    });

    it('concurrent requests are batched together and give the same top-k as single requests', async () => {
      const single = await start({ engine, variants: [model], maxBatch: 1, maxWaitMs: 0 });
      const singles: ReturnType<typeof BackendInferResponseSchema.parse>[] = [];
      try {
        for (const p of photos)
          singles.push(BackendInferResponseSchema.parse((await post(single.url, req(p.bytes))).json));
      } finally {
        await single.server.drain();
      }
      const g = gatedEngine(engine);
      const batched = await start({ engine: g.engine, variants: [model], maxBatch: 8, maxWaitMs: 0 });
      try {
        // The first request is dispatched alone and held at the gate; the rest queue up behind it
        // and must leave together in the next batch.
        const first = post(batched.url, req(photos[0]!.bytes));
        await g.firstEntered;
        const rest = photos.map((p) => post(batched.url, req(p.bytes)));
        await waitFor(async () => (await depth(batched.url, model)) === photos.length);
        g.open();
        const all = await Promise.all([first, ...rest]);
        const results = all.map((r) => BackendInferResponseSchema.parse(r.json));
        expect(g.batches).toEqual([1, photos.length]);
        // Every answer carries the server's load (cluster routers read it): the first was written
        // while the whole second batch still waited, so it counts all of them and itself.
        expect(results[0]!.load).toEqual({ outstanding: photos.length + 1 });
        for (const r of results) expect(r.load!.outstanding).toBeGreaterThanOrEqual(1);
        expect(((await (await fetch(`${batched.url}/readyz`)).json()) as { load: unknown }).load).toEqual({
          outstanding: 0,
        });
        results.slice(1).forEach((r, i) => {
          expect(r.timings.batchSize).toBe(photos.length);
          const s = singles[i]!.outputs[0]!.top;
          const b = r.outputs[0]!.top;
          expect(b.map((x) => x.index)).toEqual(s.map((x) => x.index));
          b.forEach((x, k) => {
            expect(x.score).toBeCloseTo(s[k]!.score, 4);
          });
        });
      } finally {
        await batched.server.drain();
      }
    });

    it('queue full -> 503 queue_full with Retry-After; accepted requests still succeed', async () => {
      const g = gatedEngine(engine);
      const { server, url } = await start({
        engine: g.engine,
        variants: [model],
        maxBatch: 1,
        maxWaitMs: 0,
        queueLimit: 2,
        maxInFlight: 100, // only the batch queue limit is under test here
      });
      try {
        const inFlight = post(url, req(photos[0]!.bytes));
        await g.firstEntered;
        const queued = [post(url, req(photos[1]!.bytes)), post(url, req(photos[2]!.bytes))];
        await waitFor(async () => (await depth(url, model)) === 2);
        const refused = await Promise.all([
          post(url, req(photos[3]!.bytes)),
          post(url, req(photos[0]!.bytes)),
        ]);
        for (const r of refused) {
          expect(r.status).toBe(503);
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect(ErrorBodySchema.parse(r.json).error.code).toBe('queue_full');
          expect(ErrorBodySchema.parse(r.json).error.message).toMatch(/limit 2/);
        }
        g.open();
        for (const r of await Promise.all([inFlight, ...queued])) expect(r.status).toBe(200);
      } finally {
        await server.drain();
      }
    });

    it('bounds requests held in memory (maxInFlight) -> 503 queue_full without reading the body', async () => {
      const g = gatedEngine(engine);
      const { server, url } = await start({
        engine: g.engine,
        variants: [model],
        maxBatch: 1,
        maxWaitMs: 0,
        maxInFlight: 2,
      });
      try {
        const held = [post(url, req(photos[0]!.bytes)), post(url, req(photos[1]!.bytes))];
        await g.firstEntered;
        await waitFor(async () => (await depth(url, model)) === 1);
        const refused = await post(url, req(photos[2]!.bytes));
        expect(refused.status).toBe(503);
        expect(ErrorBodySchema.parse(refused.json).error.code).toBe('queue_full');
        expect(ErrorBodySchema.parse(refused.json).error.message).toMatch(
          /limit of 2 requests in flight \(maxInFlight\)/,
        );
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        g.open();
        for (const r of await Promise.all(held)) expect(r.status).toBe(200);
      } finally {
        await server.drain();
      }
    });

    it('bounds body bytes held (maxInFlightBodyBytes) -> 503 queue_full naming it; a refused 4 MB body is not read', async () => {
      const g = gatedEngine(engine);
      const { server, url } = await start({
        engine: g.engine,
        variants: [model],
        maxBatch: 1,
        maxWaitMs: 0,
        maxInFlightBodyBytes: 2 * 1024 * 1024,
      });
      const bytesRead: number[] = [];
      server.http.on('connection', (s) => s.on('close', () => bytesRead.push(s.bytesRead)));
      try {
        const held = post(url, req(photos[0]!.bytes));
        await g.firstEntered;
        // 4 MB of padding in a field the server would reject anyway: it must not get that far.
        const big = JSON.stringify({ ...req(photos[1]!.bytes), pad: 'x'.repeat(4 * 1024 * 1024) });
        const seen = bytesRead.length;
        const refused = await post(url, big);
        expect(refused.status).toBe(503);
        expect(refused.headers.get('connection')).toBe('close');
        expect(Number(refused.headers.get('retry-after'))).toBe(1);
        const e = ErrorBodySchema.parse(refused.json).error;
        expect(e.code).toBe('queue_full');
        expect(e.message).toMatch(
          /of its limit of 2097152 body bytes in flight \(maxInFlightBodyBytes\); this request declares 4\d{6}/,
        );
        for (let i = 0; i < 100 && bytesRead.length === seen; i++)
          await new Promise((r) => setTimeout(r, 20));
        expect(bytesRead.slice(seen).reduce((a, b) => a + b, 0)).toBeLessThan(2 * 1024 * 1024);
        // Health answers while inference is held.
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        g.open();
        expect((await held).status).toBe(200);
      } finally {
        await server.drain();
      }
    });

    it('a request whose budget runs out is answered 504, not held until the queue moves', async () => {
      const g = gatedEngine(engine);
      const { server, url } = await start({ engine: g.engine, variants: [model], maxBatch: 1, maxWaitMs: 0 });
      try {
        const blocker = post(url, req(photos[0]!.bytes));
        await g.firstEntered;
        // The gate is still closed, so this 504 can only come from the budget timer.
        const tight = await post(url, req(photos[1]!.bytes, { budgetMs: 40 }));
        expect(tight.status).toBe(504);
        expect(ErrorBodySchema.parse(tight.json).error).toMatchObject({
          code: 'deadline_exceeded',
          field: 'budgetMs',
        });
        expect(g.batches).toEqual([]);
        const tiny = await post(url, req(photos[1]!.bytes, { budgetMs: 0.001 }));
        expect(tiny.status).toBe(504);
        g.open();
        expect((await blocker).status).toBe(200);
      } finally {
        await server.drain();
      }
    });

    it('transport errors: 413 body limit, 415, 400 bad JSON, 404 model/route, 405 method', async () => {
      const { server, url } = await start({ engine, variants: [model], maxBodyBytes: 64 * 1024 });
      try {
        const big = await post(url, req(Buffer.alloc(100 * 1024, 1)));
        expect(big.status).toBe(413);
        expect(ErrorBodySchema.parse(big.json).error.message).toMatch(/65536 bytes/);
        expect((await post(url, 'a=b', { 'content-type': 'text/plain' })).status).toBe(415);
        const broken = await post(url, '{"model":');
        expect(broken.status).toBe(400);
        expect(ErrorBodySchema.parse(broken.json).error.code).toBe('invalid_json');
        const unknown = await post(url, req(photos[0]!.bytes, { model: 'nope' }));
        expect(unknown.status).toBe(404);
        expect(ErrorBodySchema.parse(unknown.json).error).toMatchObject({
          code: 'unknown_model',
          field: 'model',
        });
        expect((await fetch(`${url}/nothing`)).status).toBe(404);
        const get = await fetch(`${url}/v1/infer`);
        expect(get.status).toBe(405);
        expect(get.headers.get('allow')).toBe('POST');
        // The server still works after all that.
        expect((await post(url, req(photos[0]!.bytes))).status).toBe(200);
      } finally {
        await server.drain();
      }
    });

    it('a client hanging up mid-body frees the request (499 in metrics, no 5xx) and the server keeps serving', async () => {
      const { server, url } = await start({ engine, variants: [model] });
      try {
        const port = Number(new URL(url).port);
        const sock = connect(port, '127.0.0.1');
        await once(sock, 'connect');
        sock.write(
          'POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":',
        );
        sock.destroy();
        await waitFor(async () => /status="499"/.test(await (await fetch(`${url}/metrics`)).text()));
        expect(await (await fetch(`${url}/metrics`)).text()).not.toMatch(/status="5\d\d"/);
        expect((await post(url, req(photos[0]!.bytes))).status).toBe(200);
      } finally {
        await server.drain();
      }
    });

    it('rejects unknown options and unknown variants by name; env reader names the variable', () => {
      expect(() => createVmServer({ engine, variants: [model], bogus: 1 } as never)).toThrow(
        /bogus|Unrecognized/,
      );
      expect(() => createVmServer({ engine, variants: ['no-such-variant'], logger: quietLogger })).toThrow(
        /no-such-variant/,
      );
      expect(() => readServerEnv({})).toThrow(/SPILLWAY_VARIANTS is required/);
      expect(() => readServerEnv({ SPILLWAY_VARIANTS: model, SPILLWAY_MAX_BATCH: '0' })).toThrow(
        /SPILLWAY_MAX_BATCH='0'/,
      );
      const env = readServerEnv({ SPILLWAY_VARIANTS: `${model}, other` });
      expect(env).toMatchObject({
        PORT: 8081,
        HOST: '127.0.0.1',
        SPILLWAY_MAX_BATCH: 8,
        SPILLWAY_MAX_WAIT_MS: 2,
        SPILLWAY_QUEUE_LIMIT: 256,
      });
      expect(env.SPILLWAY_VARIANTS).toEqual([model, 'other']);
    });
  },
);

async function depth(url: string, model: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(new RegExp(`spillway_queue_depth\\{model="${model}"\\} (\\d+)`));
  return m ? Number(m[1]) : -1;
}

async function waitFor(cond: () => Promise<boolean>, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}
