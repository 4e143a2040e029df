/**
 * Property tests (fast-check): >= 1,000 random or mutated requests each against the Lambda
 * handler and the VM server (images, JSON `data` tensors and `dataBase64` tensors). Whatever arrives, the reply is a well-formed BackendInferResponse
 * (200) or ErrorBody (4xx), never a 5xx and never a crash. Valid bodies use a tiny PNG and at
 * most 3 inputs so the real inferences among them stay cheap.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import type { InferenceEngine } from '../../functions/engine/engine-types.js';
import { BackendInferResponseSchema, ErrorBodySchema } from '../../functions/engine/protocol.js';
import { createLambdaHandler } from '../../functions/lambda/pipeline.js';
import { createVmServer, type VmServer } from '../../functions/server/vm-server.js';
import { lambdaContext, NO_MODEL_MSG, quietLogger, SERVED, servedTensor, tinyPng } from './helpers.js';

const served = SERVED;
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1000);

function bodyArb(model: string, pngB64: string, tensor: ReturnType<typeof servedTensor>): fc.Arbitrary<unknown> {
  const validImage = fc.constant({ image: pngB64 });
  const input = fc.oneof(
    { weight: 4, arbitrary: validImage },
    { weight: 1, arbitrary: fc.record({ image: fc.string() }) },
    { weight: 1, arbitrary: fc.record({ image: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        tensor: fc.record({
          dtype: fc.oneof(fc.constantFrom('float32', 'uint8', 'float16'), fc.string()),
          shape: fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 4 }),
          data: fc.array(fc.double(), { maxLength: 16 }),
        }),
      }),
    },
    // dataBase64 variants: random/junk base64, wrong lengths, both fields, and (below) the full valid tensor.
    {
      weight: 2,
      arbitrary: fc.record({
        tensor: fc.record(
          {
            dtype: fc.oneof({ weight: 4, arbitrary: fc.constant(tensor.dtype) }, fc.constantFrom('float32', 'uint8', 'float16'), fc.string()),
            shape: fc.oneof({ weight: 4, arbitrary: fc.constant(tensor.shape) }, fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 4 })),
            dataBase64: fc.oneof(
              fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
              fc.string(),
              fc.constant(tensor.dataBase64.slice(0, 400)),
              fc.constant(`${tensor.dataBase64.slice(4)}=`),
              fc.anything(),
            ),
            data: fc.array(fc.double(), { maxLength: 4 }),
          },
          { requiredKeys: ['dataBase64'] },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ tensor: { dtype: tensor.dtype, shape: tensor.shape, dataBase64: tensor.dataBase64 } }) },
    { weight: 1, arbitrary: fc.anything() },
  );
  const junk = fc.oneof(fc.string(), fc.double(), fc.constant(null), fc.anything());
  // Mostly-valid fields, each occasionally replaced by junk: about a third of these bodies are valid.
  const mutated = fc
    .record({
      model: fc.oneof({ weight: 12, arbitrary: fc.constant(model) }, fc.string(), fc.integer()),
      inputs: fc.oneof(
        { weight: 6, arbitrary: fc.array(fc.oneof({ weight: 12, arbitrary: validImage }, input), { minLength: 1, maxLength: 2 }) },
        fc.array(validImage, { minLength: 17, maxLength: 18 }),
        fc.constant([]),
        fc.anything(),
      ),
      topK: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 20 }) }, fc.constant(undefined), fc.integer({ min: -3, max: 30 }), junk),
      budgetMs: fc.oneof(
        { weight: 10, arbitrary: fc.constant(undefined) },
        { weight: 3, arbitrary: fc.double({ min: 10_000, max: 300_000, noNaN: true }) },
        fc.constant(-1),
        fc.constant(300_001),
        junk,
      ),
      extra: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, fc.anything()),
    })
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
  return fc.oneof(
    // ~1 in 8 bodies is a mutated valid one and ~1 in 3 of those is fully valid: ~40 real
    // inferences per 1,000 cases keeps the run short on a busy 2-core machine.
    { weight: 1, arbitrary: mutated },
    { weight: 3, arbitrary: fc.anything() },
    { weight: 2, arbitrary: fc.json() },
    { weight: 2, arbitrary: fc.string() },
  );
}

/** A 504 is legitimate only for a request that itself asked for a tiny budget (< 10 s). */
function tinyBudget(body: unknown): boolean {
  let b = body;
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b);
    } catch {
      return false;
    }
  }
  const v = b !== null && typeof b === 'object' ? (b as Record<string, unknown>)['budgetMs'] : undefined;
  return typeof v === 'number' && v < 10_000;
}

function checkReply(status: number, text: string, body: unknown): void {
  const json = JSON.parse(text) as unknown;
  if (status === 504 && tinyBudget(body)) {
    expect(ErrorBodySchema.parse(json).error.code).toBe('deadline_exceeded');
    return;
  }
  expect(status, text).toBeLessThan(500);
  if (status === 200) BackendInferResponseSchema.parse(json);
  else ErrorBodySchema.parse(json);
}

describe.skipIf(!served)(`fuzz (${served?.name ?? NO_MODEL_MSG})`, () => {
  let engine: InferenceEngine;
  let png: string;
  let server: VmServer;
  let url: string;
  const model = served!.name;
  const tensor = servedTensor(served!.variant);

  beforeAll(async () => {
    engine = createEngine({});
    await engine.load(model);
    png = (await tinyPng()).toString('base64');
    server = createVmServer({ engine, variants: [model], logger: quietLogger, maxWaitMs: 0 });
    await server.load();
    url = `http://127.0.0.1:${(await server.listen(0)).port}`;
  });
  afterAll(async () => {
    await server?.drain();
    await engine?.close();
  });

  it(`Lambda handler: ${RUNS} random/mutated events, no crash, no 5xx, every reply parses`, async () => {
    const handler = createLambdaHandler({ engine, variant: served!.variant, functionName: 'fuzz', logger: quietLogger });
    let ok = 0;
    const event = fc.tuple(bodyArb(model, png, tensor), fc.constantFrom('invoke', 'v2', 'v2-b64', 'v1', 'raw')).map(([body, kind]) => {
      const text = typeof body === 'string' ? body : (JSON.stringify(body) ?? 'null');
      if (kind === 'invoke') return [body, body] as const;
      if (kind === 'raw') return [text, body] as const;
      if (kind === 'v1') return [{ httpMethod: 'POST', requestContext: { resourceId: 'r' }, headers: {}, body: text }, body] as const;
      const b64 = kind === 'v2-b64';
      const ev = {
        version: '2.0',
        requestContext: { http: { method: 'POST' } },
        headers: { 'content-type': 'application/json' },
        body: b64 ? Buffer.from(text).toString('base64') : text,
        isBase64Encoded: b64,
      };
      return [ev, body] as const;
    });
    await fc.assert(
      fc.asyncProperty(event, async ([ev, body]) => {
        const r = await handler(ev as never, lambdaContext());
        expect(Object.keys(r).sort()).toEqual(['body', 'headers', 'statusCode']);
        checkReply(r.statusCode, r.body, body);
        if (r.statusCode === 200) ok++;
      }),
      { numRuns: RUNS },
    );
    expect(ok).toBeGreaterThan(0); // the generator really reaches inference
    console.log(`handler fuzz: ${ok}/${RUNS} valid bodies ran inference`);
  });

  it(`VM server: ${RUNS} random/mutated bodies over HTTP, no crash, no 5xx, every reply parses`, async () => {
    let ok = 0;
    const req = fc.tuple(
      bodyArb(model, png, tensor),
      fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, fc.constantFrom('text/plain', 'application/json; charset=utf-8', '')),
      fc.oneof({ weight: 12, arbitrary: fc.constant('/v1/infer') }, fc.constantFrom('/', '/v1', '/v1/infer/x', '/metrics?x=1')),
    );
    await fc.assert(
      fc.asyncProperty(req, async ([body, ct, path]) => {
        const text = typeof body === 'string' ? body : (JSON.stringify(body) ?? 'null');
        const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
        const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: text });
        const reply = await res.text();
        checkReply(res.status, reply, body);
        if (res.status === 200) ok++;
      }),
      { numRuns: RUNS },
    );
    expect(ok).toBeGreaterThan(0);
    console.log(`server fuzz: ${ok}/${RUNS} valid bodies ran inference`);
    expect((await fetch(`${url}/readyz`)).status).toBe(200); // still alive and ready
  });
});
