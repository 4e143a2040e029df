/**
 * Lambda configuration changes as AWS documents them, against the local Lambda runtime (which
 * answers 409 ResourceConflictException while an update is InProgress, like Lambda) and a real
 * control loop: a second update waits for the first and retries; the loop runs a memory update
 * as a background operation that outlives its per-call timeout; the warm estimate restarts at 0
 * after the change. Plus the Lambda client's socket pool, measured on a loopback server.
 */
import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { MemoryUpdateFailedError } from '../../controller/aws/errors.js';
import { LambdaPool } from '../../controller/aws/lambda-pool.js';
import { lambdaSocketsFor } from '../../controller/aws/world.js';
import type { Policy } from '../../controller/core/policy-types.js';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from '../../controller/local/lambda-runtime/index.js';
import { LocalVmFleet } from '../../controller/local/vm-fleet.js';
import { ControlLoop } from '../../controller/loop/control-loop.js';
import { ControllerRuntime } from '../../controller/server/runtime.js';
import { emptyDecision } from '../../controller/sim/baselines/common.js';
import { loadRegistry } from '../../functions/engine/registry.js';
import { makeEnv, REAL_MODELS, variantInfo } from '../core/fixtures.js';

const VARIANT = 'mobilenet-v1-050-128-quant';
const FN = `spillway-${VARIANT}`;
const UPDATE_MS = 1_500;

/** A policy that only asks for one memory size and, optionally, warm instances (the planner is not under test). */
function wantsMemory(memoryMb: number, warm?: number): Policy<null> {
  return {
    name: 'wants-memory',
    usesLambda: true,
    init: () => null,
    tick: (_o, state) => ({
      decision: {
        ...emptyDecision(),
        lambdaMemoryMb: { [VARIANT]: memoryMb },
        ...(warm !== undefined ? { lambdaWarm: { [VARIANT]: warm } } : {}),
      },
      state,
    }),
    route: () => ({ kind: 'reject', reason: 'test' }) as never,
    observe: (_c, state) => state,
  };
}

const SPEC = { ...REAL_MODELS[0]!, name: VARIANT };

/** The live controller's runtime around `policy`, the function at `lambdaMemoryMb` (no burst guard: the tests change memory at will). */
function runtimeWith(policy: Policy<null>, lambdaMemoryMb: number): ControllerRuntime<null> {
  const served = new Map([[VARIANT, { info: variantInfo(SPEC), variant: loadRegistry().get(VARIANT), profileSource: 'measured' as const }]]);
  return new ControllerRuntime(policy, makeEnv([SPEC]), served, {
    lambdaMemoryMb,
    lambdaKeepAliveMs: 60_000,
    limits: { memoryUpdateGuard: false },
    nowMs: Date.now(),
  });
}

/** A real control loop over `runtime` and `pool` (a local fleet with no VMs), its log lines collected. */
function loopWith(runtime: ControllerRuntime<null>, pool: LambdaPool, callTimeoutMs?: number) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const fleet = new LocalVmFleet({ bootDelayMs: 0 });
  const loop = new ControlLoop({ runtime, fleet, pool, tickIntervalMs: 60_000, ...(callTimeoutMs !== undefined ? { callTimeoutMs } : {}), log });
  return { loop, lines, fleet };
}

describe('Lambda memory updates against the local Lambda runtime (409 while InProgress)', () => {
  let rt: LocalLambdaRuntime;
  beforeAll(async () => {
    rt = await startLocalLambdaRuntime({ functions: [{ functionName: FN, variant: VARIANT, memoryMb: 1769 }], updateDelayMs: UPDATE_MS });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('a second update while the first is InProgress waits for it and retries (no 409 surfaces)', async () => {
    const pool = new LambdaPool({ endpoint: rt.endpoint, variants: [VARIANT] });
    const first = pool.setMemory(VARIANT, 1024);
    // Let the first UpdateFunctionConfiguration land before the second is sent.
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all([first, pool.setMemory(VARIANT, 2048)]);
    const cfg = await pool.client.send(new GetFunctionConfigurationCommand({ FunctionName: FN }));
    expect(cfg).toMatchObject({ MemorySize: 2048, LastUpdateStatus: 'Successful' });
    pool.client.destroy();
  });

  it('with no conflict retries left, the 409 is a MemoryUpdateFailedError naming the code', async () => {
    const pool = new LambdaPool({ endpoint: rt.endpoint, variants: [VARIANT], maxConflictRetries: 0 });
    const first = pool.setMemory(VARIANT, 1536);
    await new Promise((r) => setTimeout(r, 200));
    const err = await pool.setMemory(VARIANT, 512).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryUpdateFailedError);
    expect((err as Error).message).toMatch(/refused: ResourceConflictException/);
    await first;
    pool.client.destroy();
  });

  it('the control loop runs the update in the background past its call timeout; later ticks see it; the warm estimate restarts at 0', async () => {
    const pool = new LambdaPool({ endpoint: rt.endpoint, variants: [VARIANT] });
    const current = (await pool.describe())[0]!.memoryMb;
    const target = current === 3008 ? 2048 : 3008;
    const runtime = runtimeWith(wantsMemory(target), current);
    // Two instances warm before the change (as the router's estimate sees them).
    const t = Date.now();
    runtime.host.lambda.started(VARIANT, t);
    runtime.host.lambda.started(VARIANT, t);
    runtime.host.lambda.ended(VARIANT, t, true);
    runtime.host.lambda.ended(VARIANT, t, true);
    expect(runtime.lambda.warmIdleByVariant[VARIANT]).toBe(2);
    const { loop, lines, fleet } = loopWith(runtime, pool, 300);
    try {
      await loop.tick();
      // The tick returned with the update still running (it takes >= UPDATE_MS, the call timeout is 300 ms).
      expect(loop.memoryUpdatesInFlight()).toEqual({ [VARIANT]: target });
      await loop.tick();
      const ticks = lines.filter((l) => l.event === 'tick');
      expect(ticks.map((l) => l.lambdaMemoryMb)).toEqual([{ [VARIANT]: target }, {}]);
      expect(ticks[1]?.memoryUpdatesInFlight).toEqual({ [VARIANT]: target });
      await loop.memoryUpdatesSettled();
      expect(lines.some((l) => l.msg === 'act failed')).toBe(false);
      expect(lines.find((l) => l.event === 'memory-updated')).toMatchObject({ variant: VARIANT, memoryMb: target });
      expect(runtime.lambda.memoryMbByVariant[VARIANT]).toBe(target);
      expect(runtime.lambda.warmIdleByVariant[VARIANT]).toBe(0);
      expect((await pool.describe())[0]).toMatchObject({ memoryMb: target, state: 'Active' });
    } finally {
      await loop.stop();
      await fleet.close();
      pool.client.destroy();
    }
  });

  it('warm-ups in the tick that changes the memory wait for the update and warm the new configuration: both stay warm after it', async () => {
    const pool = new LambdaPool({ endpoint: rt.endpoint, variants: [VARIANT] });
    // The function is at 2,048 or 3,008 MB after the case above: 1,024 is a change.
    const current = (await pool.describe())[0]!.memoryMb;
    expect(current).not.toBe(1024);
    const runtime = runtimeWith(wantsMemory(1024, 2), current);
    const { loop, lines, fleet } = loopWith(runtime, pool, 300);
    try {
      await loop.tick();
      const tick = lines.find((l) => l.event === 'tick');
      expect(tick).toMatchObject({ lambdaMemoryMb: { [VARIANT]: 1024 }, warmUps: { [VARIANT]: 2 } });
      await loop.memoryUpdatesSettled();
      await loop.warmUpsSettled();
      expect(lines.some((l) => l.msg === 'act failed')).toBe(false);
      // Sent on the old configuration, the warm-ups would have been retired by the change (0 warm).
      expect(runtime.lambda.memoryMbByVariant[VARIANT]).toBe(1024);
      expect(runtime.lambda.warmIdleByVariant[VARIANT]).toBe(2);
      const live = rt.stats();
      expect(live.liveWorkerPids.length).toBe(2);
    } finally {
      await loop.stop();
      await fleet.close();
      pool.client.destroy();
    }
  });
});

describe('stopping the loop during a long memory update (local runtime holding the update InProgress for 10 min)', () => {
  it('stop() aborts the wait instead of holding shutdown for the waiter', async () => {
    const slow = await startLocalLambdaRuntime({ functions: [{ functionName: FN, variant: VARIANT, memoryMb: 1769 }], updateDelayMs: 600_000 });
    const pool = new LambdaPool({ endpoint: slow.endpoint, variants: [VARIANT], updateWaitSeconds: 900 });
    const runtime = runtimeWith(wantsMemory(1024), 1769);
    const { loop, lines, fleet } = loopWith(runtime, pool);
    try {
      await loop.tick();
      expect(loop.memoryUpdatesInFlight()).toEqual({ [VARIANT]: 1024 });
      // Without the abort this would wait up to 900 s, far past the test timeout.
      await loop.stop();
      expect(loop.memoryUpdatesInFlight()).toEqual({});
      const failed = lines.find((l) => l.msg === 'act failed');
      expect(JSON.stringify(failed)).toMatch(/setMemory mobilenet-v1-050-128-quant=1024 failed/);
      // Not applied: the view keeps the memory it knew until a later describe says otherwise.
      expect(runtime.lambda.memoryMbByVariant[VARIANT]).toBe(1769);
    } finally {
      await fleet.close();
      pool.client.destroy();
      await slow.close();
    }
  });
});

describe('Lambda client socket pool (loopback server counting concurrent connections)', () => {
  let server: Server;
  let endpoint = '';
  let open = 0;
  let peak = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        open++;
        peak = Math.max(peak, open);
        // Hold every answer until the test has sent all its invokes.
        setTimeout(() => {
          open--;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ statusCode: 200, headers: {}, body: '{}' }));
        }, 400);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address();
    endpoint = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function peakFor(pool: LambdaPool, n: number): Promise<number> {
    peak = 0;
    const body = { model: 'm', inputs: [{ tensor: { dtype: 'float32' as const, shape: [1], data: [0] } }] };
    // The server's body is no BackendInferResponse: each invoke fails after its answer; the count is what matters.
    await Promise.allSettled(Array.from({ length: n }, () => pool.invoke('m', body, 10_000)));
    pool.client.destroy();
    return peak;
  }

  it('sized to the planned concurrency: 70 concurrent invokes reach the server at once (the SDK default stops at 50)', async () => {
    expect(lambdaSocketsFor(70)).toBe(74);
    expect(await peakFor(new LambdaPool({ endpoint, maxSockets: lambdaSocketsFor(70), maxAttempts: 1 }), 70)).toBe(70);
    expect(await peakFor(new LambdaPool({ endpoint, maxAttempts: 1 }), 70)).toBe(50);
    expect(() => new LambdaPool({ endpoint, maxSockets: 0 })).toThrow(/maxSockets must be an integer >= 1, got 0/);
  });
});
