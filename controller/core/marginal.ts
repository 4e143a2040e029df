/**
 * The marginal-VM rule: which VMs of a plan are worth buying (or keeping) given the DISTRIBUTION of
 * the load, not just its peak. Pure functions, no I/O.
 *
 * Stack the fleet's capacity in slices: VM k (capacity c) serves the load between B = the capacity
 * below it and B + c. Over a load distribution L it serves E[min(c, (L - B)+)] rps, so its expected
 * utilisation is
 *   u_k = (E[(L - B)+] - E[(L - B - c)+]) / c,
 * the time-average of how full the k-th slice is. Without VM k that traffic goes to Lambda, so VM k
 * pays off exactly when u_k >= u* (break-even.ts: u* = VM $/s / (Lambda $/request x c)). This is MArk's
 * "buy for the peak" replaced by "buy each slice of the load that is busy more often than u*": the
 * peaks, the fractional top-up above the last busy VM and the forecast misses go to Lambda.
 *
 * Worked number: load 100 rps for 70 % of the time and 250 rps for 30 %, c = 60 rps, u* = 0.27:
 * VM 1 (0-60) u = 1, VM 2 (60-120) u = (0.7 x 40 + 0.3 x 60) / 60 = 0.77, VM 3 (120-180)
 * u = 0.3 x 60 / 60 = 0.30 >= 0.27 -> buy, VM 4 (180-240) u = 0.30 -> buy, VM 5 (240-300)
 * u = 0.3 x 10 / 60 = 0.05 -> Lambda: 4 VMs.
 *
 * A VM not yet running also pays its boot time without serving anything; over a holding period T
 * (the policy uses its ski-rental window) that raises its bar to u* x (1 + boot / T): with boot
 * 80 s, T = 300 s, u* = 0.27 -> 0.34. Running VMs are judged at u* alone, which gives a natural
 * hysteresis band between buying and keeping.
 */

/** Recent load samples (rps) with weights (any non-negative scale; normalised here). */
export interface LoadDistribution {
  samples: readonly number[];
  weights: readonly number[];
}

/**
 * Exponentially weighted empirical distribution of the last samples (oldest first): weight
 * exp(-age / tauSteps), age 0 = newest; at most `maxSamples` (default 3 tau) kept. With tau = 30
 * ticks a step up carries 1 - e^(-k/30) of the weight after k ticks: 28 % after 10 ticks.
 */
export function recentDistribution(history: readonly number[], tauSteps: number, maxSamples?: number): LoadDistribution {
  const tau = Math.max(1, tauSteps);
  const n = Math.min(history.length, Math.max(1, Math.floor(maxSamples ?? 3 * tau)));
  const samples: number[] = [];
  const weights: number[] = [];
  for (let i = history.length - n; i < history.length; i++) {
    const y = history[i]!;
    samples.push(Number.isFinite(y) && y > 0 ? y : 0);
    weights.push(Math.exp(-(history.length - 1 - i) / tau));
  }
  return { samples, weights };
}

/** Weighted E[(L - b)+] (rps above b); 0 for an empty distribution. */
export function expectedExcess(d: LoadDistribution, b: number): number {
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < d.samples.length; i++) {
    const w = d.weights[i] ?? 0;
    wsum += w;
    const e = d.samples[i]! - b;
    if (e > 0) sum += w * e;
  }
  return wsum > 0 ? sum / wsum : 0;
}

/** Expected utilisation of a slice of capacity `capRps` stacked on `belowRps` (0..1). */
export function sliceUtilisation(d: LoadDistribution, belowRps: number, capRps: number): number {
  if (!(capRps > 0)) return 0;
  return (expectedExcess(d, belowRps) - expectedExcess(d, belowRps + capRps)) / capRps;
}

/** The bar a slice must clear: u* for a running VM, u* x (1 + boot / hold) for a new one. */
export function requiredUtilisation(breakEven: number, isNew: boolean, bootDelayMs: number, holdMs: number): number {
  if (!isNew || !(holdMs > 0)) return breakEven;
  return breakEven * (1 + Math.max(0, bootDelayMs) / holdMs);
}
