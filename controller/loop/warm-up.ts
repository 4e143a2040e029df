/**
 * Lambda warm-ups on the live worlds: one invoke with the warm-up event (functions/engine/protocol.ts
 * WARM_UP_EVENT), no request waiting on it. The policy host counts the warm-up in flight from the
 * moment its slot is claimed; its end, success or not, is reported back so the Lambda view knows
 * one more instance is warm (or that the attempt failed).
 */
import type { Logger } from 'pino';
import type { PolicyHost } from '../core/host/policy-host.js';
import type { ServerlessPoolPort } from '../ports.js';

export interface WarmUpDeps {
  host: PolicyHost<unknown>;
  pool: ServerlessPoolPort;
  timeoutMs: number;
  now?: () => number;
  log?: Logger;
}

/** Runs a warm-up whose slot the host already claimed. Never rejects. */
export function runWarmUp(deps: WarmUpDeps, variant: string): Promise<void> {
  const now = deps.now ?? Date.now;
  // Through a promise, so that even a pool that throws synchronously cannot fail the caller.
  return Promise.resolve()
    .then(() => deps.pool.warm(variant, deps.timeoutMs))
    .then(
      (r) => deps.host.warmUpEnded(variant, now(), true, { billedDurationMs: r.billedDurationMs, memoryMb: r.memoryMb }),
      (err: unknown) => {
        deps.log?.warn({ variant, err }, 'lambda warm-up failed');
        deps.host.warmUpEnded(variant, now(), false);
      },
    );
}

/**
 * Start-up warm-up: tops every served variant up to `perVariant` instances (idle + busy, the warm
 * pool's first warm-ups included), as far as the concurrency limit allows, so that the first
 * request after `npm start` finds a warm instance instead of a 503 while one warms (a cold start
 * does not fit a 250 ms SLO). Resolves when all have finished. Returns how many were started.
 */
export async function warmAtStart(deps: WarmUpDeps, variants: readonly string[], perVariant: number): Promise<number> {
  const now = deps.now ?? Date.now;
  // In waves: the host lets warm-ups hold at most half the pool, so 5 variants at concurrency 8 warm
  // 4, then the 5th once a slot of the first wave is back. A wave that claims nothing ends it.
  let started = 0;
  const warmNow = () => variants.reduce((a, v) => a + deps.host.lambda.idleOf(v, now()).idle, 0);
  for (let wave = 0; wave <= variants.length * perVariant; wave++) {
    const before = warmNow();
    const runs: Promise<void>[] = [];
    for (const v of variants) {
      const { idle } = deps.host.lambda.idleOf(v, now());
      const busy = deps.host.lambda.burstInput(v, now()).inFlight;
      for (let i = idle + busy; i < perVariant; i++) {
        if (!deps.host.claimWarmUpSlot(v, now())) break;
        runs.push(runWarmUp(deps, v));
      }
    }
    await Promise.all(runs);
    started += runs.length;
    // Nothing claimed, or a wave that warmed nothing (the function fails): stop, do not retry forever.
    if (runs.length === 0 || warmNow() <= before) return started;
  }
  return started;
}
