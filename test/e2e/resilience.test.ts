/**
 * Failure paths end to end: a VM process killed mid-load (its in-flight requests are retried on
 * Lambda or another VM, none lost), and Lambda throttling with a concurrency limit of 1 (requests
 * fall back to a VM or get a clear 503 with Retry-After, and nothing hangs).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Stack } from '../../controller/server/stack.js';
import { runLoad } from '../../controller/replay/load-gen.js';
import { loadSampleImagesBase64 } from '../../controller/replay/samples.js';
import { SMALL_VARIANT, startTestStack } from './helpers.js';

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Launch one VM directly through the fleet port and wait until the router sees it ready. */
async function oneReadyVm(stack: Stack, token: string): Promise<string> {
  const instanceType = stack.config.world === 'local' ? stack.config.instanceType : (stack.config.instanceTypes[0] ?? '');
  const [rec] = await stack.fleet.launch({ instanceType, variant: SMALL_VARIANT, count: 1, clientToken: token });
  await waitFor(
    async () => {
      await stack.loop.refreshFleet();
      return stack.runtime.vms.some((v) => v.id === rec!.id && v.state === 'ready');
    },
    60_000,
    'VM ready',
  );
  return rec!.id;
}

const images = loadSampleImagesBase64();

describe('resilience (real processes, loopback)', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('a VM killed mid-load: its in-flight requests are retried elsewhere, none lost', async () => {
    // maxVms 1 and a long tick: the policy cannot replace the VM during the test, so requests
    // in flight on the VM when it dies must be rescued by the router's fallback (Lambda).
    stack = await startTestStack({
      vmBootDelayMs: 500,
      maxVms: 1,
      tickIntervalMs: 60_000,
      lambdaConcurrency: 4,
      backendTimeoutMs: 60_000,
    });
    const vmId = await oneReadyVm(stack, 'kill-test');
    const pid = stack.localFleet.pidOf(vmId);
    expect(pid).toBeGreaterThan(0);
    const s = stack;
    let killed = false;
    const killer = setInterval(() => {
      // Kill while the VM has requests in flight, so some are caught mid-request.
      const v = s.runtime.vms.find((x) => x.id === vmId);
      if (!killed && v && v.outstanding > 0 && s.runtime.totals.vm >= 10) {
        killed = true;
        process.kill(pid!, 'SIGKILL');
      }
    }, 5);
    const r = await runLoad({
      url: s.url,
      rpsPerSecond: [20, 20, 10, 10, 10],
      task: 'image-classification',
      sloMs: 60_000,
      minAccuracy: 0,
      imagesBase64: images,
      requestTimeoutMs: 90_000,
    });
    clearInterval(killer);
    expect(killed).toBe(true);
    const byStatus: Record<string, number> = {};
    for (const o of r.outcomes) byStatus[String(o.status)] = (byStatus[String(o.status)] ?? 0) + 1;
    expect(r.outcomes.length).toBeGreaterThan(30);
    // Nothing lost or failed: every request got 200, or (new arrivals while Lambda's few
    // instances were busy cold-starting) a clear 503 with Retry-After.
    expect(Object.keys(byStatus).filter((k) => k !== '200' && k !== '503'), JSON.stringify(byStatus)).toEqual([]);
    for (const o of r.outcomes.filter((x) => x.status === 503)) expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(s.runtime.totals.failed).toBe(0);
    // Requests caught on the dying VM were re-dispatched and answered.
    const rescued = r.outcomes.filter((o) => o.status === 200 && (o.retries ?? 0) > 0);
    expect(rescued.length).toBeGreaterThan(0);
    expect(rescued.every((o) => o.backend === 'lambda')).toBe(true);
    expect(r.outcomes.some((o) => o.backend === 'vm')).toBe(true);
    expect(s.runtime.vms.find((v) => v.id === vmId)?.state ?? 'gone').not.toBe('ready');
  });

  it('Lambda throttling (concurrency 1): fall back to a VM or a clear 503 with Retry-After, never hang', async () => {
    stack = await startTestStack({ vmBootDelayMs: 500, maxVms: 1, tickIntervalMs: 60_000, lambdaConcurrency: 1, backendTimeoutMs: 60_000 });
    const s = stack;
    // Phase 1, no VM: a burst far over one Lambda instance's concurrency.
    const noVm = await runLoad({
      url: s.url,
      rpsPerSecond: [40, 40],
      task: 'image-classification',
      sloMs: 30_000,
      minAccuracy: 0,
      imagesBase64: images,
      requestTimeoutMs: 45_000,
    });
    const lost = noVm.outcomes.filter((o) => o.status === 'timeout' || o.status === 'error');
    expect(lost).toHaveLength(0);
    const rejected = noVm.outcomes.filter((o) => o.status === 503);
    expect(rejected.length).toBeGreaterThan(0);
    for (const o of rejected) expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(1);
    const other = noVm.outcomes.filter((o) => o.status !== 200 && o.status !== 503);
    expect(other.map((o) => `${o.status} ${o.error ?? ''}`)).toEqual([]);

    // Phase 2, one VM ready: throttled requests fall back to it instead of failing.
    await oneReadyVm(s, 'throttle-test');
    const before = s.runtime.totals.rejected + s.runtime.totals.failed;
    const withVm = await runLoad({
      url: s.url,
      rpsPerSecond: [40, 40],
      task: 'image-classification',
      sloMs: 30_000,
      minAccuracy: 0,
      imagesBase64: images,
      requestTimeoutMs: 45_000,
    });
    expect(withVm.outcomes.filter((o) => o.status === 'timeout' || o.status === 'error')).toHaveLength(0);
    const ok = withVm.outcomes.filter((o) => o.status === 200);
    expect(ok.filter((o) => o.backend === 'vm').length).toBeGreaterThan(0);
    // With a VM to fall back to, fewer requests are turned away than without one.
    const rejectedWithVm = s.runtime.totals.rejected + s.runtime.totals.failed - before;
    expect(rejectedWithVm / withVm.outcomes.length).toBeLessThan(rejected.length / noVm.outcomes.length);
  });
});
