/**
 * Burst guard for Lambda memory updates. UpdateFunctionConfiguration makes every new request
 * land on a fresh execution environment (a cold start: runtime init + model load, hundreds of ms
 * to seconds), so changing memory in the middle of a burst turns the burst into a cold-start storm.
 * This is the pure decision; LambdaPool feeds it the in-flight count and recent invoke times.
 *
 * Worked example with the defaults: window 10 s, maxRecentRps 2 -> refuse if more than 20 invokes
 * of this variant started in the last 10 s, or if more than 0 are in flight right now.
 */

export interface BurstGuardOptions {
  /** Refuse while more than this many invokes of the variant are in flight. @default 0 */
  maxInFlight?: number;
  /** Refuse while the recent invoke rate (per second, over windowMs) is above this. @default 2 */
  maxRecentRps?: number;
  /** Window for the recent rate. @default 10_000 */
  windowMs?: number;
}

export type BurstGuardDecision = { allowed: true } | { allowed: false; reason: string };

export function decideMemoryUpdate(
  input: { inFlight: number; recentInvokeTimesMs: readonly number[]; nowMs: number },
  opts: BurstGuardOptions = {},
): BurstGuardDecision {
  const maxInFlight = opts.maxInFlight ?? 0;
  const maxRecentRps = opts.maxRecentRps ?? 2;
  const windowMs = opts.windowMs ?? 10_000;
  if (input.inFlight > maxInFlight) {
    return {
      allowed: false,
      reason: `${input.inFlight} invocations in flight (burst guard maxInFlight=${maxInFlight})`,
    };
  }
  const since = input.nowMs - windowMs;
  const recent = input.recentInvokeTimesMs.filter((t) => t > since).length;
  const rps = recent / (windowMs / 1000);
  if (rps > maxRecentRps) {
    return {
      allowed: false,
      reason: `recent rate ${rps.toFixed(2)} rps over ${windowMs} ms is above burst guard maxRecentRps=${maxRecentRps}`,
    };
  }
  return { allowed: true };
}
