/**
 * The local stack's internal endpoints answer only the controller that started them: a VM server
 * and the local Lambda API get a fresh shared secret per start (functions/server/internal-token.ts),
 * and a VM child does not inherit the public API key. Real stack, real VM process, real AWS SDK.
 */
import { readFileSync } from 'node:fs';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpVmClient } from '../../controller/local/vm-client.js';
import type { Stack } from '../../controller/server/stack.js';
import { INTERNAL_TOKEN_HEADER } from '../../functions/server/internal-token.js';
import { waitFor } from '../local/helpers.js';
import { SMALL_VARIANT, startTestStack } from './helpers.js';

const API_KEY = 'k'.repeat(40);

describe('internal endpoints need the per-start token', () => {
  let stack: Stack;
  let vmEndpoint = '';
  let vmPid = 0;
  const savedKey = process.env['SPILLWAY_API_KEY'];

  beforeAll(async () => {
    // The key is in this process's environment, as it is for `SPILLWAY_API_KEY=... npm start`.
    process.env['SPILLWAY_API_KEY'] = API_KEY;
    stack = await startTestStack({ apiKey: API_KEY, maxVms: 0, vmBootDelayMs: 0 });
    const [vm] = await stack.localFleet.launch({ instanceType: 'c7a.medium', variant: SMALL_VARIANT, count: 1, clientToken: 't-1' });
    if (!vm) throw new Error('no VM');
    vmPid = stack.localFleet.pidOf(vm.id) ?? 0;
    await waitFor(async () => (await stack.localFleet.describe()).find((r) => r.id === vm.id)?.state === 'ready', 60_000, 'VM ready');
    vmEndpoint = (await stack.localFleet.describe()).find((r) => r.id === vm.id)?.endpoint ?? '';
  }, 120_000);

  afterAll(async () => {
    if (savedKey === undefined) delete process.env['SPILLWAY_API_KEY'];
    else process.env['SPILLWAY_API_KEY'] = savedKey;
    await stack?.close();
  });

  const body = JSON.stringify({ model: SMALL_VARIANT, inputs: [{ tensor: { dtype: 'float32', shape: [1], data: [0] } }] });

  it('a VM refuses a call without the token (401 naming the header), or with a wrong one', async () => {
    expect(stack.internalToken).toMatch(/^[0-9a-f]{64}$/);
    const wrong: Array<Record<string, string>> = [{}, { [INTERNAL_TOKEN_HEADER]: 'x'.repeat(64) }];
    for (const headers of wrong) {
      const res = await fetch(`${vmEndpoint}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      expect(res.status).toBe(401);
      const err = (await res.json()) as { error: { code: string; message: string } };
      expect(err.error.code).toBe('unauthorized');
      expect(err.error.message).toContain(INTERNAL_TOKEN_HEADER);
    }
    const metrics = await fetch(`${vmEndpoint}/metrics`);
    expect(metrics.status).toBe(401);
  });

  it('health probes need no token; the controller client (with it) is served', async () => {
    expect((await fetch(`${vmEndpoint}/healthz`)).status).toBe(200);
    expect((await fetch(`${vmEndpoint}/readyz`)).status).toBe(200);
    const client = new HttpVmClient({ internalToken: stack.internalToken });
    try {
      const res = await fetch(`${vmEndpoint}/v1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: stack.internalToken ?? '' },
        body,
      });
      // Past the token check: whatever the model says about this input, it is not a 401.
      expect(res.status).not.toBe(401);
    } finally {
      client.close();
    }
  });

  it("the local Lambda API refuses other credentials with Lambda's own UnrecognizedClientException", async () => {
    const name = `spillway-${SMALL_VARIANT}`;
    const other = new LambdaClient({ endpoint: stack.lambdaEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    const err = await other.send(new GetFunctionConfigurationCommand({ FunctionName: name })).catch((e: unknown) => e as Error);
    expect((err as Error).name).toBe('UnrecognizedClientException');
    other.destroy();
    const token = stack.internalToken ?? '';
    const own = new LambdaClient({ endpoint: stack.lambdaEndpoint, region: 'us-east-1', credentials: { accessKeyId: token, secretAccessKey: token }, maxAttempts: 1 });
    const cfg = await own.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    expect(cfg.FunctionName).toBe(name);
    own.destroy();
  });

  it.skipIf(process.platform !== 'linux')('a VM process does not inherit SPILLWAY_API_KEY', () => {
    const environ = readFileSync(`/proc/${vmPid}/environ`, 'utf8').split('\0');
    expect(environ.some((kv) => kv.startsWith('SPILLWAY_API_KEY='))).toBe(false);
    expect(environ.some((kv) => kv.startsWith('SPILLWAY_INTERNAL_TOKEN='))).toBe(true);
    expect(environ.join('\n')).not.toContain(API_KEY);
  });
});
