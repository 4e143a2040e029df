/**
 * LocalVmFleet + HttpVmClient against the stand-in server (test/local/fixtures/stand-in-server.ts),
 * which follows the VM server process contract and can hold a request, so boot delay, drain,
 * idempotency and death can be tested without models. Real processes, loopback HTTP.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendResponseError, BackendTimeoutError, BackendUnavailableError } from '../../controller/errors.js';
import { IdempotentParameterMismatchError, InvalidLaunchSpecError } from '../../controller/local/errors.js';
import { HttpVmClient } from '../../controller/local/vm-client.js';
import { LocalVmFleet } from '../../controller/local/vm-fleet.js';
import { isAlive, STAND_IN_SERVER, waitFor } from './helpers.js';

/** The stand-in server holds a request for inputs[0].tensor.data[0] ms. */
const body = (model: string, holdMs = 0) => ({
  model,
  inputs: [{ tensor: { dtype: 'float32' as const, shape: [1], data: [holdMs] } }],
});

describe('LocalVmFleet with the stand-in server', () => {
  const fleet = new LocalVmFleet({ serverEntry: STAND_IN_SERVER, bootDelayMs: 1000, terminateGraceMs: 5000, readyPollMs: 50 });
  const client = new HttpVmClient();
  const pids: number[] = [];

  afterAll(async () => {
    await fleet.close();
    client.close();
    for (const pid of pids) expect(isAlive(pid), `VM process ${pid} alive after close()`).toBe(false);
  });

  it('stand-in server: launch -> pending, ready after the 1 s boot delay, infer through HttpVmClient', async () => {
    const [vm, ...rest] = await fleet.launch({ instanceType: 'c5.large', variant: 'stand-in-a', count: 1, clientToken: 'tok-1' });
    expect(rest).toHaveLength(0);
    if (!vm) throw new Error('no VM');
    expect(vm.state).toBe('pending');
    expect(vm.endpoint).toBeUndefined();
    pids.push(fleet.pidOf(vm.id) ?? -1);
    await waitFor(async () => (await fleet.describe()).find((r) => r.id === vm.id)?.state === 'ready', 20_000, 'VM ready');
    const ready = (await fleet.describe()).find((r) => r.id === vm.id);
    expect(ready?.readyAtMs).toBeDefined();
    // Provisioning latency includes the configured boot delay (lower bound, not a timing race).
    expect((ready?.readyAtMs ?? 0) - (ready?.launchedAtMs ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(ready?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const out = await client.infer(ready?.endpoint ?? '', body('stand-in-a'), 5000);
    expect(out.model).toBe('stand-in-a');
    expect(out.backend.kind).toBe('vm');
    expect(out.backend.id).toBe(String(fleet.pidOf(vm.id)));
  });

  it('stand-in server: the same clientToken never launches twice; different parameters are refused', async () => {
    const before = (await fleet.describe()).length;
    const again = await fleet.launch({ instanceType: 'c5.large', variant: 'stand-in-a', count: 1, clientToken: 'tok-1' });
    expect((await fleet.describe()).length).toBe(before);
    expect(again[0]?.state).toBe('ready');
    await expect(fleet.launch({ instanceType: 'c5.xlarge', variant: 'stand-in-a', count: 1, clientToken: 'tok-1' })).rejects.toBeInstanceOf(
      IdempotentParameterMismatchError,
    );
    await expect(fleet.launch({ instanceType: 'z9.huge', variant: 'stand-in-a', count: 1, clientToken: 'tok-x' })).rejects.toBeInstanceOf(
      InvalidLaunchSpecError,
    );
  });

  it('stand-in server: terminate drains the in-flight request, then the VM is terminated', async () => {
    const [vm] = await fleet.launch({ instanceType: 'c6g.large', variant: 'stand-in-b', count: 1, clientToken: 'tok-2' });
    if (!vm) throw new Error('no VM');
    pids.push(fleet.pidOf(vm.id) ?? -1);
    await waitFor(async () => (await fleet.describe()).find((r) => r.id === vm.id)?.state === 'ready', 20_000, 'VM ready');
    const endpoint = (await fleet.describe()).find((r) => r.id === vm.id)?.endpoint ?? '';
    const held = client.infer(endpoint, body('stand-in-b', 600), 5000);
    await new Promise((r) => setTimeout(r, 100)); // let the request reach the server
    await fleet.terminate([vm.id]);
    expect((await fleet.describe()).find((r) => r.id === vm.id)?.state).toBe('terminating');
    const out = await held; // drained, not dropped
    expect(out.model).toBe('stand-in-b');
    await fleet.waitForExit([vm.id]);
    expect((await fleet.describe()).find((r) => r.id === vm.id)?.state).toBe('terminated');
    // Afterwards the endpoint refuses connections -> BackendUnavailableError (safe to retry elsewhere).
    await expect(client.infer(endpoint, body('stand-in-b'), 2000)).rejects.toBeInstanceOf(BackendUnavailableError);
    // Cost follows EC2's rule: at least the 60 s minimum of the c6g.large price.
    const cost = fleet.costs().find((c) => c.id === vm.id);
    expect(cost?.pricePerHourUsd).toBe(0.068);
    expect(cost?.billedCostUsd).toBeCloseTo((60 * 0.068) / 3600, 10);
  });

  it('stand-in server: count 2 -> two VMs with their own endpoints; one slot each (one server, threads = min(vCPUs, cap))', async () => {
    const capped = new LocalVmFleet({ serverEntry: STAND_IN_SERVER, bootDelayMs: 0, maxThreadsPerVm: 1, readyPollMs: 50 });
    try {
      const vms = await capped.launch({ instanceType: 'c5.2xlarge', variant: 'stand-in-d', count: 2, clientToken: 'tok-4' });
      expect(vms).toHaveLength(2);
      expect(new Set(vms.map((v) => v.id)).size).toBe(2);
      for (const v of vms) expect(v.slots).toBe(1); // c5.2xlarge has 8 vCPUs, capped to 1 thread here
      for (const v of vms) pids.push(capped.pidOf(v.id) ?? -1);
      await waitFor(async () => (await capped.describe()).every((r) => r.state === 'ready'), 20_000, 'both ready');
      const endpoints = (await capped.describe()).map((r) => r.endpoint);
      expect(new Set(endpoints).size).toBe(2);
      for (const ep of endpoints) expect((await client.infer(ep ?? '', body('stand-in-d'), 5000)).model).toBe('stand-in-d');
    } finally {
      await capped.close();
    }
    expect((await capped.describe()).every((r) => r.state === 'terminated')).toBe(true);
    const uncapped = new LocalVmFleet({ serverEntry: STAND_IN_SERVER, maxThreadsPerVm: 64 });
    const [big] = await uncapped.launch({ instanceType: 'c5.2xlarge', variant: 'stand-in-e', count: 1, clientToken: 'tok-5' });
    pids.push(uncapped.pidOf(big?.id ?? '') ?? -1);
    // One server with 8 threads runs one batch at a time: 1 slot, as on EC2 (core/vm-layout.ts).
    expect(big?.slots).toBe(1);
    await uncapped.close();
  });

  it('stand-in server: a VM whose process is killed shows as terminated', async () => {
    const [vm] = await fleet.launch({ instanceType: 'c5.large', variant: 'stand-in-c', count: 1, clientToken: 'tok-3' });
    if (!vm) throw new Error('no VM');
    const pid = fleet.pidOf(vm.id);
    if (pid === undefined) throw new Error('no pid');
    pids.push(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await fleet.describe()).find((r) => r.id === vm.id)?.state === 'terminated', 10_000, 'terminated');
    expect(fleet.diagnostics(vm.id)?.exit).toBe('signal SIGKILL');
  });

  it('stand-in server: HttpVmClient maps non-2xx to BackendResponseError and a slow VM to BackendTimeoutError', async () => {
    const ready = (await fleet.describe()).find((r) => r.state === 'ready');
    if (!ready?.endpoint) throw new Error('no ready VM');
    const err = await client.infer(ready.endpoint, body('not-served-here'), 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendResponseError);
    expect((err as BackendResponseError).status).toBe(404);
    expect((err as BackendResponseError).body).toMatchObject({ error: { code: 'unknown_model' } });
    const slow = await client.infer(ready.endpoint, body(ready.variant, 2000), 200).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(BackendTimeoutError);
    expect((slow as BackendTimeoutError).timeoutMs).toBe(200);
    // The client still works after a timeout (the timed-out socket was discarded, not reused).
    expect((await client.infer(ready.endpoint, body(ready.variant), 5000)).model).toBe(ready.variant);
  });
});

describe('local adapter options', () => {
  it('bad options -> ConfigError naming the field and the limit', async () => {
    const { ConfigError } = await import('../../controller/errors.js');
    const { startLocalLambdaRuntime } = await import('../../controller/local/lambda-runtime/index.js');
    expect(() => new LocalVmFleet({ bootDelayMs: -5 })).toThrow(ConfigError);
    expect(() => new LocalVmFleet({ bootDelayMs: -5 })).toThrow(/bootDelayMs/);
    const err = await startLocalLambdaRuntime({ functions: [{ functionName: 'f', variant: 'v', memoryMb: 64 }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/functions\.0\.memoryMb.*128/);
  });
});

describe('HttpVmClient transport failures', () => {
  it('socket hang up (server closes the connection mid-request) -> BackendUnavailableError', async () => {
    const server = createServer((req) => req.socket.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const client = new HttpVmClient();
    try {
      const err = await client.infer(`http://127.0.0.1:${port}`, body('x'), 2000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
    } finally {
      client.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
