/**
 * Overload sheds, never collapses (issue 12 item 4), on a real loopback API server: the real app,
 * runtime, spillway policy and HttpVmClient. The VM behind it is a stand-in HTTP server (canned,
 * schema-valid answers; it can hold them until released, which a real VM cannot do on demand),
 * so the tests control exactly how many requests are in flight.
 * - beyond maxInFlight (or the in-flight body bytes), a POST gets 503 `overloaded` + Retry-After
 *   and a JSON error naming the limit, at once and without its body being read;
 * - every admitted request is answered once the backend answers (none lost);
 * - /healthz, /readyz and /v1/status answer while inference is held and while the server is flooded.
 */
import { Agent, type IncomingHttpHeaders, type Server, createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../functions/engine/registry.js';
import { HttpVmClient } from '../../controller/local/vm-client.js';
import { type ApiServer, createApiServer } from '../../controller/server/app.js';
import { ApiMetrics } from '../../controller/server/metrics.js';
import type { ServedVariant } from '../../controller/server/runtime.js';
import { resolveServedVariants } from '../../controller/server/variants.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { NO_MODEL_MSG, SERVED, staticVmRuntime } from './helpers.js';

const MAX_BODY = 8 * 1024 * 1024;

/** The VM stand-in: answers every request it has read whole, at once or when released. */
class StandInVm {
  readonly server: Server;
  /** Requests whose body it read whole. */
  received = 0;
  held: Array<() => void> = [];
  hold = false;
  delayMs = 0;
  constructor(variant: string) {
    const answer = JSON.stringify({
      model: variant,
      weights: 'real',
      outputs: [{ top: [{ index: 1, label: 'one', score: 0.9 }] }],
      timings: { queueMs: 0, preprocessMs: 0, inferenceMs: 1, batchSize: 1 },
      backend: { kind: 'vm', id: 'i-standin' },
    });
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.received++;
        const send = () => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
          res.end(answer);
        };
        if (this.hold) this.held.push(send);
        else if (this.delayMs > 0) setTimeout(send, this.delayMs);
        else send();
      });
    });
    this.server.keepAliveTimeout = 60_000;
  }
  release(): void {
    this.hold = false;
    for (const s of this.held.splice(0)) s();
  }
}

interface Api {
  url: string;
  server: ApiServer;
  /** Bytes the API server read from each closed connection. */
  bytesRead: number[];
  close(): Promise<void>;
}

let served: ReadonlyMap<string, ServedVariant>;
let vm: StandInVm;
let vmUrl = '';

async function startApi(admission: { maxInFlight: number; maxInFlightBodyBytes?: number }): Promise<Api> {
  const name = SERVED!.name;
  // Slots far above the admission limit: the policy always has room, only admission refuses.
  const rt = await staticVmRuntime({ name, vmId: 'i-standin', endpoint: vmUrl, slots: 100_000, sloMs: 10_000, served });
  const vmClient = new HttpVmClient({ maxSocketsPerVm: 1024 });
  const noLambda = {
    invoke: () => Promise.reject(new Error('stand-in Lambda pool: not expected to be called')),
    warm: () => Promise.reject(new Error('stand-in Lambda pool: not expected to be called')),
    setMemory: () => Promise.resolve(),
    describe: () => Promise.resolve([]),
  };
  const server = createApiServer({
    runtime: rt as never,
    vmClient,
    pool: noLambda,
    metrics: new ApiMetrics(),
    backendTimeoutMs: 30_000,
    maxBodyBytes: MAX_BODY,
    admission,
    log: pino({ level: 'silent' }),
  });
  const bytesRead: number[] = [];
  server.on('connection', (s: Socket) => s.on('close', () => bytesRead.push(s.bytesRead)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    bytesRead,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      vmClient.close();
    },
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  json: any;
  ms: number;
}

/** One request; resolves with the answer (later write errors of a refused upload are ignored). */
function call(url: string, path: string, opts: { method?: string; body?: string; agent?: Agent | false } = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      `${url}${path}`,
      {
        method: opts.method ?? 'GET',
        agent: opts.agent ?? false,
        headers: opts.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) } : {},
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, ms: performance.now() - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(opts.body);
  });
}

const inferBody = (imageChars: number) =>
  JSON.stringify({ input: { image: 'A'.repeat(Math.max(4, imageChars - (imageChars % 4))) }, sloMs: 10_000 });

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function expectOverloaded(a: Answer, limitName: RegExp): void {
  expect(a.status).toBe(503);
  expect(a.headers['retry-after']).toBe('1');
  expect(a.headers['connection']).toBe('close');
  expect(a.json.error.code).toBe('overloaded');
  expect(a.json.error.message).toMatch(limitName);
}

describe.skipIf(!SERVED)(`admission before the body is read (VM stand-in, ${SERVED?.name ?? NO_MODEL_MSG})`, () => {
  beforeAll(async () => {
    served = await resolveServedVariants({ registry: loadRegistry(), catalog: loadCatalog(), wanted: [SERVED!.name], sloMs: 10_000 });
    vm = new StandInVm(SERVED!.name);
    await new Promise<void>((r) => vm.server.listen(0, '127.0.0.1', r));
    vmUrl = `http://127.0.0.1:${(vm.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    vm.release();
    vm.server.closeAllConnections();
    await new Promise<void>((r) => vm.server.close(() => r()));
  });

  it('randomised: beyond maxInFlight a POST gets 503 overloaded + Retry-After at once; every admitted one is answered; probes answer meanwhile', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 4, max: 300_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 4, max: 300_000 }), { minLength: 1, maxLength: 8 }),
        async (maxInFlight, extraSizes, admittedSizes) => {
          const api = await startApi({ maxInFlight });
          try {
            vm.hold = true;
            const before = vm.received;
            const sizes = Array.from({ length: maxInFlight }, (_, i) => admittedSizes[i % admittedSizes.length]!);
            const admitted = sizes.map((n) => call(api.url, `/v1/models/${SERVED!.name}/infer`, { method: 'POST', body: inferBody(n) }));
            // All of them read, parsed and waiting on the backend.
            await until(() => vm.received - before === maxInFlight, `${maxInFlight} requests at the backend`);
            expect(api.server.admission.snapshot().inFlight).toBe(maxInFlight);
            const refused = await Promise.all(
              extraSizes.map((n) => call(api.url, '/v1/infer', { method: 'POST', body: inferBody(n) })),
            );
            for (const r of refused) expectOverloaded(r, new RegExp(`limit of ${maxInFlight} inference requests in flight \\(SPILLWAY_MAX_IN_FLIGHT\\)`));
            // The refused never reached the backend.
            expect(vm.received - before).toBe(maxInFlight);
            for (const path of ['/healthz', '/readyz', '/v1/status']) {
              const p = await call(api.url, path);
              expect(p.status, path).toBe(200);
            }
            const ready = await call(api.url, '/readyz');
            expect(ready.json.admission).toMatchObject({ inFlight: maxInFlight, maxInFlight, refused: extraSizes.length });
            vm.release();
            const answers = await Promise.all(admitted);
            for (const a of answers) expect(a.status).toBe(200);
            await until(() => api.server.admission.snapshot().inFlight === 0, 'the gate to empty');
            // Capacity is back: the next request is admitted.
            expect((await call(api.url, `/v1/models/${SERVED!.name}/infer`, { method: 'POST', body: inferBody(8) })).status).toBe(200);
          } finally {
            vm.release();
            await api.close();
          }
        },
      ),
      { numRuns: 8 },
    );
  }, 120_000);

  it('a refused 4 MB upload is not read: 503 before the body, the connection closed after the answer', async () => {
    const api = await startApi({ maxInFlight: 1 });
    try {
      vm.hold = true;
      const held = call(api.url, `/v1/models/${SERVED!.name}/infer`, { method: 'POST', body: inferBody(100) });
      await until(() => api.server.admission.snapshot().inFlight === 1 && vm.held.length === 1, 'one held request');
      const seen = api.bytesRead.length;
      const big = 4 * 1024 * 1024;
      const r = await call(api.url, '/v1/infer', { method: 'POST', body: inferBody(big) });
      expectOverloaded(r, /SPILLWAY_MAX_IN_FLIGHT/);
      await until(() => api.bytesRead.length > seen, 'the refused connection to close');
      const consumed = api.bytesRead.slice(seen).reduce((a, b) => a + b, 0);
      // Headers plus what the socket had buffered, far from 4 MB.
      expect(consumed).toBeLessThan(big / 2);
      vm.release();
      expect((await held).status).toBe(200);
    } finally {
      vm.release();
      await api.close();
    }
  });

  it('the body-byte bound: a second large body beyond maxInFlightBodyBytes is refused naming that limit', async () => {
    const api = await startApi({ maxInFlight: 100, maxInFlightBodyBytes: 1_000_000 });
    try {
      vm.hold = true;
      const first = call(api.url, `/v1/models/${SERVED!.name}/infer`, { method: 'POST', body: inferBody(600_000) });
      await until(() => vm.held.length === 1, 'the first request at the backend');
      const second = await call(api.url, '/v1/infer', { method: 'POST', body: inferBody(600_000) });
      expectOverloaded(second, /limit of 1000000 body bytes in flight \(SPILLWAY_MAX_IN_FLIGHT_BODY_BYTES\); this request declares 600\d{3}/);
      // A small one still fits beside it.
      const small = call(api.url, `/v1/models/${SERVED!.name}/infer`, { method: 'POST', body: inferBody(1_000) });
      await until(() => vm.held.length === 2, 'the small request at the backend');
      vm.release();
      expect((await first).status).toBe(200);
      expect((await small).status).toBe(200);
    } finally {
      vm.release();
      await api.close();
    }
  });

  it('flooded at many times its limit: only 200s and 503 overloaded, none lost, probes answer within 1 s', async () => {
    const MAX_IN_FLIGHT = 16;
    // 4x the limit: the flood's clients share this process's event loop with the server under test,
    // so a bigger client count measures the test's own client, not the server's probe path.
    const CLIENTS = 64;
    const FLOOD_MS = 3_000;
    const api = await startApi({ maxInFlight: MAX_IN_FLIGHT });
    vm.delayMs = 20;
    const before = vm.received;
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const body = inferBody(100_000);
    const statuses = new Map<string, number>();
    const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    const end = performance.now() + FLOOD_MS;
    const client = async () => {
      while (performance.now() < end) {
        try {
          const a = await call(api.url, `/v1/models/${SERVED!.name}/infer`, { method: 'POST', body, agent });
          count(a.status === 503 ? `503 ${a.json?.error?.code}` : String(a.status));
        } catch (err) {
          count(`error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
    };
    const probeMs: Record<string, number[]> = { '/healthz': [], '/readyz': [], '/v1/status': [] };
    const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const probe = async () => {
      await new Promise((r) => setTimeout(r, 200)); // the flood is on
      while (performance.now() < end) {
        for (const path of Object.keys(probeMs)) {
          const a = await call(api.url, path, { agent: probeAgent });
          expect(a.status, path).toBe(200);
          probeMs[path]!.push(a.ms);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await Promise.all([...Array.from({ length: CLIENTS }, client), probe()]);
      await until(() => api.server.admission.snapshot().inFlight === 0, 'the gate to empty');
      const ok = statuses.get('200') ?? 0;
      const shed = statuses.get('503 overloaded') ?? 0;
      // Nothing but answers and sheds: no resets, no 5xx of another kind.
      expect(Object.fromEntries(statuses)).toEqual({ '200': ok, ...(shed > 0 ? { '503 overloaded': shed } : {}) });
      expect(shed).toBeGreaterThan(0);
      // Every request that reached the backend (was admitted) was answered 200.
      expect(vm.received - before).toBe(ok);
      for (const [path, ms] of Object.entries(probeMs)) {
        expect(ms.length, path).toBeGreaterThan(0);
        expect(Math.max(...ms), path).toBeLessThan(1_000);
      }
    } finally {
      vm.delayMs = 0;
      agent.destroy();
      probeAgent.destroy();
      await api.close();
    }
  }, 60_000);
});
