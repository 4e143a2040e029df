/**
 * Local Lambda runtime running the REAL handler (functions/lambda/handler.ts, real onnxruntime
 * inference) behind the unchanged @aws-sdk/client-lambda. Uses a real pretrained model and a
 * sample photo when the model file is present, else a synthetic variant (shape checks only).
 */
import { readFileSync } from 'node:fs';
import { InvokeCommand, ListFunctionsCommand, UpdateFunctionConfigurationCommand, waitUntilFunctionUpdatedV2 } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from '../../controller/local/lambda-runtime/index.js';
import { BackendInferResponseSchema } from '../../functions/engine/protocol.js';
import { loadRegistry } from '../../functions/engine/registry.js';
import { decode, isAlive, lambdaClient, parseReport, pickTestVariant, samplePhoto, waitFor } from './helpers.js';

const photo = samplePhoto();

describe.skipIf(!photo)('local Lambda runtime with the real handler', () => {
  let rt: LocalLambdaRuntime;
  let variant = '';
  let real = false;
  let fn = '';
  const pids = new Set<number>();
  const image = photo ? readFileSync(photo.path).toString('base64') : '';

  beforeAll(async () => {
    ({ variant, real } = await pickTestVariant());
    fn = `spillway-${variant}`;
    rt = await startLocalLambdaRuntime({
      functions: [
        { functionName: fn, variant, memoryMb: 1769 },
        { functionName: 'spillway-broken', variant: 'no-such-variant', memoryMb: 512 },
      ],
      keepAliveMs: 60_000,
    });
  });

  afterAll(async () => {
    for (const p of rt.stats().liveWorkerPids) pids.add(p);
    await rt.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });

  const invoke = async (payload: unknown) => {
    const out = await lambdaClient(rt.endpoint).send(
      new InvokeCommand({ FunctionName: fn, Payload: JSON.stringify(payload), LogType: 'Tail' }),
    );
    for (const p of rt.stats().liveWorkerPids) pids.add(p);
    return out;
  };

  it('Invoke returns a prediction from the real handler: cold first (Init Duration), then warm', async () => {
    const first = await invoke({ model: variant, inputs: [{ image }], topK: 3 });
    expect(first.FunctionError).toBeUndefined();
    const http = decode(first.Payload) as { statusCode: number; body: string };
    expect(http.statusCode).toBe(200);
    const res = BackendInferResponseSchema.parse(JSON.parse(http.body));
    expect(res.model).toBe(variant);
    expect(res.backend).toMatchObject({ kind: 'lambda', coldStart: true });
    expect(res.outputs[0]?.top).toHaveLength(3);
    if (real) {
      expect(res.weights).toBe('real');
      expect(res.outputs[0]?.top[0]?.label).toBe(photo?.label);
    } else {
      expect(res.weights).toBe('synthetic');
    }
    expect(parseReport(first.LogResult).initMs).toBeGreaterThan(0);

    const second = await invoke({ model: variant, inputs: [{ image }], topK: 3 });
    const res2 = BackendInferResponseSchema.parse(JSON.parse((decode(second.Payload) as { body: string }).body));
    expect(res2.backend.coldStart).toBe(false);
    expect(res2.backend.id).toBe(res.backend.id);
    expect(res2.outputs[0]?.top[0]?.index).toBe(res.outputs[0]?.top[0]?.index);
    expect(parseReport(second.LogResult).initMs).toBeUndefined();
  });

  it('a handler whose module init fails (unknown SPILLWAY_VARIANT) -> FunctionError Unhandled, instance discarded', async () => {
    const out = await lambdaClient(rt.endpoint).send(new InvokeCommand({ FunctionName: 'spillway-broken', Payload: '{}', LogType: 'Tail' }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const err = decode(out.Payload) as { errorType: string; errorMessage: string };
    expect(err.errorMessage).toContain('no-such-variant');
    expect(parseReport(out.LogResult).initMs).toBeGreaterThan(0);
    const f = rt.stats().functions.find((x) => x.functionName === 'spillway-broken');
    expect(f).toMatchObject({ invocations: 1, errors: 1, coldStarts: 1 });
    await waitFor(() => rt.stats().functions.find((x) => x.functionName === 'spillway-broken')?.instances.starting === 0, 5_000, 'discard');
  });

  it('a bad request is the handler`s 400 reply, not a function error', async () => {
    const out = await invoke({ model: variant, inputs: [] });
    expect(out.FunctionError).toBeUndefined();
    const http = decode(out.Payload) as { statusCode: number; body: string };
    expect(http.statusCode).toBe(400);
    expect(JSON.parse(http.body)).toMatchObject({ error: { field: expect.stringContaining('inputs') } });
  });

  it('new memory size applies to the next (cold) instance; the old warm one retires', async () => {
    const before = rt.stats().liveWorkerPids;
    const c = lambdaClient(rt.endpoint);
    await c.send(new UpdateFunctionConfigurationCommand({ FunctionName: fn, MemorySize: 512 }));
    await waitUntilFunctionUpdatedV2({ client: c, maxWaitTime: 30, minDelay: 1 }, { FunctionName: fn });
    const out = await invoke({ model: variant, inputs: [{ image }] });
    const r = parseReport(out.LogResult);
    expect(r.memoryMb).toBe(512);
    expect(r.initMs).toBeGreaterThan(0);
    const res = BackendInferResponseSchema.parse(JSON.parse((decode(out.Payload) as { body: string }).body));
    expect(res.backend.coldStart).toBe(true);
    for (const pid of before) await waitFor(() => !isAlive(pid), 5_000, `old instance ${pid} to retire`);
    const s = rt.stats().functions[0];
    expect(s?.memoryMb).toBe(512);
    expect(s?.coldStarts).toBe(2);
  });
});

describe('local Lambda runtime defaults', () => {
  it('with no functions given, serves one function per registry variant named spillway-<variant>', async () => {
    const rt = await startLocalLambdaRuntime();
    try {
      const list = await lambdaClient(rt.endpoint).send(new ListFunctionsCommand({}));
      const names = (list.Functions ?? []).map((f) => f.FunctionName).sort();
      expect(names).toEqual(loadRegistry().variants().map((v) => `spillway-${v.name}`).sort());
      expect(rt.stats().liveWorkerPids).toEqual([]); // nothing starts before the first invocation
    } finally {
      await rt.close();
    }
  });
});

describe.skipIf(!photo)('AWS LambdaPool (controller/aws) against the local runtime, unchanged', () => {
  it('setMemory waits for the update, invoke reports cold start/billing/memory, reserved 0 -> ThrottledError', async () => {
    const { LambdaPool } = await import('../../controller/aws/lambda-pool.js');
    const { ThrottledError } = await import('../../controller/errors.js');
    const { variant } = await pickTestVariant();
    const rt = await startLocalLambdaRuntime({ functions: [{ functionName: `spillway-${variant}`, variant, memoryMb: 1769 }] });
    const seen = new Set<number>();
    try {
      const pool = new LambdaPool({ endpoint: rt.endpoint, region: 'us-east-1', variants: [variant] });
      await pool.setMemory(variant, 1024);
      expect(await pool.describe()).toEqual([{ variant, functionName: `spillway-${variant}`, memoryMb: 1024, state: 'Active' }]);
      const image = readFileSync(photo?.path ?? '').toString('base64');
      const first = await pool.invoke(variant, { model: variant, inputs: [{ image }] }, 30_000);
      for (const p of rt.stats().liveWorkerPids) seen.add(p);
      expect(first.coldStart).toBe(true);
      expect(first.memoryMb).toBe(1024);
      expect(first.response.backend.kind).toBe('lambda');
      const s = rt.stats().functions[0];
      expect(first.billedDurationMs).toBe(s?.billedMs);
      const second = await pool.invoke(variant, { model: variant, inputs: [{ image }] }, 30_000);
      expect(second.coldStart).toBe(false);
      await pool.setReservedConcurrency(variant, 0);
      await expect(pool.invoke(variant, { model: variant, inputs: [{ image }] }, 30_000)).rejects.toBeInstanceOf(ThrottledError);
    } finally {
      await rt.close();
    }
    for (const pid of seen) expect(isAlive(pid)).toBe(false);
  });
});
