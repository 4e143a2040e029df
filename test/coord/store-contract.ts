/**
 * The CoordinationStore contract: every adapter (memory, the local HTTP store, DynamoDB) runs this
 * same suite from its own test file, so the lease, fencing, plan versions and observation cursors
 * mean the same everywhere. Time is a manual clock (plain numbers passed as nowMs); no test sleeps.
 *
 * A fixture gives two clients of ONE backing store (two HTTP clients, two DynamoDB clients on one
 * table, or the same memory store twice): races go through both, as two processes would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CoordinationInputError,
  type CoordinationStore,
  MAX_COORD_BODY_BYTES,
  StaleFenceError,
} from '../../controller/coord/coordination-port.js';

export interface StoreFixture {
  a: CoordinationStore;
  b: CoordinationStore;
  close(): Promise<void>;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to be refused, it succeeded');
}

async function expectStale(p: Promise<unknown>, currentFence: number): Promise<void> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(StaleFenceError);
  expect((err as StaleFenceError).currentFence).toBe(currentFence);
}

export function storeContract(adapter: string, open: () => Promise<StoreFixture>, timeoutMs = 20_000): void {
  describe(`CoordinationStore contract: ${adapter}`, { timeout: timeoutMs }, () => {
    let fx: StoreFixture;
    beforeEach(async () => {
      fx = await open();
    });
    afterEach(async () => {
      await fx.close();
    });
    const ttlMs = 10_000;

    it('of eight holders racing for a free lease (concurrently, through two clients) exactly one wins', async () => {
      const holders = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'];
      const results = await Promise.all(
        holders.map((h, i) => (i % 2 === 0 ? fx.a : fx.b).acquireOrRenewLease(h, 1_000, ttlMs)),
      );
      const winners = results.filter((r) => r.held);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!.lease;
      expect(winner.fence).toBe(1);
      expect(winner.expiresAtMs).toBe(11_000);
      expect(holders).toContain(winner.holderId);
      // Every loser was told who holds it (possibly an older read, never a different holder).
      for (const r of results.filter((x) => !x.held)) expect(r.lease.holderId).toBe(winner.holderId);
      expect(await fx.b.readLease()).toEqual(winner);
    });

    it('two holders racing for an expired lease: exactly one takes over, with fence + 1', async () => {
      await fx.a.acquireOrRenewLease('old', 0, ttlMs);
      const [x, y] = await Promise.all([
        fx.a.acquireOrRenewLease('X', 20_000, ttlMs),
        fx.b.acquireOrRenewLease('Y', 20_000, ttlMs),
      ]);
      expect([x.held, y.held].filter(Boolean)).toHaveLength(1);
      const won = x.held ? x.lease : y.lease;
      expect(won.fence).toBe(2);
      expect(await fx.a.readLease()).toEqual(won);
    });

    it('expiry follows the caller-supplied clock exactly (nowMs >= expiresAtMs)', async () => {
      expect(await fx.a.readLease()).toBeUndefined();
      const a0 = await fx.a.acquireOrRenewLease('A', 0, ttlMs);
      expect(a0).toEqual({ held: true, lease: { holderId: 'A', fence: 1, expiresAtMs: 10_000 } });
      const early = await fx.b.acquireOrRenewLease('B', 9_999, ttlMs);
      expect(early).toEqual({ held: false, lease: { holderId: 'A', fence: 1, expiresAtMs: 10_000 } });
      const onTime = await fx.b.acquireOrRenewLease('B', 10_000, ttlMs);
      expect(onTime).toEqual({ held: true, lease: { holderId: 'B', fence: 2, expiresAtMs: 20_000 } });
      const late = await fx.a.acquireOrRenewLease('A', 10_001, ttlMs);
      expect(late).toEqual({ held: false, lease: { holderId: 'B', fence: 2, expiresAtMs: 20_000 } });
    });

    it('the fence grows only on a change of holder; renewals keep it', async () => {
      const seen: number[] = [];
      let t = 0;
      for (const [holder, store] of [
        ['A', fx.a],
        ['A', fx.a],
        ['B', fx.b],
        ['B', fx.b],
        ['B', fx.a],
        ['A', fx.b],
      ] as const) {
        const r = await store.acquireOrRenewLease(holder, t, ttlMs);
        expect(r.held).toBe(true);
        seen.push(r.lease.fence);
        t += ttlMs; // expired by the next step
      }
      expect(seen).toEqual([1, 1, 2, 2, 2, 3]);
      // A renewal before expiry keeps the fence too and moves the expiry.
      const renewed = await fx.a.acquireOrRenewLease('A', t - ttlMs + 1, ttlMs);
      expect(renewed).toEqual({ held: true, lease: { holderId: 'A', fence: 3, expiresAtMs: t + 1 } });
    });

    it('a stale fence is refused for publishPlan, saveLearnedState and trimObservations', async () => {
      // No lease at all: current fence 0.
      await expectStale(fx.a.publishPlan(1, 0, { x: 1 }), 0);
      await fx.a.acquireOrRenewLease('A', 0, ttlMs);
      await fx.a.publishPlan(1, 1, { by: 'A' });
      await fx.a.saveLearnedState(1, 1, { learned: 'A' });
      await fx.a.publishObservations({ routerId: 'r1', seq: 1, fromMs: 0, toMs: 1_000, body: { n: 1 } });
      await fx.b.acquireOrRenewLease('B', 10_000, ttlMs); // A expired: B takes over, fence 2

      await expectStale(fx.a.publishPlan(1, 10_001, { by: 'A late' }), 2);
      await expectStale(fx.a.saveLearnedState(1, 10_001, { learned: 'A late' }), 2);
      await expectStale(fx.a.trimObservations({ r1: 1 }, 1), 2);
      // A fence from the future is refused too.
      await expectStale(fx.b.publishPlan(3, 10_001, {}), 2);

      // Nothing of A's late writes landed.
      expect((await fx.b.readPlan())?.body).toEqual({ by: 'A' });
      expect((await fx.b.loadLearnedState())?.body).toEqual({ learned: 'A' });
      expect(await fx.b.readObservations({})).toHaveLength(1);

      // The new holder's writes go through.
      const plan = await fx.b.publishPlan(2, 10_002, { by: 'B' });
      expect(plan).toEqual({ version: 2, fence: 2, atMs: 10_002, body: { by: 'B' } });
      await fx.b.saveLearnedState(2, 10_002, { learned: 'B' });
      expect(await fx.a.loadLearnedState()).toEqual({ fence: 2, atMs: 10_002, body: { learned: 'B' } });
      await fx.b.trimObservations({ r1: 1 }, 2);
      expect(await fx.a.readObservations({})).toEqual([]);
    });

    it('plan versions grow by one per publish, across planners and under concurrent publishes', async () => {
      expect(await fx.a.readPlan()).toBeUndefined();
      await fx.a.acquireOrRenewLease('A', 0, ttlMs);
      const p1 = await fx.a.publishPlan(1, 5, { n: 1, nested: { list: [1, 'two', null, true] } });
      expect(p1).toEqual({
        version: 1,
        fence: 1,
        atMs: 5,
        body: { n: 1, nested: { list: [1, 'two', null, true] } },
      });
      expect(await fx.b.readPlan()).toEqual(p1);
      const concurrent = await Promise.all(
        [2, 3, 4, 5].map((n, i) => (i % 2 ? fx.a : fx.b).publishPlan(1, 10 + n, { n })),
      );
      expect(concurrent.map((p) => p.version).sort((x, y) => x - y)).toEqual([2, 3, 4, 5]);
      const newest = await fx.a.readPlan();
      expect(newest?.version).toBe(5);
      expect(newest).toEqual(concurrent.find((p) => p.version === 5));
      await fx.b.acquireOrRenewLease('B', 20_000, ttlMs);
      const p6 = await fx.b.publishPlan(2, 20_001, null);
      expect(p6).toEqual({ version: 6, fence: 2, atMs: 20_001, body: null });
    });

    it('observations are read after per-router cursors, oldest first, and trimmed up to a cursor', async () => {
      await fx.a.acquireOrRenewLease('P', 0, ttlMs);
      // Published out of order and from both clients, as routers do.
      await fx.b.publishObservations({
        routerId: 'r2',
        seq: 1,
        fromMs: 0,
        toMs: 1_000,
        body: { arrivals: 20 },
      });
      await fx.a.publishObservations({
        routerId: 'r1',
        seq: 2,
        fromMs: 1_000,
        toMs: 2_000,
        body: { arrivals: 11 },
      });
      await fx.a.publishObservations({
        routerId: 'r1',
        seq: 1,
        fromMs: 0,
        toMs: 1_000,
        body: { arrivals: 10 },
      });
      await fx.b.publishObservations({
        routerId: 'r2',
        seq: 2,
        fromMs: 1_000,
        toMs: 2_000,
        body: { arrivals: 21 },
      });
      await fx.a.publishObservations({
        routerId: 'r1',
        seq: 3,
        fromMs: 2_000,
        toMs: 3_000,
        body: { arrivals: 12 },
      });

      const all = await fx.a.readObservations({});
      expect(all.map((o) => `${o.routerId}#${o.seq}`)).toEqual(['r1#1', 'r2#1', 'r1#2', 'r2#2', 'r1#3']);
      expect(all[0]).toEqual({ routerId: 'r1', seq: 1, fromMs: 0, toMs: 1_000, body: { arrivals: 10 } });

      const after = await fx.b.readObservations({ r1: 2, r2: 0 });
      expect(after.map((o) => `${o.routerId}#${o.seq}`)).toEqual(['r2#1', 'r2#2', 'r1#3']);
      expect(await fx.b.readObservations({ r1: 3, r2: 2 })).toEqual([]);

      // A retried publish of the same (router, seq) is one observation, the latest body.
      await fx.b.publishObservations({
        routerId: 'r2',
        seq: 2,
        fromMs: 1_000,
        toMs: 2_000,
        body: { arrivals: 22 },
      });
      const r2 = await fx.a.readObservations({ r1: 3, r2: 1 });
      expect(r2).toEqual([{ routerId: 'r2', seq: 2, fromMs: 1_000, toMs: 2_000, body: { arrivals: 22 } }]);

      await fx.a.trimObservations({ r1: 2, r2: 1 }, 1);
      const left = await fx.b.readObservations({});
      expect(left.map((o) => `${o.routerId}#${o.seq}`)).toEqual(['r2#2', 'r1#3']);
      // Trimming a router with nothing stored, or below what is left, is a no-op.
      await fx.a.trimObservations({ r9: 5, r1: 1 }, 1);
      expect(await fx.b.readObservations({})).toHaveLength(2);
    });

    it('release lets a successor take over at once, with fence + 1; a deposed release changes nothing', async () => {
      await fx.a.acquireOrRenewLease('A', 0, ttlMs);
      await fx.a.releaseLease('A', 1);
      const b = await fx.b.acquireOrRenewLease('B', 1, ttlMs); // long before A's 10,000 expiry
      expect(b).toEqual({ held: true, lease: { holderId: 'B', fence: 2, expiresAtMs: 10_001 } });
      // A, deposed, releasing again (or with the wrong fence) neither throws nor frees B's lease.
      await fx.a.releaseLease('A', 1);
      await fx.a.releaseLease('B', 1);
      expect(await fx.a.readLease()).toEqual(b.lease);
      const c = await fx.a.acquireOrRenewLease('C', 2, ttlMs);
      expect(c.held).toBe(false);
    });

    it('learned state round-trips as JSON and is fence-checked', async () => {
      expect(await fx.a.loadLearnedState()).toBeUndefined();
      await fx.a.acquireOrRenewLease('A', 0, ttlMs);
      const body = { forecasts: { resnet: [1.5, 2.25] }, boot: { 'c5.large': 41_000 }, empty: {}, s: 'é ✓' };
      await fx.a.saveLearnedState(1, 7, body);
      expect(await fx.b.loadLearnedState()).toEqual({ fence: 1, atMs: 7, body });
    });

    it('bad input is refused with the field named, and nothing is written', async () => {
      await fx.a.acquireOrRenewLease('A', 0, ttlMs);
      await fx.a.publishPlan(1, 0, { small: true });
      const big = { blob: 'x'.repeat(MAX_COORD_BODY_BYTES) };
      const err = await rejection(fx.a.publishPlan(1, 1, big));
      expect(err).toBeInstanceOf(CoordinationInputError);
      expect((err as Error).message).toMatch(
        new RegExp(`${MAX_COORD_BODY_BYTES + 11} bytes .*exceeds the limit of ${MAX_COORD_BODY_BYTES} bytes`),
      );
      expect((await fx.b.readPlan())?.body).toEqual({ small: true });
      await expect(fx.a.saveLearnedState(1, 1, big)).rejects.toThrow(CoordinationInputError);

      await expect(fx.a.acquireOrRenewLease('', 0, ttlMs)).rejects.toThrow(/holderId/);
      await expect(fx.a.acquireOrRenewLease('A', 0, 0)).rejects.toThrow(/ttlMs/);
      await expect(
        fx.a.publishObservations({ routerId: 'bad id/with slash', seq: 1, fromMs: 0, toMs: 1, body: {} }),
      ).rejects.toThrow(/routerId/);
      await expect(
        fx.a.publishObservations({ routerId: 'r1', seq: 0, fromMs: 0, toMs: 1, body: {} }),
      ).rejects.toThrow(/seq/);
      await expect(fx.a.readObservations({ r1: -1 })).rejects.toThrow(/r1/);
      expect(await fx.a.readObservations({})).toEqual([]);
      expect(await fx.a.readLease()).toEqual({ holderId: 'A', fence: 1, expiresAtMs: 10_000 });
    });
  });
}
