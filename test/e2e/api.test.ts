/**
 * The public API end to end on loopback: real stack (local Lambda runtime running the real
 * handler, real VM server processes, real policy), real inference on a sample photo. Every
 * response type is validated against the served OpenAPI 3.1 document with ajv.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry, repoRoot } from '../../functions/engine/registry.js';
import type { Stack } from '../../controller/server/stack.js';
import { HAS_SHARED_MODELS, OpenApiChecker, SMALL_VARIANT, call, startTestStack } from './helpers.js';

const API_KEY = 'e2e-secret-key-123';
const CAT = readFileSync(join(repoRoot(), 'functions', 'models', 'samples', 'ort_cat.jpg')).toString('base64');
const H = { 'x-api-key': API_KEY };

describe('public API (real stack, loopback)', () => {
  let stack: Stack;
  let oa: OpenApiChecker;

  beforeAll(async () => {
    stack = await startTestStack({ apiKey: API_KEY, maxBodyBytes: 512 * 1024, vmBootDelayMs: 1_000 });
    const doc = await call(stack.url, '/openapi.json', { headers: H });
    expect(doc.status).toBe(200);
    oa = new OpenApiChecker(doc.body as Record<string, unknown>);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('serves an OpenAPI 3.1 document generated from the schemas', async () => {
    const doc = (await call(stack.url, '/openapi.json', { headers: H })).body as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/infer', '/v1/models/{name}/infer', '/v1/status']));
  });

  it('/healthz answers without a key and conforms', async () => {
    const r = await call(stack.url, '/healthz');
    expect(r.status).toBe(200);
    oa.check('/healthz', 'get', 200, r.body);
  });

  it('rejects a missing or wrong API key with 401', async () => {
    const r = await call(stack.url, '/v1/models');
    expect(r.status).toBe(401);
    oa.check('/v1/models', 'get', 401, r.body);
    const wrong = await call(stack.url, '/v1/models', { headers: { 'x-api-key': 'nope-nope-nope' } });
    expect(wrong.status).toBe(401);
  });

  it('/v1/models lists the served variant with accuracy source and weights', async () => {
    const r = await call(stack.url, '/v1/models', { headers: H });
    expect(r.status).toBe(200);
    oa.check('/v1/models', 'get', 200, r.body);
    const m = (r.body as { models: Array<{ name: string; weights: string; accuracy: { source: string } }> }).models;
    expect(m.map((x) => x.name)).toEqual([SMALL_VARIANT]);
    expect(m[0]!.weights).toBe(HAS_SHARED_MODELS ? 'real' : 'synthetic');
    expect(m[0]!.accuracy.source.length).toBeGreaterThan(0);
  });

  it('model-less /v1/infer answers with variant, backend and latency breakdown', async () => {
    const req = { task: 'image-classification', input: { image: CAT }, sloMs: 10_000, minAccuracy: 0, topK: 3 };
    expect(oa.checkRequest('/v1/infer', 'post', req)).toBe(true);
    const r = await call(stack.url, '/v1/infer', { body: req, headers: H });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    oa.check('/v1/infer', 'post', 200, r.body);
    const b = r.body as {
      model: string;
      backend: { kind: string };
      predictions: Array<{ label: string }>;
      latency: { totalMs: number; inferenceMs: number; transportMs: number; queueMs: number };
    };
    expect(b.model).toBe(SMALL_VARIANT);
    expect(['vm', 'lambda']).toContain(b.backend.kind);
    expect(b.predictions).toHaveLength(3);
    expect(b.latency.totalMs).toBeGreaterThanOrEqual(b.latency.inferenceMs);
    if (HAS_SHARED_MODELS) expect(b.predictions[0]!.label).toMatch(/tabby|tiger cat|Egyptian cat/);
  });

  it('model-specific /v1/models/{name}/infer pins the variant', async () => {
    const r = await call(stack.url, `/v1/models/${SMALL_VARIANT}/infer`, {
      body: { input: { image: CAT }, sloMs: 10_000 },
      headers: H,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    oa.check('/v1/models/{name}/infer', 'post', 200, r.body);
    expect((r.body as { model: string }).model).toBe(SMALL_VARIANT);
  });

  it('accepts a raw tensor input and names the offending element of a bad one', async () => {
    const v = loadRegistry().get(SMALL_VARIANT);
    const shape = v.input.shape.slice(1).map((d) => d ?? 1);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, (_, k) => (v.input.dtype === 'uint8' ? k % 256 : ((k % 7) - 3) / 3));
    const ok = await call(stack.url, `/v1/models/${SMALL_VARIANT}/infer`, {
      body: { input: { tensor: { dtype: v.input.dtype, shape, data } }, sloMs: 10_000, topK: 2 },
      headers: H,
    });
    expect(ok.status, JSON.stringify(ok.body).slice(0, 300)).toBe(200);
    oa.check('/v1/models/{name}/infer', 'post', 200, ok.body);
    expect((ok.body as { predictions: unknown[] }).predictions).toHaveLength(2);
    const bad = [...data];
    (bad as unknown[])[17] = 'x';
    const r = await call(stack.url, `/v1/models/${SMALL_VARIANT}/infer`, {
      body: { input: { tensor: { dtype: v.input.dtype, shape, data: bad } } },
      headers: H,
    });
    expect(r.status).toBe(400);
    oa.check('/v1/models/{name}/infer', 'post', 400, r.body);
    expect((r.body as { error: { field: string } }).error.field).toBe('input.tensor.data.17');
  });

  it('unknown fields are rejected with 400 naming the field', async () => {
    const r = await call(stack.url, '/v1/infer', {
      body: { task: 'image-classification', input: { image: CAT }, sloMs: 500, minAccuracy: 0, priority: 'high' },
      headers: H,
    });
    expect(r.status).toBe(400);
    oa.check('/v1/infer', 'post', 400, r.body);
    expect((r.body as { error: { message: string } }).error.message).toContain('priority');
  });

  it('out-of-range values are rejected with 400 naming the field and the limit', async () => {
    const r = await call(stack.url, '/v1/infer', {
      body: { task: 'image-classification', input: { image: CAT }, sloMs: 900_000, minAccuracy: 0 },
      headers: H,
    });
    expect(r.status).toBe(400);
    const e = (r.body as { error: { field: string; message: string } }).error;
    expect(e.field).toBe('sloMs');
    expect(e.message).toContain('300000');
  });

  it('an undecodable image comes back as a 4xx from the backend, not a 5xx', async () => {
    const r = await call(stack.url, '/v1/infer', {
      body: { task: 'image-classification', input: { image: Buffer.from('not an image').toString('base64') }, sloMs: 10_000, minAccuracy: 0 },
      headers: H,
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    oa.check('/v1/infer', 'post', r.status, r.body);
  });

  it('a body over the limit gets 413', async () => {
    const big = 'A'.repeat(600 * 1024);
    const r = await call(stack.url, '/v1/infer', {
      body: { task: 'image-classification', input: { image: big }, sloMs: 500, minAccuracy: 0 },
      headers: H,
    });
    expect(r.status).toBe(413);
    oa.check('/v1/infer', 'post', 413, r.body);
  });

  it('unknown model -> 404; unknown task -> 4xx', async () => {
    const r = await call(stack.url, '/v1/models/no-such-model/infer', { body: { input: { image: CAT } }, headers: H });
    expect(r.status).toBe(404);
    oa.check('/v1/models/{name}/infer', 'post', 404, r.body);
    const t = await call(stack.url, '/v1/infer', {
      body: { task: 'speech-to-text', input: { image: CAT }, sloMs: 500, minAccuracy: 0 },
      headers: H,
    });
    expect([400, 404]).toContain(t.status);
    oa.check('/v1/infer', 'post', t.status, t.body);
  });

  it('503 with Retry-After when Lambda is throttling and no VM has room (conforms)', async () => {
    // The state a Lambda 429 leaves behind: the pool is throttling for the next 3 s.
    stack.runtime.host.lambda.throttled(Date.now(), 3_000);
    const busyVm = stack.runtime.vms.some((v) => v.state === 'ready');
    const r = await call(stack.url, '/v1/infer', {
      body: { task: 'image-classification', input: { image: CAT }, sloMs: 10_000, minAccuracy: 0 },
      headers: H,
    });
    if (busyVm) {
      // A VM booted meanwhile (the policy may have bought one): then the VM must answer.
      expect(r.status).toBe(200);
      return;
    }
    expect(r.status).toBe(503);
    oa.check('/v1/infer', 'post', 503, r.body);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('/v1/status and /metrics report fleet, traffic and cost', async () => {
    const r = await call(stack.url, '/v1/status', { headers: H });
    expect(r.status).toBe(200);
    oa.check('/v1/status', 'get', 200, r.body);
    const s = r.body as { traffic: { totals: { vm: number; lambda: number } } };
    expect(s.traffic.totals.vm + s.traffic.totals.lambda).toBeGreaterThanOrEqual(2);
    expect((await call(stack.url, '/metrics')).status).toBe(401); // behind the key like every route but /healthz
    const m = await call(stack.url, '/metrics', { headers: H });
    expect(m.status).toBe(200);
    expect(String(m.body)).toContain('spillway_requests_total');
  });
});
