import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaPool } from '../../controller/aws/lambda-pool.js';
import { MemoryUpdateDeferredError } from '../../controller/aws/errors.js';
import {
  BackendResponseError,
  BackendTimeoutError,
  BackendUnavailableError,
  ConfigError,
  ThrottledError,
} from '../../controller/errors.js';
import type { BackendInferResponse } from '../../functions/engine/protocol.js';
import { lambdaEnvelope, reportTail, type StandIn, startStandIn } from './lambda-api-stand-in.js';
import {
  createMotoRole,
  MOTO_CREDENTIALS,
  type Moto,
  motoAvailable,
  startMoto,
  uniqueName,
  zipOneFile,
} from './moto.js';

const request = { model: 'tiny', inputs: [{ tensor: { dtype: 'float32' as const, shape: [1], data: [0] } }] };

function okBody(coldStart: boolean): BackendInferResponse {
  return {
    model: 'tiny',
    weights: 'real',
    outputs: [{ top: [{ index: 3, label: 'tabby', score: 0.9 }] }],
    timings: { queueMs: 0, preprocessMs: 1, inferenceMs: 4, batchSize: 1 },
    backend: { kind: 'lambda', id: 'fn-1', coldStart },
  };
}

describe('LambdaPool against a stand-in Lambda API server (mock of the AWS service, real HTTP)', () => {
  let s: StandIn;
  let clock = 1_000_000;
  const pool = () =>
    new LambdaPool({
      endpoint: s.endpoint,
      credentials: MOTO_CREDENTIALS,
      backoff: { baseMs: 1, capMs: 5 },
      now: () => clock,
    });

  beforeAll(async () => {
    s = await startStandIn();
  });
  afterAll(async () => {
    await s.close();
  });

  it('parses {statusCode, headers, body}; billed duration, memory and cold start from the REPORT tail', async () => {
    s.queue.push({
      status: 200,
      headers: { 'x-amz-log-result': reportTail({ billedMs: 37, memoryMb: 1769, initMs: 812.5 }) },
      body: lambdaEnvelope(200, okBody(true)),
    });
    const r = await pool().invoke('tiny', request, 5000);
    expect(r.response.outputs[0]?.top[0]?.label).toBe('tabby');
    expect(r.coldStart).toBe(true);
    expect(r.billedDurationMs).toBe(37);
    expect(r.memoryMb).toBe(1769);
    const last = s.calls.at(-1);
    expect(last?.functionName).toBe('spillway-tiny');
    expect(last?.payload).toEqual(request);
  });

  it('falls back to the measured duration when there is no REPORT line', async () => {
    s.queue.push({ status: 200, body: lambdaEnvelope(200, okBody(false)) });
    const r = await pool().invoke('tiny', request, 5000);
    expect(r.coldStart).toBe(false);
    expect(r.billedDurationMs).toBeGreaterThanOrEqual(1);
  });

  it('429 TooManyRequestsException -> ThrottledError without retrying', async () => {
    const before = s.calls.length;
    s.queue.push({
      status: 429,
      headers: { 'x-amzn-errortype': 'TooManyRequestsException' },
      body: JSON.stringify({ Type: 'User', message: 'Rate Exceeded.', Reason: 'ConcurrentInvocationLimitExceeded' }),
    });
    await expect(pool().invoke('tiny', request, 5000)).rejects.toBeInstanceOf(ThrottledError);
    expect(s.calls.length - before).toBe(1);
  });

  it('retries AWS 5xx with backoff and succeeds on the third attempt', async () => {
    const before = s.calls.length;
    const err = { headers: { 'x-amzn-errortype': 'ServiceException' }, body: '{"message":"boom"}' };
    s.queue.push({ status: 500, ...err }, { status: 502, ...err }, { status: 200, body: lambdaEnvelope(200, okBody(false)) });
    const r = await pool().invoke('tiny', request, 5000);
    expect(r.response.model).toBe('tiny');
    expect(s.calls.length - before).toBe(3);
  });

  it('gives up after maxAttempts 5xx with BackendUnavailableError', async () => {
    const err = { headers: { 'x-amzn-errortype': 'ServiceException' }, body: '{"message":"boom"}' };
    s.queue.push({ status: 500, ...err }, { status: 500, ...err });
    const p = new LambdaPool({ endpoint: s.endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 2, backoff: { baseMs: 1 } });
    await expect(p.invoke('tiny', request, 5000)).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('handler 4xx -> BackendResponseError with the ErrorBody, not retried', async () => {
    const before = s.calls.length;
    const body = { error: { code: 'invalid_request', message: 'inputs: at most 16', field: 'inputs' } };
    s.queue.push({ status: 200, body: lambdaEnvelope(400, body) });
    const e = await pool()
      .invoke('tiny', request, 5000)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendResponseError);
    expect((e as BackendResponseError).status).toBe(400);
    expect((e as BackendResponseError).body).toEqual(body);
    expect(s.calls.length - before).toBe(1);
  });

  it('FunctionError (unhandled crash) -> BackendResponseError 502', async () => {
    s.queue.push({
      status: 200,
      headers: { 'x-amz-function-error': 'Unhandled' },
      body: JSON.stringify({ errorType: 'Error', errorMessage: 'out of memory' }),
    });
    const e = await pool()
      .invoke('tiny', request, 5000)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendResponseError);
    expect((e as BackendResponseError).status).toBe(502);
  });

  it('a body that is not a BackendInferResponse -> BackendResponseError 502', async () => {
    s.queue.push({ status: 200, body: JSON.stringify('Simple Lambda happy path OK') });
    await expect(pool().invoke('tiny', request, 5000)).rejects.toMatchObject({ status: 502 });
  });

  it('times out with BackendTimeoutError when the function holds the answer', async () => {
    s.queue.push({ status: 200, body: lambdaEnvelope(200, okBody(false)), delayMs: 2000 });
    await expect(pool().invoke('tiny', request, 150)).rejects.toBeInstanceOf(BackendTimeoutError);
  });

  it('burst guard refuses setMemory while an invoke is in flight and while the recent rate is high', async () => {
    const p = pool();
    s.queue.push({ status: 200, body: lambdaEnvelope(200, okBody(false)), delayMs: 300 });
    const pending = p.invoke('burst', request, 5000);
    await new Promise((r) => setTimeout(r, 50));
    const inFlight = await p.setMemory('burst', 1024).catch((x: unknown) => x);
    expect(inFlight).toBeInstanceOf(MemoryUpdateDeferredError);
    expect((inFlight as MemoryUpdateDeferredError).reason).toMatch(/in flight/);
    await pending;
    expect(p.checkMemoryUpdate('burst')).toEqual({ allowed: true });

    // 25 invokes in the same instant: 2.5 rps over the 10 s window > 2 rps.
    for (let i = 0; i < 25; i++) s.queue.push({ status: 200, body: lambdaEnvelope(200, okBody(false)) });
    for (let i = 0; i < 25; i++) await p.invoke('burst', request, 5000);
    const busy = p.checkMemoryUpdate('burst');
    expect(busy.allowed).toBe(false);
    expect(busy.allowed ? '' : busy.reason).toMatch(/recent rate 2\.60 rps/);
    clock += 11_000;
    expect(p.checkMemoryUpdate('burst')).toEqual({ allowed: true });
  });

  it('rejects bad arguments with a ConfigError naming the value', async () => {
    await expect(pool().setMemory('tiny', 64)).rejects.toThrow(/128\.\.10240, got 64/);
    await expect(pool().invoke('tiny', request, 0)).rejects.toBeInstanceOf(ConfigError);
    expect(() => new LambdaPool({ maxAttempts: 0 })).toThrow(/maxAttempts/);
  });
});

describe.skipIf(!motoAvailable)('LambdaPool against moto (CreateFunction, memory update, describe)', () => {
  let moto: Moto;
  let client: LambdaClient;
  let prefix: string;

  beforeAll(async () => {
    moto = await startMoto();
    client = new LambdaClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    prefix = `${uniqueName('sw')}-`;
    const role = await createMotoRole(moto.endpoint, uniqueName('spillway-fn-role'));
    await client.send(
      new CreateFunctionCommand({
        FunctionName: `${prefix}mobilenet`,
        Runtime: 'nodejs22.x',
        Role: role,
        Handler: 'index.handler',
        MemorySize: 512,
        Code: { ZipFile: zipOneFile('index.mjs', 'export const handler = async () => ({ statusCode: 200 });') },
      }),
    );
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it('describe() reads the function configuration', async () => {
    const pool = new LambdaPool({ endpoint: moto.endpoint, functionPrefix: prefix, variants: ['mobilenet'] });
    const [fn] = await pool.describe();
    expect(fn).toMatchObject({ variant: 'mobilenet', functionName: `${prefix}mobilenet`, memoryMb: 512 });
    expect(fn?.state).toBe('Active');
  });

  it('setMemory updates the function and waits for the update; describe shows it', async () => {
    const pool = new LambdaPool({ endpoint: moto.endpoint, functionPrefix: prefix, variants: ['mobilenet'] });
    await pool.setMemory('mobilenet', 1769);
    const [fn] = await pool.describe();
    expect(fn?.memoryMb).toBe(1769);
  });

  it('invoking a function that does not exist -> BackendUnavailableError (ResourceNotFound)', async () => {
    const pool = new LambdaPool({ endpoint: moto.endpoint, functionPrefix: prefix });
    await expect(pool.invoke('no-such-variant', request, 5000)).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('reserved concurrency is applied', async () => {
    const pool = new LambdaPool({ endpoint: moto.endpoint, functionPrefix: prefix });
    await pool.setReservedConcurrency('mobilenet', 7);
    const { GetFunctionConcurrencyCommand } = await import('@aws-sdk/client-lambda');
    const out = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: `${prefix}mobilenet` }));
    expect(out.ReservedConcurrentExecutions).toBe(7);
  });
});
