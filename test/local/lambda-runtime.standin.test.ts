/**
 * Local Lambda runtime driven by the unchanged @aws-sdk/client-lambda, with the stand-in handler
 * (test/local/fixtures/stand-in-handler.ts) so the runtime's own semantics can be forced: crashes,
 * exits, hangs, slow requests. Real child processes, real HTTP on loopback.
 */
import {
  GetFunctionCommand,
  InvokeCommand,
  ListFunctionsCommand,
  PutFunctionConcurrencyCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  TooManyRequestsException,
  InvalidParameterValueException,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from '../../controller/local/lambda-runtime/index.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { lambdaThreadsForMemory } from '../../profiles/pricing.js';
import { decode, isAlive, lambdaClient, parseReport, STAND_IN_HANDLER, waitFor } from './helpers.js';

interface StandInBody {
  variant: string;
  threads: number;
  memoryMb: number;
  pid: number;
  calls: number;
  echo: unknown;
}
const bodyOf = (payload: Uint8Array | undefined): StandInBody => {
  const r = decode(payload) as { statusCode: number; body: string };
  expect(r.statusCode).toBe(200);
  return JSON.parse(r.body) as StandInBody;
};

describe('local Lambda runtime with the stand-in handler', () => {
  let rt: LocalLambdaRuntime;
  const pids = new Set<number>();

  beforeAll(async () => {
    rt = await startLocalLambdaRuntime({
      handlerModule: STAND_IN_HANDLER,
      keepAliveMs: 60_000,
      accountConcurrencyLimit: 3,
      updateDelayMs: 200,
      functions: [
        { functionName: 'spillway-a', variant: 'variant-a', memoryMb: 1769 },
        { functionName: 'spillway-reserved', variant: 'variant-r', memoryMb: 512, reservedConcurrency: 1 },
        { functionName: 'spillway-slow', variant: 'variant-s', memoryMb: 1024, timeoutMs: 800 },
        { functionName: 'spillway-b', variant: 'variant-b', memoryMb: 512 },
      ],
    });
  });

  afterAll(async () => {
    for (const p of rt.stats().liveWorkerPids) pids.add(p);
    await rt.close();
    // No orphans: every instance process the runtime ever reported is gone.
    for (const pid of pids) expect(isAlive(pid), `worker ${pid} still alive after close()`).toBe(false);
  });

  it('stand-in handler: Invoke is cold first (REPORT with Init Duration) then warm on the same instance', async () => {
    const c = lambdaClient(rt.endpoint);
    const first = await c.send(new InvokeCommand({ FunctionName: 'spillway-a', Payload: JSON.stringify({ echo: 1 }), LogType: 'Tail' }));
    expect(first.StatusCode).toBe(200);
    expect(first.FunctionError).toBeUndefined();
    expect(first.ExecutedVersion).toBe('$LATEST');
    const b1 = bodyOf(first.Payload);
    pids.add(b1.pid);
    expect(b1).toMatchObject({ variant: 'variant-a', threads: lambdaThreadsForMemory(loadCatalog(), 1769), memoryMb: 1769, echo: 1, calls: 1 });
    const r1 = parseReport(first.LogResult);
    expect(r1.initMs).toBeGreaterThan(0);
    expect(r1.memoryMb).toBe(1769);
    // Init is billed (AWS bills on-demand INIT since Aug 2025): billed >= init + duration, rounded up to 1 ms.
    // (REPORT prints 2 decimals, hence the 0.02 ms slack.)
    const rawMs = r1.durationMs + (r1.initMs ?? 0);
    expect(r1.billedMs).toBeGreaterThanOrEqual(rawMs - 0.02);
    expect(r1.billedMs).toBeLessThanOrEqual(rawMs + 1.02);

    const second = await c.send(new InvokeCommand({ FunctionName: 'spillway-a', Payload: JSON.stringify({ echo: 2 }), LogType: 'Tail' }));
    const b2 = bodyOf(second.Payload);
    expect(b2.pid).toBe(b1.pid);
    expect(b2.calls).toBe(2);
    const r2 = parseReport(second.LogResult);
    expect(r2.initMs).toBeUndefined();
    const tail = Buffer.from(second.LogResult ?? '', 'base64').toString('utf8');
    expect(tail).toContain('stand-in call 2');
    expect(tail).toMatch(/^START RequestId: [0-9a-f-]+ Version: \$LATEST/);
  });

  it('stand-in handler: GB-s in stats() equals memory x billed duration summed over the REPORT lines', async () => {
    const c = lambdaClient(rt.endpoint);
    const before = rt.stats().functions.find((f) => f.functionName === 'spillway-b');
    expect(before?.invocations).toBe(0);
    let expectedGbS = 0;
    let expectedBilled = 0;
    for (let i = 0; i < 4; i++) {
      const out = await c.send(
        new InvokeCommand({ FunctionName: 'spillway-b', Payload: JSON.stringify({ sleepMs: 20 * i }), LogType: 'Tail' }),
      );
      pids.add(bodyOf(out.Payload).pid);
      const r = parseReport(out.LogResult);
      expectedBilled += r.billedMs;
      expectedGbS += (r.memoryMb / 1024) * (r.billedMs / 1000);
    }
    const f = rt.stats().functions.find((x) => x.functionName === 'spillway-b');
    expect(f?.invocations).toBe(4);
    expect(f?.coldStarts).toBe(1);
    expect(f?.billedMs).toBe(expectedBilled);
    expect(f?.gbSeconds).toBeCloseTo(expectedGbS, 9);
    const s = rt.stats();
    expect(f?.dollars).toBeCloseTo(expectedGbS * s.pricePerGbSecondUsd + (4 * s.pricePerMillionRequestsUsd) / 1e6, 12);
    // The same figures over HTTP for dashboards.
    const http = (await (await fetch(`${rt.endpoint}/spillway/stats`)).json()) as typeof s;
    expect(http.functions.find((x) => x.functionName === 'spillway-b')?.gbSeconds).toBeCloseTo(expectedGbS, 9);
  });

  it('stand-in handler: a handler that throws -> FunctionError Unhandled with a Lambda-shaped error payload', async () => {
    const c = lambdaClient(rt.endpoint);
    const out = await c.send(new InvokeCommand({ FunctionName: 'spillway-a', Payload: JSON.stringify({ crash: true }) }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const err = decode(out.Payload) as { errorType: string; errorMessage: string; trace: string[] };
    expect(err.errorType).toBe('TypeError');
    expect(err.errorMessage).toBe('stand-in crash requested');
    expect(Array.isArray(err.trace)).toBe(true);
    // The instance survives a thrown error (as in Lambda) and keeps serving.
    const ok = await c.send(new InvokeCommand({ FunctionName: 'spillway-a', Payload: '{}' }));
    expect(ok.FunctionError).toBeUndefined();
  });

  it('stand-in handler: an answer over 6 MB -> Function.ResponseSizeTooLarge (a function error, as on AWS)', async () => {
    const c = lambdaClient(rt.endpoint);
    const out = await c.send(new InvokeCommand({ FunctionName: 'spillway-a', Payload: JSON.stringify({ bigBytes: 6 * 1024 * 1024 + 10 }) }));
    expect(out.FunctionError).toBe('Unhandled');
    expect((decode(out.Payload) as { errorType: string }).errorType).toBe('Function.ResponseSizeTooLarge');
  });

  it('stand-in handler: a process exit mid-invocation -> Runtime.ExitError and the next call is cold', async () => {
    const c = lambdaClient(rt.endpoint);
    const out = await c.send(new InvokeCommand({ FunctionName: 'spillway-b', Payload: JSON.stringify({ exit: 3 }) }));
    expect(out.FunctionError).toBe('Unhandled');
    const err = decode(out.Payload) as { errorType: string; errorMessage: string };
    expect(err.errorType).toBe('Runtime.ExitError');
    expect(err.errorMessage).toContain('exit status 3');
    const next = await c.send(new InvokeCommand({ FunctionName: 'spillway-b', Payload: '{}', LogType: 'Tail' }));
    pids.add(bodyOf(next.Payload).pid);
    expect(parseReport(next.LogResult).initMs).toBeGreaterThan(0);
  });

  it('stand-in handler: timeout -> "Task timed out", the instance is killed, billed at the timeout', async () => {
    const c = lambdaClient(rt.endpoint);
    const warm = await c.send(new InvokeCommand({ FunctionName: 'spillway-slow', Payload: '{}' }));
    const pid = bodyOf(warm.Payload).pid;
    pids.add(pid);
    const out = await c.send(new InvokeCommand({ FunctionName: 'spillway-slow', Payload: JSON.stringify({ sleepMs: 10_000 }), LogType: 'Tail' }));
    expect(out.FunctionError).toBe('Unhandled');
    const err = decode(out.Payload) as { errorType: string; errorMessage: string };
    expect(err.errorType).toBe('Sandbox.Timedout');
    expect(err.errorMessage).toMatch(/Task timed out after 0\.80 seconds/);
    expect(parseReport(out.LogResult).billedMs).toBe(800);
    await waitFor(() => !isAlive(pid), 5_000, 'the timed-out instance to die');
    expect(rt.stats().functions.find((f) => f.functionName === 'spillway-slow')?.timeouts).toBe(1);
  });

  it('stand-in handler: reserved concurrency exhausted -> SDK throws TooManyRequestsException (Reserved...)', async () => {
    const c = lambdaClient(rt.endpoint);
    const slow = c.send(new InvokeCommand({ FunctionName: 'spillway-reserved', Payload: JSON.stringify({ sleepMs: 1500 }) }));
    await waitFor(() => rt.stats().functions.find((f) => f.functionName === 'spillway-reserved')?.inFlight === 1, 10_000, 'in flight');
    const err = await c.send(new InvokeCommand({ FunctionName: 'spillway-reserved', Payload: '{}' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRequestsException);
    expect((err as TooManyRequestsException).Reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded');
    expect((err as TooManyRequestsException).$metadata.httpStatusCode).toBe(429);
    pids.add(bodyOf((await slow).Payload).pid);
    expect(rt.stats().functions.find((f) => f.functionName === 'spillway-reserved')?.throttles).toBe(1);
  });

  it('stand-in handler: account concurrency exhausted -> TooManyRequestsException (ConcurrentInvocationLimitExceeded)', async () => {
    // Account limit 3, 1 reserved for spillway-reserved -> 2 unreserved in flight at most.
    const c = lambdaClient(rt.endpoint);
    const held = [
      c.send(new InvokeCommand({ FunctionName: 'spillway-a', Payload: JSON.stringify({ sleepMs: 1500 }) })),
      c.send(new InvokeCommand({ FunctionName: 'spillway-b', Payload: JSON.stringify({ sleepMs: 1500 }) })),
    ];
    const inFlight = (): number => rt.stats().functions.reduce((a, f) => a + (f.reservedConcurrency === undefined ? f.inFlight : 0), 0);
    await waitFor(() => inFlight() === 2, 10_000, 'two unreserved in flight');
    const err = await c.send(new InvokeCommand({ FunctionName: 'spillway-a', Payload: '{}' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRequestsException);
    expect((err as TooManyRequestsException).Reason).toBe('ConcurrentInvocationLimitExceeded');
    for (const h of held) pids.add(bodyOf((await h).Payload).pid);
  });

  it('stand-in handler: UpdateFunctionConfiguration + waitUntilFunctionUpdatedV2 -> next cold instance gets the new memory and threads', async () => {
    const c = lambdaClient(rt.endpoint);
    const old = bodyOf((await c.send(new InvokeCommand({ FunctionName: 'spillway-b', Payload: '{}' }))).Payload);
    pids.add(old.pid);
    expect(old.threads).toBe(1);
    const upd = await c.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'spillway-b', MemorySize: 3538 }));
    expect(upd.MemorySize).toBe(3538);
    expect(upd.LastUpdateStatus).toBe('InProgress');
    // A second update while the first is in progress is refused, as on AWS.
    const busy = await c.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'spillway-b', MemorySize: 1024 })).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ResourceConflictException);
    const w = await waitUntilFunctionUpdatedV2({ client: c, maxWaitTime: 30, minDelay: 1 }, { FunctionName: 'spillway-b' });
    expect(w.state).toBe('SUCCESS');
    const cfg = await c.send(new GetFunctionCommand({ FunctionName: 'spillway-b' }));
    expect(cfg.Configuration?.MemorySize).toBe(3538);
    expect(cfg.Configuration?.LastUpdateStatus).toBe('Successful');

    const out = await c.send(new InvokeCommand({ FunctionName: 'spillway-b', Payload: '{}', LogType: 'Tail' }));
    const b = bodyOf(out.Payload);
    pids.add(b.pid);
    expect(b.pid).not.toBe(old.pid);
    expect(b.memoryMb).toBe(3538);
    expect(b.threads).toBe(lambdaThreadsForMemory(loadCatalog(), 3538));
    expect(b.threads).toBe(2);
    const r = parseReport(out.LogResult);
    expect(r.memoryMb).toBe(3538);
    expect(r.initMs).toBeGreaterThan(0);
    // The warm instance with the old size retires.
    await waitFor(() => !isAlive(old.pid), 5_000, 'the old-size instance to retire');
  });

  it('stand-in handler: API errors are the SDK exceptions Lambda sends', async () => {
    const c = lambdaClient(rt.endpoint);
    const nf = await c.send(new InvokeCommand({ FunctionName: 'spillway-missing', Payload: '{}' })).catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(ResourceNotFoundException);
    expect((nf as Error).message).toContain('function:spillway-missing');
    expect((nf as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);

    const bad = await c.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'spillway-a', MemorySize: 64 })).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidParameterValueException);
    expect((bad as Error).message).toContain('MemorySize 64');

    const tooMany = await c
      .send(new PutFunctionConcurrencyCommand({ FunctionName: 'spillway-a', ReservedConcurrentExecutions: 50 }))
      .catch((e: unknown) => e);
    expect(tooMany).toBeInstanceOf(InvalidParameterValueException);

    const list = await c.send(new ListFunctionsCommand({}));
    expect(list.Functions?.map((f) => f.FunctionName).sort()).toEqual(['spillway-a', 'spillway-b', 'spillway-reserved', 'spillway-slow']);
    // ARN form of the name works like on AWS.
    const byArn = await c.send(new GetFunctionCommand({ FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:spillway-a' }));
    expect(byArn.Configuration?.FunctionName).toBe('spillway-a');
  });
});

describe('local Lambda runtime memory enforcement (stand-in handler)', () => {
  it('stand-in handler: enforceMemory -> RSS above the memory size kills the instance with Runtime.OutOfMemory', async () => {
    const rt = await startLocalLambdaRuntime({
      handlerModule: STAND_IN_HANDLER,
      enforceMemory: true,
      functions: [{ functionName: 'spillway-m', variant: 'variant-m', memoryMb: 256 }],
    });
    try {
      const c = lambdaClient(rt.endpoint);
      const small = await c.send(new InvokeCommand({ FunctionName: 'spillway-m', Payload: '{}', LogType: 'Tail' }));
      expect(small.FunctionError).toBeUndefined();
      const pid = bodyOf(small.Payload).pid;
      const big = await c.send(new InvokeCommand({ FunctionName: 'spillway-m', Payload: JSON.stringify({ allocMb: 300 }) }));
      expect(big.FunctionError).toBe('Unhandled');
      expect((decode(big.Payload) as { errorType: string }).errorType).toBe('Runtime.OutOfMemory');
      await waitFor(() => !isAlive(pid), 5_000, 'the out-of-memory instance to die');
    } finally {
      await rt.close();
    }
  });
});

describe('local Lambda runtime keep-alive (stand-in handler)', () => {
  it('stand-in handler: an idle instance is reaped after keepAliveMs and the next call is cold', async () => {
    const rt = await startLocalLambdaRuntime({
      handlerModule: STAND_IN_HANDLER,
      keepAliveMs: 300,
      functions: [{ functionName: 'spillway-k', variant: 'variant-k', memoryMb: 256 }],
    });
    const seen: number[] = [];
    try {
      const c = lambdaClient(rt.endpoint);
      const first = bodyOf((await c.send(new InvokeCommand({ FunctionName: 'spillway-k', Payload: '{}' }))).Payload);
      seen.push(first.pid);
      expect(rt.stats().functions[0]?.instances.warm).toBe(1);
      await waitFor(() => !isAlive(first.pid), 5_000, 'the idle instance to be reaped');
      expect(rt.stats().functions[0]?.instances.warm).toBe(0);
      const again = await c.send(new InvokeCommand({ FunctionName: 'spillway-k', Payload: '{}', LogType: 'Tail' }));
      const b = bodyOf(again.Payload);
      seen.push(b.pid);
      expect(b.pid).not.toBe(first.pid);
      expect(parseReport(again.LogResult).initMs).toBeGreaterThan(0);
      expect(rt.stats().functions[0]?.coldStarts).toBe(2);
    } finally {
      await rt.close();
    }
    for (const pid of seen) expect(isAlive(pid)).toBe(false);
  });
});
