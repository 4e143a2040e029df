/**
 * The local cluster under faults (issue 12): three real router processes behind real HAProxy, the
 * supervisor's store, fleet service, local Lambda runtime and VM fleet; a steady load through the
 * balancer the whole time. In order:
 *   1. SIGSTOP the planner past its lease: another router takes the lease (fence + 1) within
 *      lease + 1 tick; after SIGCONT the old planner's next write is refused and it steps down.
 *   2. SIGKILL the (new) planner mid-load: a third router takes over within lease + 1 tick; HAProxy
 *      routes around the dead router; only requests in flight on it may fail (their connection is
 *      closed); every other request is answered (200 or a JSON error).
 *   No launch is ever made twice (client tokens unique in the fleet service's log).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { LocalConfigSchema } from '../../controller/config/schema.js';
import { haproxyAvailable } from '../../controller/cluster/haproxy.js';
import { type Cluster, startCluster } from '../../controller/cluster/supervisor.js';

const HAVE_HAPROXY = haproxyAvailable();
const CAT = readFileSync(join(repoRoot(), 'functions', 'models', 'samples', 'ort_cat.jpg')).toString('base64');
const TICK_MS = 500;
const LEASE_MS = 1_500;

interface Outcome {
  status: number;
  error?: string;
  atMs: number;
}

describe.skipIf(!HAVE_HAPROXY && !process.env['CI'])('local cluster faults (3 routers, HAProxy, lease)', () => {
  let cluster: Cluster;
  const logs: Array<{ router: string; line: string }> = [];
  const outcomes: Outcome[] = [];
  let loadOn = true;
  let load: Promise<void>;

  beforeAll(async () => {
    const config = LocalConfigSchema.parse({
      world: 'local',
      port: 0,
      routers: 3,
      tickIntervalMs: TICK_MS,
      leaseTtlMs: LEASE_MS,
      vmBootDelayMs: 1_000,
      lambdaWarmAtStart: 0,
      logLevel: 'info',
      drainTimeoutMs: 1_000,
    });
    cluster = await startCluster(config, { log: pino({ level: 'silent' }), routerStderr: (router, line) => logs.push({ router, line }) });
    // ~10 rps, each request with acceptLate so that a cold start is an answer, not a 503.
    const body = JSON.stringify({ task: 'image-classification', sloMs: 5_000, minAccuracy: 0, acceptLate: true, input: { image: CAT } });
    load = (async () => {
      const inflight = new Set<Promise<void>>();
      while (loadOn) {
        const p = fetch(`${cluster.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(20_000) })
          .then(async (res) => {
            const json = (await res.json()) as { error?: string };
            outcomes.push({ status: res.status, atMs: Date.now(), ...(json.error ? { error: json.error } : {}) });
          })
          .catch((err: unknown) => {
            outcomes.push({ status: 0, error: `${String(err)} (${String((err as { cause?: unknown }).cause)})`, atMs: Date.now() });
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
        await new Promise((r) => setTimeout(r, 100));
      }
      await Promise.all([...inflight]);
    })();
  }, 120_000);

  afterAll(async () => {
    loadOn = false;
    await load;
    await cluster?.close();
  }, 60_000);

  async function holder(): Promise<{ holderId: string; fence: number }> {
    const lease = await cluster.store.store.readLease();
    expect(lease).toBeDefined();
    return lease!;
  }

  async function waitFor<T>(what: string, f: () => Promise<T | undefined>, withinMs: number): Promise<{ value: T; tookMs: number }> {
    const start = Date.now();
    for (;;) {
      const v = await f();
      if (v !== undefined) return { value: v, tookMs: Date.now() - start };
      if (Date.now() - start > withinMs) throw new Error(`${what} did not happen within ${withinMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('SIGSTOP past the lease: a successor within lease + 1 tick; after SIGCONT the old planner is refused and steps down', async () => {
    await waitFor('a first planner', async () => (await cluster.store.store.readPlan()) ?? undefined, 30_000);
    await new Promise((r) => setTimeout(r, 3_000));
    const first = await holder();
    const victim = cluster.routers.find((r) => r.id === first.holderId)!;
    process.kill(victim.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    const { value: next } = await waitFor(
      'a new lease holder',
      async () => {
        const l = await holder();
        return l.holderId !== first.holderId ? l : undefined;
      },
      LEASE_MS + 4 * TICK_MS + 2_000,
    );
    const failoverMs = Date.now() - stoppedAt;
    expect(next.fence).toBe(first.fence + 1);
    // Lease + 1 tick, plus the 50 ms poll and a tick's jitter on a loaded 2-core machine.
    expect(failoverMs).toBeLessThanOrEqual(LEASE_MS + TICK_MS + 1_500);
    await new Promise((r) => setTimeout(r, 1_000));
    process.kill(victim.pid, 'SIGCONT');
    await waitFor(
      'the old planner stepping down',
      async () => (logs.some((l) => l.router === victim.id && l.line.includes('"event":"planner-deposed"')) ? true : undefined),
      10_000,
    );
    console.log(`[cluster] SIGSTOP failover took ${failoverMs} ms (lease ${LEASE_MS} ms, tick ${TICK_MS} ms)`);
  }, 60_000);

  it('SIGKILL the planner mid-load: a successor within lease + 1 tick, only requests in flight on it fail, with a clear error', async () => {
    const before = await holder();
    const victim = cluster.routers.find((r) => r.id === before.holderId)!;
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    const { value: next } = await waitFor(
      'a new lease holder',
      async () => {
        const l = await holder();
        return l.holderId !== before.holderId ? l : undefined;
      },
      LEASE_MS + 4 * TICK_MS + 2_000,
    );
    const failoverMs = Date.now() - killedAt;
    expect(next.fence).toBe(before.fence + 1);
    expect(failoverMs).toBeLessThanOrEqual(LEASE_MS + TICK_MS + 1_500);
    // Keep the load on for a while after the kill, then look at every answer.
    await new Promise((r) => setTimeout(r, 8_000));
    const lateStart = killedAt + 1_500;
    const failures = outcomes.filter((o) => o.status !== 200);
    // A request in flight on the killed router: HAProxy closes the client connection (measured:
    // HAProxy 2.6 sends no 502 for a server that died mid-response here), so the client sees
    // "other side closed". Those are the only ones allowed to end without an answer, and only in
    // the second after the kill; everything else that is not a 200 is a JSON error body.
    const cutOff = failures.filter((f) => f.status === 0 || f.error === 'router_failed');
    for (const f of cutOff) {
      expect(f.atMs - killedAt, JSON.stringify(f)).toBeLessThanOrEqual(1_500);
      if (f.status === 0) expect(f.error).toContain('other side closed');
    }
    for (const f of failures.filter((g) => !cutOff.includes(g))) expect(f.error, JSON.stringify(f)).toBeTruthy();
    const routerFailed = cutOff;
    // Only the requests in flight on the killed router at the kill: ~10 rps x its third x < 1 s.
    expect(routerFailed.length).toBeLessThanOrEqual(10);
    // After the balancer noticed (2 x 500 ms checks), requests are answered again.
    expect(outcomes.filter((o) => o.atMs >= lateStart && o.status === 200).length).toBeGreaterThan(0);
    const tokens = cluster.fleetService.stats.launches.map((l) => l.clientToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    // The supervisor restarted the killed router on its old port: a new process answers there.
    // A router's start (tsx + model load) takes seconds on a loaded 2-core CI machine, so the
    // restart is awaited, not assumed done within the 8 s above.
    const { tookMs: restartWaitMs } = await waitFor('the killed router restarted', async () => (victim.restarts >= 1 ? true : undefined), 30_000);
    const victimPid = victim.pid;
    expect(victim.restarts).toBe(1);
    expect(() => process.kill(victimPid, 0)).not.toThrow();
    expect((await fetch(`http://127.0.0.1:${victim.port}/healthz`)).status).toBe(200);
    console.log(
      `[cluster] ${victim.id} restarted as pid ${victimPid} on :${victim.port} (${restartWaitMs} ms after the 8 s of load)`,
    );
    console.log(
      `[cluster] SIGKILL failover took ${failoverMs} ms; ${outcomes.length} requests, ${outcomes.filter((o) => o.status === 200).length} ok, ${routerFailed.length} router_failed, statuses ${JSON.stringify(Object.fromEntries(failures.map((f) => [f.status, failures.filter((g) => g.status === f.status).length])))}; launches ${tokens.length}, fleet refusals ${cluster.fleetService.stats.refused}`,
    );
  }, 60_000);
});
