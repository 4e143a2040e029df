/**
 * A request that waits for a busy Lambda instance (a 'wait' decision) in the live request path:
 * dispatch + LambdaWaiters + the host's Lambda view, against the local Lambda runtime running the
 * real handler in real child processes. The routing rule itself (when to wait, for how long, how
 * many) is core/router.ts's and tested in test/core/router-wait.test.ts; here a scripted policy
 * asks for a wait whenever no warm instance is idle and one is busy, so the driver is what is tested.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaPool } from '../../controller/aws/lambda-pool.js';
import type { Policy } from '../../controller/core/policy-types.js';
import { HttpVmClient } from '../../controller/local/vm-client.js';
import {
  type LocalLambdaRuntime,
  startLocalLambdaRuntime,
} from '../../controller/local/lambda-runtime/index.js';
import { dispatch } from '../../controller/server/dispatch.js';
import { ApiError } from '../../controller/server/errors.js';
import { ControllerRuntime } from '../../controller/server/runtime.js';
import { emptyDecision } from '../../controller/sim/baselines/common.js';
import { defaultModelDir } from '../../functions/engine/model-sources.js';
import { loadRegistry } from '../../functions/engine/registry.js';
import { makeEnv, REAL_MODELS, variantInfo } from '../core/fixtures.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const GOLDFISH = join(REPO, 'functions/models/samples/ort_goldfish.jpg');
const MEMORY_MB = 1769;

function pickVariant(): string {
  const real = loadRegistry().get('mobilenet-v1-050-128-quant');
  const dir = defaultModelDir();
  return dir && existsSync(join(dir, real.file)) ? real.name : 'resnet18-w025-s112-synthetic';
}

/** Warm idle -> that; else a busy warm instance -> wait up to `maxWaitMs()`; else a cold start. */
function waitingPolicy(variant: string, maxWaitMs: () => number): Policy<null> {
  return {
    name: 'waits-when-busy',
    usesLambda: true,
    init: () => null,
    tick: (_o, state) => ({ decision: emptyDecision(), state }),
    route: (_req, view) => {
      const lv = view.lambda;
      if ((lv.warmIdleByVariant[variant] ?? 0) > 0)
        return { kind: 'lambda', variant, memoryMb: MEMORY_MB, expectedMs: 0, cold: false };
      if ((lv.warmBusyByVariant?.[variant] ?? 0) > 0)
        return { kind: 'wait', variant, memoryMb: MEMORY_MB, maxWaitMs: maxWaitMs(), expectedMs: 0 };
      return { kind: 'lambda', variant, memoryMb: MEMORY_MB, expectedMs: 0, cold: true };
    },
    observe: (_c, state) => state,
  };
}

describe.skipIf(!existsSync(GOLDFISH))(
  'requests wait for a busy Lambda instance (local runtime, real handler)',
  () => {
    const variant = pickVariant();
    const image = existsSync(GOLDFISH) ? readFileSync(GOLDFISH).toString('base64') : '';
    let rt: LocalLambdaRuntime;
    let pool: LambdaPool;
    let runtime: ControllerRuntime<null>;
    let maxWaitMs = 10_000;

    beforeAll(async () => {
      rt = await startLocalLambdaRuntime({
        functions: [{ functionName: `spillway-${variant}`, variant, memoryMb: MEMORY_MB }],
        keepAliveMs: 60_000,
      });
      pool = new LambdaPool({ endpoint: rt.endpoint, variants: [variant] });
      const spec = { ...REAL_MODELS[0]!, name: variant };
      const served = new Map([
        [
          variant,
          {
            info: variantInfo(spec),
            variant: loadRegistry().get(variant),
            profileSource: 'measured' as const,
          },
        ],
      ]);
      runtime = new ControllerRuntime(
        waitingPolicy(variant, () => maxWaitMs),
        makeEnv([spec]),
        served,
        {
          lambdaMemoryMb: MEMORY_MB,
          lambdaKeepAliveMs: 60_000,
          limits: {},
          nowMs: Date.now(),
        },
      );
    });
    afterAll(async () => {
      pool?.client.destroy();
      await rt?.close();
    });

    const send = () =>
      dispatch(
        { runtime, pool, vmClient: new HttpVmClient(), backendTimeoutMs: 60_000 },
        { task: 'image-classification', input: { image }, sloMs: 60_000, minAccuracy: 0 },
        Date.now(),
      );

    it('four at once on one warm instance: one runs, three wait and are served by it in turn (no cold start)', async () => {
      const first = await send(); // cold: the one instance
      expect(first.backend.coldStart).toBe(true);
      expect(runtime.lambda.warmIdleByVariant[variant]).toBe(1);
      const answers = await Promise.all([send(), send(), send(), send()]);
      expect(answers.map((a) => a.backend.coldStart)).toEqual([false, false, false, false]);
      expect(answers.every((a) => a.model === variant)).toBe(true);
      // The same single instance served all five.
      expect(rt.stats().liveWorkerPids.length).toBe(1);
      expect(runtime.lambda.waitingByVariant?.[variant]).toBe(0);
      expect(runtime.lambda.warmBusyByVariant?.[variant]).toBe(0);
      expect(runtime.lambdaWaiters.waiting(variant)).toBe(0);
    }, 120_000);

    it('a wait that runs out is a 503 saying so, counted as rejected; the running request is unaffected', async () => {
      maxWaitMs = 0;
      const rejectedBefore = runtime.host.totals.rejected;
      const [ran, waited] = await Promise.allSettled([send(), send()]);
      expect(ran.status).toBe('fulfilled');
      expect(waited.status).toBe('rejected');
      const err = (waited as PromiseRejectedResult).reason as ApiError;
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(503);
      expect(err.retryAfterS).toBe(1);
      expect(err.message).toMatch(
        new RegExp(`every Lambda instance of '${variant}' stayed busy for the 0 ms this request could wait`),
      );
      expect(runtime.host.totals.rejected).toBe(rejectedBefore + 1);
      expect(runtime.lambda.waitingByVariant?.[variant]).toBe(0);
      expect(runtime.lambdaWaiters.waiting(variant)).toBe(0);
    }, 120_000);
  },
);
