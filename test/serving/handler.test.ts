/**
 * Lambda handler end to end through the real middy pipeline and the real engine: API Gateway
 * v1/v2, Function URL (base64 body), direct Invoke; validation errors name field and limit;
 * early 504 before Lambda would kill us. Also imports handler.ts itself (module-init load).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpuIsa, isaKey } from '../../functions/engine/cpu-isa.js';
import { createEngine } from '../../functions/engine/engine.js';
import type { InferenceEngine } from '../../functions/engine/engine-types.js';
import { BackendInferResponseSchema, ErrorBodySchema, LIMITS, WARM_UP_EVENT } from '../../functions/engine/protocol.js';
import { errorMapper, eventGuard, responseShape, spillwayEvent } from '../../functions/lambda/middleware.js';
import { createLambdaHandler, type LambdaResult } from '../../functions/lambda/pipeline.js';
import { itemShape } from '../../functions/server/validate.js';
import { gatedEngine, lambdaContext, NO_MODEL_MSG, quietLogger, SERVED, samples } from './helpers.js';

const served = SERVED;

function v2Event(body: string, opts: { base64?: boolean; method?: string; contentType?: string } = {}) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/v1/infer',
    rawQueryString: '',
    headers: { 'Content-Type': opts.contentType ?? 'application/json', Host: 'example.lambda-url.us-east-1.on.aws' },
    requestContext: { http: { method: opts.method ?? 'POST', path: '/v1/infer', sourceIp: '127.0.0.1' } },
    body: opts.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: opts.base64 ?? false,
  };
}

function v1Event(body: string) {
  return {
    resource: '/v1/infer',
    path: '/v1/infer',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    requestContext: { resourceId: 'abc', stage: 'prod', httpMethod: 'POST' },
    body,
    isBase64Encoded: false,
  };
}

function parseOk(r: LambdaResult) {
  expect(r.statusCode, r.body).toBe(200);
  expect(typeof r.body).toBe('string');
  return BackendInferResponseSchema.parse(JSON.parse(r.body));
}

function parseErr(r: LambdaResult) {
  expect(typeof r.body).toBe('string');
  return ErrorBodySchema.parse(JSON.parse(r.body)).error;
}

describe.skipIf(!served)(`Lambda handler through middy (${served?.name ?? NO_MODEL_MSG}, ${served?.note ?? ''})`, () => {
  let engine: InferenceEngine;
  let handler: ReturnType<typeof createLambdaHandler>;
  const photo = samples().find((s) => s.file === 'ort_dog.jpg') ?? samples()[0]!;
  const b64 = photo.bytes.toString('base64');
  const model = served!.name;
  const body = (extra: Record<string, unknown> = {}) => JSON.stringify({ model, inputs: [{ image: b64 }], topK: 5, ...extra });

  beforeAll(async () => {
    engine = createEngine({});
    await engine.load(model);
    handler = createLambdaHandler({ engine, variant: served!.variant, functionName: 'spillway-test', logger: quietLogger });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('direct Invoke payload: real prediction, cold start only on the first invocation', async () => {
    const first = parseOk(await handler({ model, inputs: [{ image: b64 }], topK: 5 }, lambdaContext()));
    const second = parseOk(await handler({ model, inputs: [{ image: b64 }], topK: 5 }, lambdaContext()));
    expect(first.backend).toMatchObject({ kind: 'lambda', coldStart: true, isa: isaKey(cpuIsa()) });
    expect(first.backend.id).toMatch(/^spillway-test\//);
    expect(second.backend.coldStart).toBe(false);
    expect(first.outputs).toHaveLength(1);
    expect(first.outputs[0]!.top).toHaveLength(5);
    if (served!.real) expect(photo.labels).toContain(first.outputs[0]!.top[0]!.index);
    expect(second.outputs[0]!.top.map((p) => p.index)).toEqual(first.outputs[0]!.top.map((p) => p.index));
  });

  it('the warm-up event answers without inference; the request after it is not a cold start', async () => {
    const fresh = createLambdaHandler({ engine, variant: served!.variant, functionName: 'spillway-warm', logger: quietLogger });
    const w = await fresh(WARM_UP_EVENT, lambdaContext());
    expect(w.statusCode).toBe(200);
    expect(JSON.parse(w.body)).toEqual({ warm: true, coldStart: true });
    expect(JSON.parse((await fresh(WARM_UP_EVENT, lambdaContext())).body)).toEqual({ warm: true, coldStart: false });
    const after = parseOk(await fresh({ model, inputs: [{ image: b64 }], topK: 5 }, lambdaContext()));
    expect(after.backend.coldStart).toBe(false);
    // Only the exact flag is a warm-up: anything else is validated as a request.
    expect((await fresh({ spillwayWarmUp: 'yes' }, lambdaContext())).statusCode).toBe(400);
  });

  it('API Gateway v2, v1 and Function URL (base64 body) events give the same answer', async () => {
    const direct = parseOk(await handler(JSON.parse(body()), lambdaContext()));
    const v2 = parseOk(await handler(v2Event(body()), lambdaContext()));
    const v1 = parseOk(await handler(v1Event(body()), lambdaContext()));
    const url = parseOk(await handler(v2Event(body(), { base64: true }), lambdaContext()));
    const top = (r: typeof direct) => r.outputs[0]!.top.map((p) => p.index);
    expect(top(v2)).toEqual(top(direct));
    expect(top(v1)).toEqual(top(direct));
    expect(top(url)).toEqual(top(direct));
  });

  it('always answers {statusCode, headers, body-string}, also for errors and non-object events', async () => {
    for (const ev of [null, 42, [], 'not json', { foo: 1 }]) {
      const r = (await handler(ev as never, lambdaContext())) as LambdaResult;
      expect(Object.keys(r).sort()).toEqual(['body', 'headers', 'statusCode']);
      expect(r.statusCode).toBe(400);
      parseErr(r);
    }
  });

  const bad: [string, () => unknown, number, RegExp, RegExp][] = [
    ['unknown field', () => JSON.parse(body({ extra: true })), 400, /^extra$/, /unknown field/],
    [
      'too many inputs',
      () => ({ model, inputs: Array.from({ length: LIMITS.maxInputsPerRequest + 1 }, () => ({ image: b64 })) }),
      400,
      /^inputs$/,
      /at most 16 items \(LIMITS\.maxInputsPerRequest\)/,
    ],
    ['bad base64', () => ({ model, inputs: [{ image: '%%%not*base64' }] }), 400, /^inputs\.0\.image$/, /base64/],
    [
      'not an image',
      () => ({ model, inputs: [{ image: Buffer.from('hello, not an image at all').toString('base64') }] }),
      400,
      /^inputs\.0\.image$/,
      /not a JPEG, PNG or WebP/,
    ],
    [
      'tensor shape mismatch',
      () => ({ model, inputs: [{ tensor: { dtype: served!.variant.input.dtype, shape: [3, 2], data: [1, 2, 3, 4, 5, 6] } }] }),
      400,
      /^inputs\.0\.tensor\.shape$/,
      /takes one item of shape/,
    ],
    [
      'tensor element count mismatch',
      () => ({
        model,
        inputs: [
          {
            tensor: {
              dtype: served!.variant.input.dtype,
              shape: itemShape(served!.variant).map((d) => d ?? 1),
              data: [1, 2, 3],
            },
          },
        ],
      }),
      400,
      /^inputs\.0\.tensor\.data$/,
      /needs \d+ elements, got 3/,
    ],
    ['budgetMs too large', () => JSON.parse(body({ budgetMs: LIMITS.maxBudgetMs + 1 })), 400, /^budgetMs$/, /LIMITS\.maxBudgetMs/],
    ['topK too large', () => JSON.parse(body({ topK: 99 })), 400, /^topK$/, /LIMITS\.maxTopK/],
    ['wrong model', () => JSON.parse(body({ model: 'not-this-one' })), 404, /^model$/, /not served here/],
  ];
  for (const [name, make, status, field, message] of bad) {
    it(`bad input -> ${status}: ${name}`, async () => {
      const r = await handler(make() as never, lambdaContext());
      expect(r.statusCode, r.body).toBe(status);
      const e = parseErr(r);
      expect(e.field ?? '').toMatch(field);
      expect(e.message).toMatch(message);
    });
  }

  it('HTTP transport errors: GET -> 405, text/plain -> 415, over 6 MiB -> 413, broken JSON -> 400', async () => {
    expect((await handler(v2Event(body(), { method: 'GET' }), lambdaContext())).statusCode).toBe(405);
    expect((await handler(v2Event(body(), { contentType: 'text/plain' }), lambdaContext())).statusCode).toBe(415);
    const huge = await handler(v2Event('x'.repeat(6 * 1024 * 1024 + 1)), lambdaContext());
    expect(huge.statusCode).toBe(413);
    expect(parseErr(huge).message).toMatch(/6291456 bytes/);
    const broken = await handler(v2Event('{"model":'), lambdaContext());
    expect(broken.statusCode).toBe(400);
    expect(parseErr(broken).code).toBe('invalid_json');
  });

  it('answers 504 before Lambda would kill it (remaining time minus margin)', async () => {
    // 150 ms left, 200 ms margin: no time at all -> immediate 504 naming the Lambda time limit.
    const r = await handler(JSON.parse(body()), lambdaContext(150));
    expect(r.statusCode).toBe(504);
    const e = parseErr(r);
    expect(e.code).toBe('deadline_exceeded');
    expect(e.message).toMatch(/remaining time minus the 200 ms margin/);
  });

  it('answers 504 at min(budgetMs, remaining - margin) while inference is still running', async () => {
    const g = gatedEngine(engine);
    const h = createLambdaHandler({ engine: g.engine, variant: served!.variant, functionName: 'f', logger: quietLogger });
    // The gate holds the real engine: the reply can only come from the deadline timer.
    const byBudget = await h(JSON.parse(body({ budgetMs: 30 })), lambdaContext(10_000));
    expect(byBudget.statusCode).toBe(504);
    expect(parseErr(byBudget).field).toBe('budgetMs');
    const byLambda = await h(JSON.parse(body()), lambdaContext(240));
    expect(byLambda.statusCode).toBe(504);
    expect(parseErr(byLambda).field).toBe('context.remainingTime');
    expect(g.batches).toEqual([]);
    g.open();
  });

  it('5xx replies never leak internals', async () => {
    const broken: InferenceEngine = {
      registry: engine.registry,
      load: (v) => engine.load(v),
      close: async () => {},
      predict: async () => {
        throw new Error('ENOENT /secret/path/model.onnx');
      },
    };
    const h = createLambdaHandler({ engine: broken, variant: served!.variant, functionName: 'f', logger: quietLogger });
    const r = await h(JSON.parse(body()), lambdaContext());
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toMatch(/secret|ENOENT/);
    expect(parseErr(r)).toEqual({ code: 'internal', message: 'internal error' });
  });

  it('rejects unknown middleware/handler options', () => {
    expect(() => spillwayEvent({ maxBodyBytes: 1, foo: 1 } as never)).toThrow(/spillwayEvent option foo/);
    expect(() => eventGuard({ bar: 1 } as never)).toThrow(/eventGuard option bar/);
    expect(() => responseShape({ x: 1 } as never)).toThrow(/responseShape option x/);
    expect(() => errorMapper({} as never)).toThrow(/errorMapper option logger/);
    expect(() =>
      createLambdaHandler({ engine, variant: served!.variant, functionName: 'f', bogus: 1 } as never),
    ).toThrow(/bogus|Unrecognized/);
  });

  it('handler.ts loads the session at module init and serves (env fail-fast names the variable)', async () => {
    vi.stubEnv('SPILLWAY_VARIANT', model);
    vi.stubEnv('LOG_LEVEL', 'silent');
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'spillway-' + model);
    try {
      const mod = await import('../../functions/lambda/handler.js');
      const r = parseOk(await mod.handler({ model, inputs: [{ image: b64 }], topK: 1 }, lambdaContext()));
      expect(r.backend.id).toMatch(new RegExp(`^spillway-${model}/`));
      expect(r.backend.coldStart).toBe(true);
    } finally {
      vi.unstubAllEnvs();
    }
    const { readLambdaEnv } = await import('../../functions/lambda/config.js');
    expect(() => readLambdaEnv({})).toThrow(/SPILLWAY_VARIANT is required/);
    expect(() => readLambdaEnv({ SPILLWAY_VARIANT: model, SPILLWAY_TIMEOUT_MARGIN_MS: 'abc' })).toThrow(
      /SPILLWAY_TIMEOUT_MARGIN_MS='abc' is invalid/,
    );
  });
});
