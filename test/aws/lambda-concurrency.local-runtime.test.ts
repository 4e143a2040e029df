/**
 * The aws world's Lambda concurrency limit when the deployment sets none: read from the account
 * (GetAccountSettings) and the functions (GetFunctionConcurrency) at start, through the real SDK
 * against the local Lambda runtime, which speaks the same API (AWS_ENDPOINT_URL, as on AWS with
 * the SDK's own configuration). No invocations: no function process is started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../controller/app-config.js';
import { readLambdaConcurrencyLimit } from '../../controller/aws/lambda-concurrency.js';
import { type AwsAdapters, createAwsAdapters, resolveLambdaConcurrency } from '../../controller/aws/world.js';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from '../../controller/local/lambda-runtime/index.js';

const VARIANTS = ['resnet18-w025-s112-synthetic', 'mobilenet-v1-050-128-quant'];
const ACCOUNT_LIMIT = 30;
const ENV_KEYS = ['AWS_ENDPOINT_URL', 'AWS_REGION'] as const;

describe('Lambda concurrency from the account (GetAccountSettings, against the local Lambda runtime)', () => {
  let rt: LocalLambdaRuntime;
  let aws: AwsAdapters;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    rt = await startLocalLambdaRuntime({
      functions: VARIANTS.map((variant) => ({ functionName: `acct-${variant}`, variant, memoryMb: 1024 })),
      accountConcurrencyLimit: ACCOUNT_LIMIT,
      keepAliveMs: 1_000,
    });
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    // The deployed controller finds its endpoint the same way: the SDK's own configuration.
    process.env['AWS_ENDPOINT_URL'] = rt.endpoint;
    process.env['AWS_REGION'] = 'us-east-1';
    aws = createAwsAdapters(
      parseAppConfig({ world: 'aws', fleet: 'acct', instanceTypes: ['c5.large'], variants: VARIANTS, metricsMode: 'off' }),
    );
  });
  afterAll(async () => {
    aws?.pool.client.destroy();
    aws?.fleet.client.destroy();
    await rt?.close();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('no reserved concurrency: the planner gets the account unreserved pool', async () => {
    const r = await resolveLambdaConcurrency({}, aws.pool, VARIANTS);
    expect(r).toEqual({ limit: ACCOUNT_LIMIT, source: 'account', account: { limit: ACCOUNT_LIMIT, reserved: 0, unreserved: ACCOUNT_LIMIT } });
  });

  it('one function reserved: its reservation plus the (smaller) unreserved pool the other draws on', async () => {
    await aws.pool.setReservedConcurrency(VARIANTS[0]!, 5);
    const r = await readLambdaConcurrencyLimit(aws.pool.client, VARIANTS.map((v) => aws.pool.functionName(v)));
    expect(r).toEqual({ limit: 5 + (ACCOUNT_LIMIT - 5), reserved: 5, unreserved: ACCOUNT_LIMIT - 5 });
  });

  it('every function reserved: the sum of the reservations, the unreserved pool not counted', async () => {
    await aws.pool.setReservedConcurrency(VARIANTS[1]!, 7);
    const r = await resolveLambdaConcurrency({}, aws.pool, VARIANTS);
    expect(r.limit).toBe(12);
    expect(r.account).toEqual({ limit: 12, reserved: 12, unreserved: 0 });
  });

  it('a configured limit wins and makes no call', async () => {
    const r = await resolveLambdaConcurrency({ lambdaConcurrency: 3 }, aws.pool, VARIANTS);
    expect(r).toEqual({ limit: 3, source: 'config' });
  });

  it('a function reserved at 0 everywhere leaves nothing to plan with: a ConfigError naming the variable', async () => {
    for (const v of VARIANTS) await aws.pool.setReservedConcurrency(v, 0);
    await expect(resolveLambdaConcurrency({}, aws.pool, VARIANTS)).rejects.toThrow(/SPILLWAY_LAMBDA_CONCURRENCY/);
  });
});
