/**
 * The deployed controller's wiring: `SPILLWAY_WORLD=aws` makes startStack() fill the ports with the
 * AWS adapters (controller/aws/world.ts) instead of the local ones. Against moto's server: the API
 * comes up, the control loop describes the (empty) EC2 fleet through the SDK and keeps ticking,
 * publishes its fleet gauges to CloudWatch every tick, and a request that cannot be served (moto
 * cannot run Lambda code, no VM yet) gets a clear error reply instead of hanging.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../controller/app-config.js';
import { type Stack, startStack } from '../../controller/server/stack.js';
import { METRICS } from '../../controller/aws/metric-names.js';
import { type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

const ENV_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'SPILLWAY_SHARED_DIR',
] as const;
/** The deployment's defaults (infra/config.ts): real variants whose weights the controller host never has. */
const DEPLOYED_VARIANTS = ['mobilenet-v2-10-int8-zoo', 'squeezenet-caffe2-fp16'];
const DEPLOYED_TYPES = ['c5.large', 'c6g.large', 'c5.xlarge'];

describe.skipIf(!motoAvailable)('controller in the aws world (against moto)', () => {
  let moto: Moto;
  let stack: Stack;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    moto = await startMoto();
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      // No ../shared and an empty home: no model file can resolve, as on the controller host.
      SPILLWAY_SHARED_DIR: 'none',
    });
    const config = parseAppConfig({
      world: 'aws',
      fleet: uniqueName('world'),
      metricsMode: 'api',
      instanceTypes: DEPLOYED_TYPES,
      // Set, not read from the account: moto's server has no GetAccountSettings; that path is
      // tested against the local Lambda runtime (test/aws/lambda-concurrency.local-runtime.test.ts).
      lambdaConcurrency: 10,
      port: 0,
      tickIntervalMs: 200,
      maxVms: 0,
      sloMs: 2_000,
      backendTimeoutMs: 3_000,
      variants: DEPLOYED_VARIANTS,
      home: mkdtempSync(join(tmpdir(), 'spillway-aws-home-')),
      logLevel: 'silent',
    });
    stack = await startStack(config, { log: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await stack?.close();
    await moto?.stop();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('uses the AWS adapters: no local Lambda endpoint, fleet described through EC2', async () => {
    expect(stack.lambdaEndpoint).toBe('');
    expect(stack.fleet.constructor.name).toBe('Ec2Fleet');
    expect(await stack.fleet.describe()).toEqual([]);
    const health = await fetch(`${stack.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('serves the deployed variants without model files and plans every deployed instance type', () => {
    expect([...stack.served.keys()].sort()).toEqual([...DEPLOYED_VARIANTS].sort());
    expect([...stack.served.values()].every((s) => s.profileSource === 'measured')).toBe(true);
    expect(stack.runtime.env.instanceTypes).toEqual(DEPLOYED_TYPES);
    // Configured here, so not read from the account (that path: lambda-concurrency.local-runtime.test.ts).
    expect(stack.runtime.env.lambdaConcurrencyLimit).toBe(10);
  });

  it('keeps ticking and answers /v1/status while the world has no capacity', async () => {
    await new Promise((r) => setTimeout(r, 800));
    const res = await fetch(`${stack.url}/v1/status`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { fleet?: unknown };
    expect(body.fleet).toBeDefined();
  });

  it('publishes the dashboard fleet gauges (VmCount, LambdaShare, DollarsPerHour) to CloudWatch', async () => {
    const cw = new CloudWatchClient({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const fleet = stack.config.world === 'aws' ? stack.config.fleet : '';
    expect(fleet).not.toBe('');
    let names = new Set<string>();
    for (let i = 0; i < 30 && !names.has(METRICS.dollarsPerHour); i++) {
      const listed = await cw.send(
        new ListMetricsCommand({ Namespace: 'Spillway', Dimensions: [{ Name: 'Fleet', Value: fleet }] }),
      );
      names = new Set((listed.Metrics ?? []).map((m) => m.MetricName ?? ''));
      if (!names.has(METRICS.dollarsPerHour)) await new Promise((r) => setTimeout(r, 200));
    }
    expect([...names]).toEqual(
      expect.arrayContaining([METRICS.vmCount, METRICS.lambdaShare, METRICS.dollarsPerHour]),
    );
  });

  it('a request it cannot serve gets a clear error reply, not a hang', async () => {
    const res = await fetch(`${stack.url}/v1/models/${DEPLOYED_VARIANTS[0]}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        input: { image: Buffer.from('not an image at all').toString('base64') },
        sloMs: 1_000,
      }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    expect(typeof body.error?.message).toBe('string');
  });
});
