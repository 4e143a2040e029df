/**
 * The protocols other clients already speak, end to end on loopback against the real stack:
 * - Open Inference Protocol (KServe v2 / Triton) driven by NVIDIA's `tritonclient[http]`;
 * - SageMaker Runtime InvokeEndpoint driven by boto3's `sagemaker-runtime` client;
 * both from the Python venv .ci/run creates (.venv), plus hand-built requests for the error cases.
 * Works with the real models (../shared) or the synthetic ones (labels then meaningless).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import type { Stack } from '../../controller/server/stack.js';
import { HAS_SHARED_MODELS, OpenApiChecker, SMALL_VARIANT, call, startTestStack } from './helpers.js';

const API_KEY = 'protocols-e2e-key-42';
const ROOT = repoRoot();
const CAT_PATH = join(ROOT, 'functions', 'models', 'samples', 'ort_cat.jpg');
const CAT = readFileSync(CAT_PATH);
const TASK = 'image-classification';
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const execFileAsync = promisify(execFile);

function pythonClientsMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `SKIPPED: ${PYTHON} not found (run .ci/run to create the venv)`;
  const r = spawnSync(PYTHON, ['-c', 'import tritonclient.http, boto3'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.status === 0
    ? undefined
    : `SKIPPED: tritonclient[http] / boto3 not installed in .venv (run .ci/run): ${r.stderr.trim()}`;
}
const missing = pythonClientsMissing();
if (missing && process.env['CI'] === 'true')
  throw new Error(`CI=true but the Python clients are missing: ${missing}`);
if (missing) console.warn(`[test/e2e/protocols] ${missing}`);

/**
 * Runs a Python client script. Asynchronously on purpose: the stack under test runs in this same
 * process, so a spawnSync would block the event loop that has to answer the client (a deadlock).
 */
async function runClient(script: string, args: string[]): Promise<Record<string, any>> {
  try {
    const { stdout } = await execFileAsync(PYTHON, [join(ROOT, 'test', 'e2e', 'clients', script), ...args], {
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
      env: {
        ...process.env,
        AWS_EC2_METADATA_DISABLED: 'true',
        NO_PROXY: '127.0.0.1',
        no_proxy: '127.0.0.1',
      },
    });
    return JSON.parse(stdout);
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; stdout?: string };
    throw new Error(`${script} failed (${String(e.code)}): ${e.stderr ?? ''}\n${e.stdout ?? ''}`, {
      cause: err,
    });
  }
}

describe('Open Inference Protocol and SageMaker InvokeEndpoint (real stack, loopback)', () => {
  let stack: Stack;
  const H = { 'x-api-key': API_KEY };

  beforeAll(async () => {
    // Protocol conformance, not latency: the stack is warmed first (one Lambda instance kept warm
    // for the whole file) and the SLO is one a loaded 2-core CI machine meets. At this load the
    // planner keeps everything on Lambda, and a cold start there took over 15 s with the other
    // test file's processes on both cores.
    stack = await startTestStack({ apiKey: API_KEY, vmBootDelayMs: 1_000, sloMs: 15_000, lambdaKeepAliveMs: 600_000, backendTimeoutMs: 60_000 });
    const warm = await call(stack.url, '/v1/infer', {
      headers: H,
      body: { task: TASK, input: { image: CAT.toString('base64') }, sloMs: 15_000, minAccuracy: 0, acceptLate: true },
    });
    expect(warm.status, JSON.stringify(warm.body)).toBe(200);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it.runIf(!missing)(
    'tritonclient[http]: health, metadata, tensor (binary and JSON), image + classification, model-less, errors',
    async () => {
      const out = await runClient('triton_http.py', [stack.url, SMALL_VARIANT, TASK, API_KEY, CAT_PATH]);
      expect(out.live).toBe(true);
      expect(out.ready).toBe(true);
      expect(out.server.name).toBe('spillway');
      expect(out.server.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'classification']));
      expect(out.metadata.name).toBe(SMALL_VARIANT);
      expect(out.metadata.platform).toBe('onnxruntime_onnx');
      expect(['FP32', 'UINT8', 'FP16']).toContain(out.metadata.inputs[0].datatype);
      expect(out.metadata.outputs.map((o: { name: string }) => o.name)).toEqual([
        'scores',
        'classes',
        'labels',
      ]);
      expect(out.model_ready).toBe(true);
      expect(out.wrong_key_error.status).toBe('401');
      expect(out.wrong_key_error.message).toMatch(/API key/);

      // The same tensor sent as raw bytes and as JSON numbers gives the same top classes.
      const b = out.tensor_binary;
      const j = out.tensor_json;
      expect(b.classes[0]).toHaveLength(5);
      expect(b.classes).toEqual(j.classes);
      for (let i = 0; i < 5; i++) expect(b.scores[0][i]).toBeCloseTo(j.scores[0][i], 5);
      expect(b.scores[0][0]).toBeGreaterThanOrEqual(b.scores[0][4]);
      expect(b.response.model_name).toBe(SMALL_VARIANT);
      expect(b.response.parameters.served_models).toBe(SMALL_VARIANT);
      expect(b.labels[0]).toHaveLength(5);

      // Triton's classification strings "score:index:label", best first.
      const cls = out.image_classification as string[];
      expect(cls).toHaveLength(3);
      for (const s of cls) expect(s).toMatch(/^\d\.\d{6}:\d+:.+$/);
      if (HAS_SHARED_MODELS) expect(cls[0]).toMatch(/cat/i);
      expect(out.image_default_outputs).toEqual({ scores: 5, classes: 5, labels: 5 });

      expect(out.modelless.parameters.slo_ms).toBe(20000);
      expect(out.modelless.labels).toHaveLength(2);

      expect(out.bad_datatype.status).toBe('400');
      expect(out.bad_datatype.message).toMatch(/inputs\.0\.datatype: .*INT32/);
      expect(out.bad_shape.status).toBe('400');
      expect(out.bad_shape.message).toMatch(/inputs\.0\.shape: model .* takes \[/);
      expect(out.unknown_model.status).toBe('404');
      expect(out.unknown_model.message).toContain(SMALL_VARIANT);
    },
    180_000,
  );

  it.runIf(!missing)(
    'boto3 sagemaker-runtime: image/jpeg to a variant, model-less by task with custom attributes, errors as ClientError',
    async () => {
      const out = await runClient('sagemaker_boto3.py', [stack.url, SMALL_VARIANT, TASK, API_KEY, CAT_PATH]);
      expect(out.variant.invoked).toBe(SMALL_VARIANT);
      expect(out.variant.contentType).toBe('application/json');
      expect(out.variant.body.model).toBe(SMALL_VARIANT);
      expect(out.variant.body.predictions.length).toBe(5);
      if (HAS_SHARED_MODELS) expect(out.variant.body.predictions[0].label).toMatch(/cat/i);
      expect(out.modelless.body.sloMs).toBe(20000);
      expect(out.modelless.body.predictions).toHaveLength(2);
      expect(out.modelless.invoked).toBe(out.modelless.body.model);
      expect(out.json.predictions).toHaveLength(1);

      expect(out.bad_attribute).toMatchObject({ code: 'ValidationError', status: 400 });
      expect(out.bad_attribute.message).toMatch(
        /X-Amzn-SageMaker-Custom-Attributes: slo_ms must be an integer/,
      );
      expect(out.unknown_endpoint).toMatchObject({ code: 'ValidationError', status: 400 });
      expect(out.unknown_endpoint.message).toMatch(
        /unknown endpoint 'no-such-endpoint'.*image-classification/,
      );
      expect(out.bad_content_type.message).toMatch(/^ContentType: 'text\/csv'/);
      expect(out.bad_image.code).toBe('ValidationError');
      expect(out.bad_image.message).toMatch(/^Body: .*image/i);
      expect(out.no_key).toMatchObject({ code: 'AccessDeniedException', status: 401 });
    },
    180_000,
  );

  describe('hand-built requests (no Python needed)', () => {
    const meta = async () =>
      (await call(stack.url, `/v2/models/${SMALL_VARIANT}`, { headers: H })).body as {
        inputs: Array<{ name: string; datatype: string; shape: number[] }>;
      };

    it('both protocols are in /openapi.json, and what they answer conforms to it', async () => {
      const doc = (await call(stack.url, '/openapi.json', { headers: H })).body as Record<string, any>;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v2/health/live',
          '/v2',
          '/v2/models/{name}',
          '/v2/models/{name}/infer',
          '/v2/models/{name}/versions/{version}/infer',
          '/endpoints/{name}/invocations',
        ]),
      );
      expect(doc.paths['/endpoints/{name}/invocations'].post.security).toEqual([
        { apiKey: [] },
        { bearer: [] },
      ]);
      const oa = new OpenApiChecker(doc);
      oa.check('/v2', 'get', 200, (await call(stack.url, '/v2', { headers: H })).body);
      oa.check(
        '/v2/models/{name}',
        'get',
        200,
        (await call(stack.url, `/v2/models/${SMALL_VARIANT}`, { headers: H })).body,
      );
      oa.check(
        '/v2/models/{name}',
        'get',
        200,
        (await call(stack.url, `/v2/models/${TASK}`, { headers: H })).body,
      );
      oa.check(
        '/v2/models/{name}',
        'get',
        404,
        (await call(stack.url, '/v2/models/nope', { headers: H })).body,
      );
      const oip = {
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [CAT.toString('base64')] }],
        parameters: { slo_ms: 20_000 },
      };
      expect(oa.checkRequest('/v2/models/{name}/infer', 'post', oip)).toBe(true);
      const ans = await call(stack.url, `/v2/models/${TASK}/infer`, { headers: H, body: oip });
      expect(ans.status).toBe(200);
      oa.check('/v2/models/{name}/infer', 'post', 200, ans.body);
      oa.check(
        '/v2/models/{name}/infer',
        'post',
        400,
        (await call(stack.url, `/v2/models/${TASK}/infer`, { headers: H, body: { inputs: [] } })).body,
      );
      const sm = await fetch(new URL(`/endpoints/${TASK}/invocations`, stack.url), {
        method: 'POST',
        headers: { ...H, 'content-type': 'image/jpeg' },
        body: CAT,
      });
      expect(sm.status).toBe(200);
      oa.check('/endpoints/{name}/invocations', 'post', 200, await sm.json());
      const smBad = await fetch(new URL(`/endpoints/${TASK}/invocations`, stack.url), {
        method: 'POST',
        headers: { ...H, 'content-type': 'text/csv' },
        body: 'a,b',
      });
      oa.check('/endpoints/{name}/invocations', 'post', 400, await smBad.json());
    });

    it('random OIP bodies and SageMaker attributes get a 4xx naming the field, never a 5xx (fast-check)', async () => {
      const m = await meta();
      const spec = m.inputs[0]!;
      const tensorInput = fc.record(
        {
          name: fc.oneof(fc.constant(spec.name), fc.constant('image'), fc.string({ maxLength: 8 })),
          datatype: fc.constantFrom('FP32', 'UINT8', 'FP16', 'BYTES', 'INT64', 'FP33', ''),
          shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 300 }), fc.constant(1)), { maxLength: 5 }),
          data: fc.oneof(
            fc.array(fc.oneof(fc.double(), fc.string({ maxLength: 4 }), fc.constant(null)), { maxLength: 6 }),
            fc.constant(undefined),
          ),
          parameters: fc.oneof(
            fc.constant(undefined),
            fc.record({ binary_data_size: fc.integer({ min: -1, max: 100 }) }),
          ),
        },
        { requiredKeys: ['name', 'datatype', 'shape'] },
      );
      const oipBody = fc.record(
        {
          inputs: fc.array(tensorInput, { maxLength: 2 }),
          outputs: fc.array(
            fc.record({
              name: fc.constantFrom('scores', 'classes', 'labels', 'x'),
              parameters: fc.record({ classification: fc.integer({ min: -1, max: 30 }) }),
            }),
            { maxLength: 3 },
          ),
          parameters: fc.record(
            {
              slo_ms: fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.string({ maxLength: 3 })),
              top_k: fc.integer({ min: -1, max: 50 }),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(oipBody, fc.constantFrom(SMALL_VARIANT, TASK, 'spillway'), async (body, name) => {
          const r = await call(stack.url, `/v2/models/${name}/infer`, { headers: H, body });
          expect(
            r.status === 200 || (r.status >= 400 && r.status < 500),
            `${r.status} ${JSON.stringify(r.body)}`,
          ).toBe(true);
          if (r.status !== 200) expect((r.body as { error: string }).error).toMatch(/\S/);
        }),
        { numRuns: 80 },
      );
      const attr = fc.array(
        fc.tuple(
          fc.constantFrom('slo_ms', 'min_accuracy', 'top_k', 'budget_ms', 'zz', ''),
          fc.string({ maxLength: 6 }),
        ),
        { maxLength: 4 },
      );
      await fc.assert(
        fc.asyncProperty(
          attr,
          fc.constantFrom('image/jpeg', 'application/json', 'text/plain', ''),
          async (pairs, contentType) => {
            const r = await fetch(new URL(`/endpoints/${TASK}/invocations`, stack.url), {
              method: 'POST',
              headers: {
                ...H,
                'content-type': contentType,
                'x-amzn-sagemaker-custom-attributes': pairs
                  .map(([k, v]) => `${k}=${v}`)
                  .join(',')
                  .replace(/[^\x20-\x7e]/g, ''),
              },
              body: contentType === 'application/json' ? '{"input":{"image":"AAAA"}}' : CAT,
            });
            const text = await r.text();
            // A tiny but feasible slo_ms (2 ms: the synthetic models of a clone without ../shared
            // run in ~1 ms) can find no free slot: 503 ServiceUnavailable with Retry-After is then
            // the right answer. Never a 500, never a 4xx of another type.
            expect(r.status === 200 || r.status === 503 || (r.status >= 400 && r.status < 500), `${r.status} ${text}`).toBe(true);
            if (r.status === 503) {
              expect(r.headers.get('x-amzn-errortype')).toBe('ServiceUnavailable');
              expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
            } else if (r.status !== 200) expect(r.headers.get('x-amzn-errortype')).toBe('ValidationError');
          },
        ),
        { numRuns: 60 },
      );
      expect((await call(stack.url, '/v2/health/live')).status).toBe(200);
    }, 120_000);

    it('health is open, everything else needs the key (x-api-key or Bearer)', async () => {
      expect((await call(stack.url, '/v2/health/live')).status).toBe(200);
      expect((await call(stack.url, '/v2/health/ready')).status).toBe(200);
      const noKey = await call(stack.url, `/v2/models/${SMALL_VARIANT}`);
      expect(noKey.status).toBe(401);
      expect(noKey.body).toEqual({ error: expect.stringMatching(/API key/) });
      const unknownNoKey = await call(stack.url, '/v2/models/whatever/else/entirely');
      expect(unknownNoKey.status).toBe(401);
      const bearer = await call(stack.url, '/v2', { headers: { authorization: `Bearer ${API_KEY}` } });
      expect(bearer.status).toBe(200);
      const smNoKey = await call(stack.url, `/endpoints/${SMALL_VARIANT}/invocations`, { rawBody: 'x' });
      expect(smNoKey.status).toBe(401);
      expect(smNoKey.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    });

    it('JSON infer with a tensor: one output per requested name, shapes [N,k], batch rows dispatched', async () => {
      const m = await meta();
      const spec = m.inputs[0]!;
      const shape = spec.shape.map((d) => (d === -1 ? 2 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: n }, (_, i) => (spec.datatype === 'UINT8' ? i % 256 : Math.sin(i)));
      const r = await call(stack.url, `/v2/models/${SMALL_VARIANT}/versions/1/infer`, {
        headers: H,
        body: {
          id: 'req-1',
          parameters: { top_k: 3 },
          inputs: [{ name: spec.name, datatype: spec.datatype, shape, data }],
          outputs: [{ name: 'classes' }, { name: 'scores' }],
        },
      });
      expect(r.status).toBe(200);
      const body = r.body as {
        id: string;
        outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
      };
      expect(body.id).toBe('req-1');
      expect(body.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
        ['classes', 'INT64', [2, 3]],
        ['scores', 'FP32', [2, 3]],
      ]);
      expect(body.outputs[0]!.data).toHaveLength(6);
    });

    it('errors name the field: bad datatype, shape mismatch, data count, unknown output, unknown model, bad version', async () => {
      const m = await meta();
      const spec = m.inputs[0]!;
      const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      const infer = (body: unknown, name = SMALL_VARIANT) =>
        call(stack.url, `/v2/models/${name}/infer`, { headers: H, body });
      const inp = (o: Record<string, unknown>) => ({
        inputs: [{ name: spec.name, datatype: spec.datatype, shape, data: new Array(n).fill(0), ...o }],
      });
      const cases: Array<[unknown, number, RegExp]> = [
        [
          inp({ datatype: 'FP33' }),
          400,
          /inputs\.0\.datatype: datatype 'FP33' is not an Open Inference Protocol datatype/,
        ],
        [inp({ datatype: 'INT64' }), 400, /inputs\.0\.datatype: datatype 'INT64' is not supported/],
        [
          inp({ datatype: spec.datatype === 'FP32' ? 'UINT8' : 'FP32' }),
          400,
          /inputs\.0\.datatype: model .* takes /,
        ],
        [
          inp({ shape: [...shape.slice(0, -1), shape.at(-1)! + 1] }),
          400,
          /inputs\.0\.shape: model .* takes \[-?1?/,
        ],
        [inp({ data: [1, 2, 3] }), 400, new RegExp(`inputs\\.0\\.data: shape .* needs ${n} values, got 3`)],
        [inp({ data: ['a'] }), 400, /inputs\.0\.data: element 0 must be a number/],
        [
          inp({ shape: [99, ...shape.slice(1)] }),
          400,
          /inputs\.0\.shape: batch dimension .* 1\.\.16, got 99/,
        ],
        [inp({ name: 'nope' }), 400, /inputs\.0\.name: model .* has input/],
        [{ ...inp({}), outputs: [{ name: 'logits?' }] }, 400, /outputs\.0\.name: unknown output 'logits\?'/],
        [{ ...inp({}), parameters: { slo_ms: 'fast' } }, 400, /parameters\.slo_ms/],
        [{ inputs: [] }, 400, /inputs/],
      ];
      for (const [body, status, re] of cases) {
        const r = await infer(body);
        expect({ status: r.status, body: r.body }).toEqual({
          status,
          body: { error: expect.stringMatching(re) },
        });
      }
      const unknown = await infer(inp({}), 'no-such-model');
      expect(unknown.status).toBe(404);
      expect((unknown.body as { error: string }).error).toMatch(
        /unknown model 'no-such-model'; served models: .*; model-less tasks: image-classification/,
      );
      const version = await call(stack.url, `/v2/models/${SMALL_VARIANT}/versions/7`, { headers: H });
      expect(version.status).toBe(404);
      expect((version.body as { error: string }).error).toMatch(/model_version/);
      const badJson = await call(stack.url, `/v2/models/${SMALL_VARIANT}/infer`, {
        headers: H,
        rawBody: '{"inputs": [',
      });
      expect(badJson.status).toBe(400);
      const wrongMethod = await call(stack.url, `/v2/models/${SMALL_VARIANT}/infer`, { headers: H });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('POST');
    });

    it('binary-tensor extension: the header length must fit, the declared size must match the bytes', async () => {
      const m = await meta();
      const spec = m.inputs[0]!;
      const send = (json: unknown, tail: Buffer, headerLength?: string) => {
        const head = Buffer.from(JSON.stringify(json));
        return fetch(new URL(`/v2/models/${SMALL_VARIANT}/infer`, stack.url), {
          method: 'POST',
          headers: {
            ...H,
            'content-type': 'application/octet-stream',
            'inference-header-content-length': headerLength ?? String(head.length),
          },
          body: Buffer.concat([head, tail]),
        });
      };
      const img = Buffer.alloc(4);
      img.writeUInt32LE(CAT.length);
      const ok = await send(
        {
          inputs: [
            {
              name: 'image',
              datatype: 'BYTES',
              shape: [1],
              parameters: { binary_data_size: CAT.length + 4 },
            },
          ],
          outputs: [{ name: 'classes', parameters: { binary_data: true } }],
        },
        Buffer.concat([img, CAT]),
      );
      expect(ok.status).toBe(200);
      const raw = Buffer.from(await ok.arrayBuffer());
      const hl = Number(ok.headers.get('inference-header-content-length'));
      const header = JSON.parse(raw.subarray(0, hl).toString()) as {
        outputs: Array<{ shape: number[]; parameters: { binary_data_size: number } }>;
      };
      expect(header.outputs[0]!.shape).toEqual([1, 5]);
      expect(header.outputs[0]!.parameters.binary_data_size).toBe(40);
      const classes = new BigInt64Array(
        raw.subarray(hl).buffer.slice(raw.byteOffset + hl, raw.byteOffset + raw.length),
      );
      expect(classes).toHaveLength(5);

      const mismatch = await send(
        {
          inputs: [
            {
              name: spec.name,
              datatype: spec.datatype,
              shape: [1, 1],
              parameters: { binary_data_size: 999 },
            },
          ],
        },
        Buffer.alloc(10),
      );
      expect(mismatch.status).toBe(400);
      expect(((await mismatch.json()) as { error: string }).error).toMatch(
        /binary_data_size: 999 bytes declared, 10 bytes follow/,
      );
      const badHeader = await send({ inputs: [] }, Buffer.alloc(0), '99999');
      expect(badHeader.status).toBe(400);
      expect(((await badHeader.json()) as { error: string }).error).toMatch(
        /^Inference-Header-Content-Length: /,
      );
    });

    it('SageMaker: raw image, wrong Accept, too-long custom attributes answer in the SageMaker shape', async () => {
      const url = new URL(`/endpoints/${TASK}/invocations`, stack.url);
      const ok = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${API_KEY}`,
          'content-type': 'image/jpeg',
          'x-amzn-sagemaker-custom-attributes': 'slo_ms=15000; top_k=1',
        },
        body: CAT,
      });
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { model: string; sloMs: number; predictions: unknown[] };
      expect(ok.headers.get('x-amzn-invoked-production-variant')).toBe(body.model);
      expect(body.sloMs).toBe(15000);
      expect(body.predictions).toHaveLength(1);
      const csv = await fetch(url, {
        method: 'POST',
        headers: { ...H, 'content-type': 'image/jpeg', accept: 'text/csv' },
        body: CAT,
      });
      expect(csv.status).toBe(400);
      expect(csv.headers.get('x-amzn-errortype')).toBe('ValidationError');
      expect(((await csv.json()) as { message: string }).message).toMatch(/^Accept: /);
      const attr = await fetch(url, {
        method: 'POST',
        headers: {
          ...H,
          'content-type': 'image/jpeg',
          'x-amzn-sagemaker-custom-attributes': 'min_accuracy=101',
        },
        body: CAT,
      });
      expect(((await attr.json()) as { message: string }).message).toMatch(
        /min_accuracy must be a number in 0\.\.100/,
      );
      const tensor = await fetch(new URL(`/endpoints/${SMALL_VARIANT}/invocations`, stack.url), {
        method: 'POST',
        headers: { ...H, 'content-type': 'application/json' },
        body: JSON.stringify({ dtype: 'float32', shape: [1], data: [1], extra: 1 }),
      });
      expect(tensor.status).toBe(400);
      expect(tensor.headers.get('x-amzn-errortype')).toBe('ValidationError');
    });
  });
});
