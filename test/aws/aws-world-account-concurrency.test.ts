/**
 * The deployed controller with no SPILLWAY_LAMBDA_CONCURRENCY: startStack() in the aws world asks
 * the account at start and the planner plans within what it says. EC2 and CloudWatch are moto;
 * Lambda is the local Lambda runtime (AWS_ENDPOINT_URL_LAMBDA, the SDK's per-service endpoint),
 * which implements GetAccountSettings and GetFunctionConcurrency as AWS does (moto has no
 * GetAccountSettings).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../controller/app-config.js';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from '../../controller/local/lambda-runtime/index.js';
import { type Stack, startStack } from '../../controller/server/stack.js';
import { type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

const ENV_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'SPILLWAY_SHARED_DIR',
] as const;
const VARIANTS = ['mobilenet-v2-10-int8-zoo', 'squeezenet-caffe2-fp16'];
const ACCOUNT_LIMIT = 23;
/** Reserved concurrency per function: both reserved, so the limit is their sum, not the account's. */
const RESERVED = [4, 6];

describe.skipIf(!motoAvailable)('aws world: Lambda concurrency limit read from the account at start', () => {
  let moto: Moto;
  let rt: LocalLambdaRuntime;
  let stack: Stack;
  const saved: Record<string, string | undefined> = {};
  const fleet = uniqueName('acct');

  beforeAll(async () => {
    moto = await startMoto();
    rt = await startLocalLambdaRuntime({
      functions: VARIANTS.map((variant) => ({ functionName: `${fleet}-${variant}`, variant, memoryMb: 1024 })),
      accountConcurrencyLimit: ACCOUNT_LIMIT,
      keepAliveMs: 1_000,
    });
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: rt.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      SPILLWAY_SHARED_DIR: 'none',
    });
    // Mixed reserved/unreserved and unreserved-only: test/aws/lambda-concurrency.local-runtime.test.ts.
    for (const [i, variant] of VARIANTS.entries()) {
      const put = await fetch(`${rt.endpoint}/2017-10-31/functions/${fleet}-${variant}/concurrency`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ReservedConcurrentExecutions: RESERVED[i] }),
      });
      expect(put.status).toBe(200);
    }
    const config = parseAppConfig({
      world: 'aws',
      fleet,
      instanceTypes: ['c5.large', 'c6g.large'],
      metricsMode: 'off',
      port: 0,
      tickIntervalMs: 60_000,
      maxVms: 0,
      sloMs: 2_000,
      backendTimeoutMs: 3_000,
      lambdaWarmAtStart: 0,
      variants: VARIANTS,
      home: mkdtempSync(join(tmpdir(), 'spillway-acct-home-')),
      logLevel: 'silent',
    });
    stack = await startStack(config, { log: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await stack?.close();
    await rt?.close();
    await moto?.stop();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('the planner gets the reserved concurrency of its functions', () => {
    expect(stack.config.world === 'aws' && stack.config.lambdaConcurrency).toBe(undefined);
    expect(stack.runtime.env.lambdaConcurrencyLimit).toBe(4 + 6);
    expect(stack.runtime.env.instanceTypes).toEqual(['c5.large', 'c6g.large']);
    expect(stack.runtime.env.maxVms).toBe(0);
  });
});
