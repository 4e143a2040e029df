/**
 * How many Lambda instances of a variant to keep warm (idle or busy) ahead of demand. A cold start
 * (0.3-10 s) does not fit a sub-second SLO, and the router does not start one for a request that
 * cannot wait (router.ts: 503 + warm-up instead), so the instances a burst needs must exist before
 * it arrives. Concurrency demand is Poisson with mean = Lambda rps x occupancy (Little's law); the
 * pool is its `quantile`, so a tick's worth of arrivals overflows it only 1 - quantile of the time.
 * Worked number: 27 rps spilled to Lambda at 45 ms each -> mean 1.2 busy instances; the 99.9 %
 * quantile of Poisson(1.2) is 6, so 6 warm instances, 5 of them idle most of the time. Keeping an
 * idle instance warm costs one short invoke per keep-alive period (AWS: minutes), cents a month.
 */

/** Smallest k with P(Poisson(mean) <= k) >= q. Normal approximation above mean 200. */
export function poissonQuantile(mean: number, q: number): number {
  if (!(mean > 0)) return 0;
  if (mean > 200) {
    const z = normalQuantile(q);
    return Math.ceil(mean + z * Math.sqrt(mean) + 0.5);
  }
  let pmf = Math.exp(-mean);
  let cdf = pmf;
  let k = 0;
  while (cdf < q && k < 10_000) {
    k++;
    pmf *= mean / k;
    cdf += pmf;
  }
  return k;
}

/** Inverse of normalCdf by bisection (q is a config value near 1; 60 steps reach double precision). */
function normalQuantile(q: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function normalCdf(x: number): number {
  // Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7).
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

export interface WarmPoolInput {
  /** Load the plan is sized for (rps, all variants of all tasks). */
  planRps: number;
  /** Traffic share per variant (sums to 1 over the tasks' variants in use, times the task share). */
  shares: Readonly<Record<string, number>>;
  /** Capacity (rps, at the planned utilisation) of the variant's READY VMs: what Lambda need not carry. */
  readyVmRps: Readonly<Record<string, number>>;
  /**
   * Capacity of the variant's largest single ready VM (rps, same units). The pool also covers that
   * VM's traffic, because the router moves it to Lambda at once when the VM slows down, crashes or
   * is replaced, and a cold start does not fit the SLO. @default 0 (no VM failure covered)
   */
  largestReadyVmRps?: Readonly<Record<string, number>>;
  /** Time one Lambda request holds an instance (ms), per variant. */
  occupancyMs: Readonly<Record<string, number>>;
  /** Quantile of Poisson concurrency demand to cover, e.g. 0.999; 0 turns the pool off. */
  quantile: number;
  /** Instances the pool may hold in total (Lambda concurrency Spillway may use). */
  concurrencyLimit: number;
}

/**
 * Warm instances to hold per variant: the demand quantile above, for the load beyond the ready VMs
 * less the largest one, at least 1 for a variant in the mix (so the first spilled request is warm),
 * scaled down together if they exceed the limit.
 */
export function warmPoolTargets(input: WarmPoolInput): Record<string, number> {
  const out: Record<string, number> = {};
  if (!(input.quantile > 0)) return out;
  let total = 0;
  for (const [v, share] of Object.entries(input.shares)) {
    if (!(share > 0)) continue;
    // N-1 VM capacity: one c7a.medium of shufflenet (64 rps at 45 ms per Lambda request) fails ->
    // 64 x 0.045 = 2.9 busy instances on average, Poisson 99.9 % = 9 warm (capped by the limit below).
    const survivingVmRps = (input.readyVmRps[v] ?? 0) - (input.largestReadyVmRps?.[v] ?? 0);
    const lambdaRps = Math.max(0, input.planRps * share - Math.max(0, survivingVmRps));
    const occS = Math.max(0, input.occupancyMs[v] ?? 0) / 1000;
    const n = Math.max(1, poissonQuantile(lambdaRps * occS, input.quantile));
    out[v] = n;
    total += n;
  }
  const limit = Math.max(0, Math.floor(input.concurrencyLimit));
  if (total > limit && total > 0) {
    for (const v of Object.keys(out)) out[v] = Math.max(limit >= Object.keys(out).length ? 1 : 0, Math.floor((out[v]! * limit) / total));
  }
  return out;
}
