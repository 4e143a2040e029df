/**
 * The aws world (the deployed controller's wiring, as in the deploy twin) with no VM and Lambda
 * saturated: EC2 through moto (maxVms 0: the planner may buy nothing), Lambda through the local
 * Lambda runtime at account concurrency 1-2, read from GetAccountSettings as the twin's controller
 * does. Waves of concurrent requests far beyond that concurrency (and beyond what may wait for a
 * busy instance: core/router.ts lambdaWait) must each get 200, 503 +
 * Retry-After or 504 deadline_exceeded within the deadline + 1 s (test/e2e/answer-deadline.ts).
 * Two functions: the real handler (saturated by volume), and a stand-in whose invocations are
 * stuck (test/local/fixtures/stuck-handler.ts): accepted Lambda calls that never answer in time.
 * The local world's twin of this test: test/e2e/no-vm-saturated-lambda.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../controller/app-config.js';
import {
  type LocalLambdaRuntime,
  startLocalLambdaRuntime,
} from '../../controller/local/lambda-runtime/index.js';
import { loadSampleImagesBase64 } from '../../controller/replay/samples.js';
import { type Stack, startStack } from '../../controller/server/stack.js';
import {
  type AnswerOutcome,
  burstAgainstDeadline,
  deadlineViolations,
  tally,
  teachWarm,
  waitersPerInstance,
  waitWarm,
} from '../e2e/answer-deadline.js';
import { pickTestVariant, STUCK_HANDLER } from '../local/helpers.js';
import { type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

const SLO_MS = 1_000;
const BACKEND_TIMEOUT_MS = 3_000;
const ENV_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
] as const;

interface AwsWorld {
  stack: Stack;
  lambda: LocalLambdaRuntime;
  variant: string;
  close(): Promise<void>;
}

/** The controller with SPILLWAY_WORLD=aws: moto for EC2, the local Lambda runtime for Lambda (SDK endpoints from the env, as on the host). */
async function startAwsWorld(
  moto: Moto,
  o: { concurrency: number; handlerModule?: string },
): Promise<AwsWorld> {
  const { variant } = await pickTestVariant();
  const fleet = uniqueName('nohang');
  const lambda = await startLocalLambdaRuntime({
    functions: [{ functionName: `${fleet}-${variant}`, variant, memoryMb: 1769 }],
    accountConcurrencyLimit: o.concurrency,
    keepAliveMs: 60_000,
    ...(o.handlerModule ? { handlerModule: o.handlerModule } : {}),
  });
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  });
  const config = parseAppConfig({
    world: 'aws',
    fleet,
    metricsMode: 'off',
    instanceTypes: ['c7a.medium'],
    // lambdaConcurrency unset: read from the local runtime's GetAccountSettings, as in the twin.
    port: 0,
    tickIntervalMs: 500,
    maxVms: 0,
    sloMs: SLO_MS,
    backendTimeoutMs: BACKEND_TIMEOUT_MS,
    variants: [variant],
    home: mkdtempSync(join(tmpdir(), 'spillway-nohang-home-')),
    logLevel: 'silent',
  });
  const stack = await startStack(config, { log: pino({ level: 'silent' }) });
  return {
    stack,
    lambda,
    variant,
    close: async () => {
      await stack.close();
      await lambda.close();
      for (const k of ENV_KEYS) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    },
  };
}

const WAVES = 5;

/**
 * Waves larger than the waiting one warm instance allows (1.5 x waitersPerInstance + 12): requests
 * beyond it are refused, whatever this machine's speed. The stuck handler's instances never end an
 * invoke in time, so its waves stay at 12.
 */
async function burst(w: AwsWorld, perWave: (w: AwsWorld) => number, warmAnswers = 0): Promise<{ outcomes: AnswerOutcome[]; sent: number }> {
  await waitWarm(w.stack.url, w.variant, 60_000);
  const target = { url: w.stack.url, path: '/v1/infer', imageBase64: loadSampleImagesBase64()[0]!, sloMs: SLO_MS, backendTimeoutMs: BACKEND_TIMEOUT_MS };
  // Warm answers teach the router the invoke overhead, which bounds how many may wait (waitersPerInstance).
  await teachWarm(target, warmAnswers);
  const n = perWave(w);
  const outcomes = await burstAgainstDeadline({
    ...target,
    waves: WAVES,
    perWave: n,
    waveGapMs: 300,
    acceptLateEvery: 6,
  });
  return { outcomes, sent: WAVES * n };
}
const saturating = (w: AwsWorld) => Math.ceil(1.5 * waitersPerInstance(w.stack.runtime, w.variant, SLO_MS)) + 12;

describe.skipIf(!motoAvailable)('aws world (moto + local Lambda runtime), no VM', () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  describe('real handler, account concurrency 1, saturated by volume', () => {
    let w: AwsWorld;
    let outcomes: AnswerOutcome[] = [];
    let sent = 0;
    beforeAll(async () => {
      w = await startAwsWorld(moto, { concurrency: 1 });
      ({ outcomes, sent } = await burst(w, saturating, 5));
    }, 120_000);
    afterAll(async () => {
      await w?.close();
    });

    it('planned within the account concurrency read from Lambda, and no VM exists', async () => {
      expect(w.stack.runtime.env.lambdaConcurrencyLimit).toBe(1);
      expect(await w.stack.fleet.describe()).toEqual([]);
      expect(
        outcomes.filter((x) => x.status === 503).length,
        JSON.stringify(tally(outcomes)),
      ).toBeGreaterThan(0);
    });

    it('every request got 200, 503 + Retry-After or 504 deadline_exceeded within its deadline + 1 s', () => {
      expect(outcomes).toHaveLength(sent);
      expect(deadlineViolations(outcomes), JSON.stringify(tally(outcomes))).toEqual([]);
    });
  });

  describe('stuck Lambda (stand-in handler: invocations never answer in time), account concurrency 2', () => {
    let w: AwsWorld;
    let outcomes: AnswerOutcome[] = [];
    beforeAll(async () => {
      w = await startAwsWorld(moto, { concurrency: 2, handlerModule: STUCK_HANDLER });
      ({ outcomes } = await burst(w, () => 12));
    }, 120_000);
    afterAll(async () => {
      await w?.close();
    });

    it('the accepted Lambda calls were abandoned at the deadline (504), the rest refused (503): none served', () => {
      const t = tally(outcomes);
      expect(outcomes.filter((x) => x.status === 504).length, JSON.stringify(t)).toBeGreaterThan(0);
      expect(outcomes.filter((x) => x.status === 503).length, JSON.stringify(t)).toBeGreaterThan(0);
      expect(outcomes.filter((x) => x.status === 200)).toEqual([]);
    });

    it('every request got 503 + Retry-After or 504 deadline_exceeded within its deadline + 1 s', () => {
      expect(outcomes).toHaveLength(60);
      expect(deadlineViolations(outcomes), JSON.stringify(tally(outcomes))).toEqual([]);
    });
  });
});
