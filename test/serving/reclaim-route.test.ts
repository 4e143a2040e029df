/**
 * POST /v1/vms/{id}/reclaim on a real loopback API (the real app and runtime; the runtime's fleet
 * view holds one on-demand and one Spot VM; a fault-port stand-in records the call): every
 * refusal names the field and says why, and no input gets a 5xx. The whole path with a real Spot
 * VM, the local fleet and the CLI is test/e2e/spot-reclaim.test.ts.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../controller/server/app.js';
import { ApiMetrics } from '../../controller/server/metrics.js';
import type { VmRecord } from '../../controller/ports.js';
import { NO_MODEL_MSG, SERVED, quietLogger, staticVmRuntime } from './helpers.js';

const KEY = 'reclaim-test-key-0123';
const H = { 'x-api-key': KEY, 'content-type': 'application/json' };

const vm = (id: string, instanceType: string): VmRecord =>
  ({ id, instanceType, variant: SERVED?.name ?? 'v', state: 'ready', launchedAtMs: 0, readyAtMs: 1, endpoint: 'http://127.0.0.1:1', slots: 1 }) as VmRecord;

async function start(withFaults: boolean): Promise<{ url: string; calls: Array<[string, number | undefined]>; close: () => Promise<void> }> {
  const rt = await staticVmRuntime({ name: SERVED!.name, vmId: 'i-od', endpoint: 'http://127.0.0.1:1', slots: 1, sloMs: 5_000 });
  rt.host.fleet.sync([vm('i-od', 'c7a.medium'), vm('i-spot', 'c7a.medium:spot')], Date.now());
  const calls: Array<[string, number | undefined]> = [];
  const server: Server = createApiServer({
    runtime: rt as never,
    vmClient: { infer: () => Promise.reject(new Error('not called')) } as never,
    pool: {} as never,
    metrics: new ApiMetrics(),
    backendTimeoutMs: 5_000,
    maxBodyBytes: 64 * 1024,
    apiKey: KEY,
    log: quietLogger,
    ...(withFaults
      ? {
          faults: {
            reclaimVm: (id: string, o: { noticeMs?: number }) => {
              calls.push([id, o.noticeMs]);
              return { time: new Date(Date.now() + (o.noticeMs ?? 120_000)).toISOString(), noticeMs: o.noticeMs ?? 120_000 };
            },
          },
        }
      : {}),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe.skipIf(!SERVED)(`POST /v1/vms/{id}/reclaim (fleet stand-in) ${SERVED ? '' : NO_MODEL_MSG}`, () => {
  let api: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    api = await start(true);
  });
  afterAll(() => api?.close());
  const post = (id: string, body?: string, headers: Record<string, string> = H) =>
    fetch(`${api.url}/v1/vms/${id}/reclaim`, { method: 'POST', headers, ...(body !== undefined ? { body } : {}) });

  it('a Spot VM gets the notice: 200 with the termination time; noticeMs is passed through', async () => {
    const r = await post('i-spot', JSON.stringify({ noticeMs: 5_000 }));
    expect(r.status).toBe(200);
    const b = (await r.json()) as { id: string; time: string; noticeMs: number };
    expect(b.id).toBe('i-spot');
    expect(b.noticeMs).toBe(5_000);
    expect(Date.parse(b.time)).toBeGreaterThan(Date.now());
    expect(api.calls.at(-1)).toEqual(['i-spot', 5_000]);
    const noBody = await post('i-spot');
    expect(noBody.status).toBe(200);
    expect(api.calls.at(-1)).toEqual(['i-spot', undefined]);
  });

  it('refusals name the field: on-demand 409 not_spot, unknown 404, bad noticeMs 400, no key 401, GET 405', async () => {
    const od = await post('i-od', '{}');
    expect(od.status).toBe(409);
    expect(await od.json()).toMatchObject({ error: { code: 'not_spot', field: 'id' } });
    const unknown = await post('i-nope', '{}');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found', field: 'id' } });
    const bad = await post('i-spot', JSON.stringify({ noticeMs: 10_000_000 }));
    expect(bad.status).toBe(400);
    const badBody = (await bad.json()) as { error: { field: string; message: string } };
    expect(badBody.error.field).toBe('noticeMs');
    expect(badBody.error.message).toMatch(/600000/);
    const extra = await post('i-spot', JSON.stringify({ notice: 1 }));
    expect(extra.status).toBe(400);
    expect((await post('i-spot', '{}', { 'content-type': 'application/json' })).status).toBe(401);
    const get = await fetch(`${api.url}/v1/vms/i-spot/reclaim`, { headers: H });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('randomised ids and bodies never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.oneof(fc.json(), fc.string({ maxLength: 60 })), async (id, body) => {
        const r = await post(encodeURIComponent(id || 'x'), body);
        expect(r.status).toBeLessThan(500);
        await r.body?.cancel();
      }),
      { numRuns: 60 },
    );
  });
});

describe.skipIf(!SERVED)('POST /v1/vms/{id}/reclaim where the world injects no faults', () => {
  it('404 not_found saying where reclaims can be injected', async () => {
    const api = await start(false);
    try {
      const r = await fetch(`${api.url}/v1/vms/i-spot/reclaim`, { method: 'POST', headers: H, body: '{}' });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/local stack/);
    } finally {
      await api.close();
    }
  });
});

