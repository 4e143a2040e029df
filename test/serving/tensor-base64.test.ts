/**
 * `tensor.dataBase64` (raw little-endian bytes of the dtype) as the alternative to a JSON `data`
 * array: identical predictions through the VM server (fast body parser and plain JSON.parse path)
 * and the Lambda handler; wrong byte length, both/neither fields, bad base64, NaN and oversize
 * -> 400 naming the field and the limit. Plus the strict decoder against a regex reference.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import type { InferenceEngine } from '../../functions/engine/engine-types.js';
import { fromHalfBits, toHalfBits } from '../../functions/engine/float16.js';
import { BackendInferResponseSchema, ErrorBodySchema, LIMITS } from '../../functions/engine/protocol.js';
import { createLambdaHandler } from '../../functions/lambda/pipeline.js';
import { parseJsonBody } from '../../functions/server/fast-json.js';
import { bytesToValues, decodeBase64Strict } from '../../functions/server/tensor-base64.js';
import { createVmServer, type VmServer } from '../../functions/server/vm-server.js';
import { lambdaContext, NO_MODEL_MSG, quietLogger, SERVED, servedTensor } from './helpers.js';

const served = SERVED;
/** Padded base64; like Buffer, the URL-safe '-' and '_' count as '+' and '/'. */
const STRICT_B64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}==|[A-Za-z0-9+/_-]{3}=)?$/;

describe('strict base64 decoding of tensor bytes', () => {
  it('accepts exactly the padded base64 strings a regex accepts, with the same bytes (fast-check)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const chars = fc.oneof(
      { weight: 20, arbitrary: fc.constantFrom(...alphabet) },
      fc.constantFrom('=', '-', '_', ' ', '\n', '\\', '"', 'é', '\u0141', '\0'),
    );
    const valid = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64'));
    const mutated = fc
      .tuple(valid, fc.nat(), chars)
      .map(([s, at, c]) => (s.length ? s.slice(0, at % s.length) + c + s.slice((at % s.length) + 1) : c));
    const arb = fc.oneof(valid, mutated, fc.string({ unit: chars, maxLength: 24 }));
    fc.assert(
      fc.property(arb, (s) => {
        const got = decodeBase64Strict(s);
        // Node's encoder writes canonical padding bits; a mutated last char may set "unused" bits,
        // which the decoder ignores (still valid base64, same bytes as Buffer's decode).
        expect(got !== undefined, s).toBe(STRICT_B64.test(s));
        if (got) expect(Buffer.from(got).equals(Buffer.from(s, 'base64'))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('float16 half bits widen to values that narrow back bit for bit; inf/NaN are flagged', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const finite = bits.filter((h) => (h & 0x7c00) !== 0x7c00);
    const r = bytesToValues(new Uint8Array(finite.slice().buffer), 'float16');
    if (!('values' in r)) throw new Error('finite halves were flagged');
    expect(Array.from(r.values, (v) => toHalfBits(v))).toEqual(Array.from(finite));
    expect(r.values[finite.indexOf(0x3c00)]).toBe(fromHalfBits(0x3c00));
    const withInf = Uint16Array.from([0x3c00, 0x7c00]);
    expect(bytesToValues(new Uint8Array(withInf.buffer), 'float16')).toEqual({ nonFiniteAt: 1 });
  });

  it('the fast body parser: dataBase64 -> the strict decode, else exactly JSON.parse (fast-check, 2,000 bodies)', () => {
    const valid = fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('base64'));
    // JSON string literals as they appear in the body, escapes included ("\u0041" is 'A').
    const lit = fc.oneof(
      valid.map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 12 }).map((v) => JSON.stringify(v)),
      valid.filter((v) => v.length > 0).map((v) => `"${v.slice(0, -1)}\\u0041"`),
      valid.map((v) => `" ${v}"`),
    );
    const text = fc.tuple(lit, fc.constantFrom('', ' ', '\n')).map(
      ([v, ws]) => `{"model":"m","inputs":[{"tensor":{"dtype":"uint8","shape":[1],"dataBase64":${ws}${v}}}]}`,
    );
    let lifted = 0;
    fc.assert(
      fc.property(text, (t) => {
        const want = JSON.parse(t) as { inputs: { tensor: { dataBase64: string } }[] };
        const got = parseJsonBody(Buffer.from(t), { minFastBytes: 0 }) as { inputs: { tensor: { dataBase64: unknown } }[] };
        const w = want.inputs[0]!.tensor.dataBase64;
        const g = got.inputs[0]!.tensor.dataBase64;
        const bytes = decodeBase64Strict(w);
        if (g instanceof Uint8Array) {
          lifted++;
          expect(bytes && Buffer.from(g).equals(Buffer.from(bytes))).toBe(true);
        } else {
          expect(got).toEqual(want); // not lifted: plain JSON.parse (the validator judges the string)
        }
      }),
      { numRuns: 2000 },
    );
    expect(lifted).toBeGreaterThan(100); // the fast path is really taken, not only the fallback
  });

  it('the fast body parser lifts dataBase64 as decoded bytes; junk falls back to JSON.parse', () => {
    const bytes = Buffer.from(Float32Array.from({ length: 20_000 }, (_, i) => i / 7).buffer);
    const body = (b64: string) => Buffer.from(JSON.stringify({ model: 'm', inputs: [{ tensor: { dtype: 'float32', shape: [20_000], dataBase64: b64 } }] }));
    const fast = parseJsonBody(body(bytes.toString('base64'))) as { inputs: { tensor: { dataBase64: unknown } }[] };
    const got = fast.inputs[0]!.tensor.dataBase64;
    expect(got).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(got as Uint8Array).equals(bytes)).toBe(true);
    const junk = `${bytes.toString('base64').slice(0, -4)}!!!!`;
    expect((parseJsonBody(body(junk)) as typeof fast).inputs[0]!.tensor.dataBase64).toBe(junk);
  });
});

describe.skipIf(!served)(`dataBase64 tensors end to end (${served?.name ?? NO_MODEL_MSG})`, () => {
  let engine: InferenceEngine;
  let server: VmServer;
  let url: string;
  const model = served!.name;
  const t = servedTensor(served!.variant);
  const tensor = (extra: Record<string, unknown>) => ({ dtype: t.dtype, shape: t.shape, ...extra });
  const post = async (body: unknown) => {
    const res = await fetch(`${url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as unknown };
  };

  beforeAll(async () => {
    engine = createEngine({});
    await engine.load(model);
    server = createVmServer({ engine, variants: [model], logger: quietLogger, maxWaitMs: 0 });
    await server.load();
    url = `http://127.0.0.1:${(await server.listen(0)).port}`;
  });
  afterAll(async () => {
    await server?.drain();
    await engine?.close();
  });

  it('VM server: dataBase64 gives the identical predictions to the data array (one and two inputs)', async () => {
    const viaData = BackendInferResponseSchema.parse((await post({ model, inputs: [{ tensor: tensor({ data: t.data }) }] })).json);
    const viaB64 = BackendInferResponseSchema.parse((await post({ model, inputs: [{ tensor: tensor({ dataBase64: t.dataBase64 }) }] })).json);
    expect(viaB64.outputs).toEqual(viaData.outputs);
    expect(viaB64.outputs[0]!.top).toHaveLength(5);
    const mixed = BackendInferResponseSchema.parse(
      (await post({ model, inputs: [{ tensor: tensor({ dataBase64: t.dataBase64 }) }, { tensor: tensor({ data: t.data }) }] })).json,
    );
    expect(mixed.outputs[0]).toEqual(viaData.outputs[0]);
    expect(mixed.outputs[1]).toEqual(viaData.outputs[0]);
  });

  it('VM server: wrong byte length, both/neither fields, bad base64, NaN, oversize -> 400 naming field and limit', async () => {
    const size = t.dtype === 'uint8' ? 1 : t.dtype === 'float16' ? 2 : 4;
    const want = t.data.length * size;
    const cases: { inputs: unknown[]; field: string; msg: RegExp }[] = [
      {
        inputs: [{ tensor: tensor({ dataBase64: Buffer.alloc(want - size).toString('base64') }) }],
        field: 'inputs.0.tensor.dataBase64',
        msg: new RegExp(`needs ${want} bytes .*got ${want - size}`),
      },
      { inputs: [{ tensor: tensor({ data: t.data, dataBase64: t.dataBase64 }) }], field: 'inputs.0.tensor', msg: /exactly one of data .* or dataBase64/ },
      { inputs: [{ image: 'x' }, { tensor: tensor({}) }], field: 'inputs.1.tensor', msg: /exactly one of data .* or dataBase64/ },
      { inputs: [{ tensor: tensor({ dataBase64: `${t.dataBase64.slice(0, -4)}@@@@` }) }], field: 'inputs.0.tensor.dataBase64', msg: /not valid base64/ },
      { inputs: [{ tensor: tensor({ dataBase64: 'abc' }) }], field: 'inputs.0.tensor.dataBase64', msg: /not valid base64/ },
      {
        inputs: [{ tensor: tensor({ dataBase64: 'A'.repeat(LIMITS.maxTensorBase64Chars + 4) }) }],
        field: 'inputs.0.tensor.dataBase64',
        msg: /at most 3211264 characters \(LIMITS\.maxTensorBase64Chars\)/,
      },
    ];
    if (t.dtype !== 'uint8') {
      const nan = Buffer.from(Buffer.from(t.dataBase64, 'base64'));
      nan.fill(0xff, size * 3, size * 4); // all-ones exponent: NaN in float32 and float16
      cases.push({ inputs: [{ tensor: tensor({ dataBase64: nan.toString('base64') }) }], field: 'inputs.0.tensor.dataBase64', msg: /element 3 is NaN or infinite/ });
    }
    for (const c of cases) {
      const r = await post({ model, inputs: c.inputs });
      expect(r.status, JSON.stringify(r.json).slice(0, 300)).toBe(400);
      const err = ErrorBodySchema.parse(r.json).error;
      expect(err.field).toBe(c.field);
      expect(err.message).toMatch(c.msg);
      expect(err.message.startsWith(c.field)).toBe(true);
    }
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('engine: a typed array in the model dtype (no copy) predicts exactly as the number array; NaN -> InvalidInputError', async () => {
    const typed = t.dtype === 'uint8' ? Uint8Array.from(t.data) : Float32Array.from(t.data);
    const a = await engine.predict(model, [{ tensor: { dtype: t.dtype, shape: t.shape, data: t.data } }]);
    const b = await engine.predict(model, [{ tensor: { dtype: t.dtype, shape: t.shape, data: typed } }]);
    expect(b.outputs).toEqual(a.outputs);
    if (typed instanceof Float32Array) {
      typed[7] = Number.NaN;
      await expect(engine.predict(model, [{ tensor: { dtype: t.dtype, shape: t.shape, data: typed } }])).rejects.toMatchObject({
        name: 'InvalidInputError',
        field: 'inputs[0].tensor.data',
      });
    }
  });

  it('Lambda handler: dataBase64 equals data (direct Invoke and base64 Function URL body); bad length -> 400', async () => {
    const handler = createLambdaHandler({ engine, variant: served!.variant, functionName: 'b64', logger: quietLogger });
    const ok = (r: { statusCode: number; body: string }) => {
      expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
      return BackendInferResponseSchema.parse(JSON.parse(r.body));
    };
    const viaData = ok(await handler({ model, inputs: [{ tensor: tensor({ data: t.data }) }] }, lambdaContext()));
    const b64Body = { model, inputs: [{ tensor: tensor({ dataBase64: t.dataBase64 }) }] };
    const direct = ok(await handler(b64Body, lambdaContext()));
    const fnUrl = ok(
      await handler(
        {
          version: '2.0',
          requestContext: { http: { method: 'POST' } },
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify(b64Body)).toString('base64'),
          isBase64Encoded: true,
        } as never,
        lambdaContext(),
      ),
    );
    expect(direct.outputs).toEqual(viaData.outputs);
    expect(fnUrl.outputs).toEqual(viaData.outputs);
    const bad = await handler({ model, inputs: [{ tensor: tensor({ dataBase64: 'AAAA' }) }] }, lambdaContext());
    expect(bad.statusCode).toBe(400);
    const err = ErrorBodySchema.parse(JSON.parse(bad.body)).error;
    expect(err.field).toBe('inputs.0.tensor.dataBase64');
    expect(err.message).toMatch(/needs \d+ bytes .*got 3/);
    const both = await handler({ model, inputs: [{ tensor: tensor({ data: [1], dataBase64: 'AAAA' }) }] }, lambdaContext());
    expect(both.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(JSON.parse(both.body)).error.field).toBe('inputs.0.tensor');
  });
});
