/**
 * mark: MArk (USENIX ATC'19) as its public code behaves, at its best: the live forecast is the
 * running peak of the recent request rate x a factor (its code: x 1.2 over 5 minutes; tuned here:
 * x 1.1 over the last 60 s of tick rates, MARK_PEAK_FACTOR), the
 * instance type is chosen greedily by dollars per request at full utilisation, and requests that
 * find every VM full (Spillway's admission rule) overflow to Lambda at the cheapest memory meeting
 * the SLO (Spillway's right-sizing; the paper used a fixed 3,008 MB, its code's Lambda path is
 * unreachable, we implement the described one). VMs are kept until surplus and past the billing
 * minimum.
 *
 * The greedy $/request choice also covers the last, partly used VM: ceil(forecast / capacity) VMs,
 * except that the top one is bought only if the load it would carry, (forecast - (n - 1) x capacity),
 * costs more on Lambda than the VM does ($/h). Below that the remainder (and at a low enough forecast
 * everything) goes to Lambda: MArk does not always keep one VM.
 */
import type { Policy, PolicyEnv } from '../../core/policy-types.js';
import { lambdaCostPerRequest } from '../../../profiles/pricing.js';
import { lambdaPrior } from '../../core/selector.js';
import { SPOT_SUFFIX, spotAzs } from '../../../profiles/catalog.js';
import { cheapestPerRequest, maxLast, type PolicyFactoryContext, type VmOption, vmOptions } from './common.js';
import { createFleetPolicy, type FleetState } from './fleet.js';

/**
 * MArk's code uses the peak of the last 5 minutes x 1.2; the knob search over the shared traces
 * (test/bench/baseline-knobs.bench.ts, controller/README "How the baselines' knobs were chosen")
 * chose x 1.1 over the last 60 s.
 */
export const MARK_PEAK_FACTOR = 1.1;
export const MARK_PEAK_WINDOW_MS = 60_000;

/** MArk's forecast: running peak of the last window x the factor. */
export function markForecast(
  history: readonly number[],
  tickIntervalMs: number,
  peakFactor = MARK_PEAK_FACTOR,
  peakWindowMs = MARK_PEAK_WINDOW_MS,
): number {
  return maxLast(history, Math.max(1, Math.round(peakWindowMs / tickIntervalMs))) * peakFactor;
}

/**
 * VMs for a forecast: full VMs for floor(f / c); the top partial one only if its load costs more on
 * Lambda ($/request at the chosen memory) than one VM-hour. c5.large x shufflenet (142 rps, $0.085/h)
 * vs Lambda at 2,048 MB ($0.633 per million): the top VM pays for itself above 37 rps.
 */
export function markVmCount(forecastRps: number, capacityRps: number, vmPricePerHourUsd: number, lambdaUsdPerRequest: number): number {
  if (!(forecastRps > 0) || !(capacityRps > 0)) return 0;
  const full = Math.floor(forecastRps / capacityRps);
  const rest = forecastRps - full * capacityRps;
  if (rest <= 0) return full;
  return rest * 3600 * lambdaUsdPerRequest >= vmPricePerHourUsd ? full + 1 : full;
}

function lambdaUsdPerRequest(env: PolicyEnv, s: FleetState): number {
  const m = s.lambdaMemoryMb;
  if (m === undefined) return Number.POSITIVE_INFINITY;
  return lambdaCostPerRequest(env.catalog, m, lambdaPrior(env.catalog, s.variant.profile, m).p50Ms, env.lambdaArch);
}

export interface MarkParams {
  peakFactor: number;
  peakWindowMs: number;
}

export function createMarkPolicy(ctx: PolicyFactoryContext, p: MarkParams = { peakFactor: MARK_PEAK_FACTOR, peakWindowMs: MARK_PEAK_WINDOW_MS }): Policy<FleetState> {
  return createFleetPolicy(
    {
      name: 'mark',
      usesLambda: true,
      desired: (obs, s, env) => {
        const f = markForecast(obs.arrivalRpsHistory, env.tickIntervalMs, p.peakFactor, p.peakWindowMs);
        // Full utilisation at the forecast: the peak factor is MArk's headroom.
        return { count: markVmCount(f, s.option.capacityRps, s.option.pricePerHourUsd, lambdaUsdPerRequest(env, s)), forecastRps: f };
      },
    },
    ctx,
  );
}

/**
 * VMs MArk-on-Spot buys for `need` VMs' worth of forecast: enough that losing the largest AZ pool
 * (ceil(n / pools) of them, the world spreading VMs evenly) still leaves `need`, i.e. the smallest n
 * with n - ceil(n / pools) >= need. With 3 pools: 1 -> 2, 3 -> 5, 10 -> 15 (+50 %).
 */
export function markSpotOverProvisioned(need: number, pools: number): number {
  if (!(need > 0)) return 0;
  const p = Math.max(1, Math.floor(pools));
  if (p === 1) return 2 * need; // one pool: a reclaim takes everything; a second fleet's worth
  let n = need;
  while (n - Math.ceil(n / p) < need) n++;
  return n;
}

/** The Spot market of each on-demand option MArk could choose (same machine, Spot price). */
export function spotOptions(env: PolicyEnv, variant: Parameters<typeof vmOptions>[1]): VmOption[] {
  const out: VmOption[] = [];
  for (const o of vmOptions(env, variant)) {
    const name = `${o.instanceType}${SPOT_SUFFIX}`;
    const t = env.catalog.ec2.instanceTypes.find((x) => x.name === name);
    if (!t || !env.instanceTypes.includes(name)) continue;
    const f = t.pricePerHourUsd / o.pricePerHourUsd;
    out.push({ ...o, instanceType: name, pricePerHourUsd: t.pricePerHourUsd, costPerMillionUsd: o.costPerMillionUsd * f });
  }
  return out;
}

/**
 * mark-spot: MArk with Spot as the issue describes its use (Spot capacity plus over-provisioning
 * against reclaims; the paper's own Spot text was not at hand here, no network): the greedy
 * $/request choice over the Spot markets, MArk's forecast and top-VM rule for the VMs needed, then
 * over-provisioned so one pool's reclaim leaves the forecast covered (markSpotOverProvisioned).
 * Requests that find every VM full, a reclaim's share included, overflow to Lambda as in MArk.
 */
export function createMarkSpotPolicy(ctx: PolicyFactoryContext, p: MarkParams = { peakFactor: MARK_PEAK_FACTOR, peakWindowMs: MARK_PEAK_WINDOW_MS }): Policy<FleetState> {
  return createFleetPolicy(
    {
      name: 'mark-spot',
      usesLambda: true,
      optionChoice: (env, variant) => cheapestPerRequest(spotOptions(env, variant)),
      desired: (obs, s, env) => {
        const f = markForecast(obs.arrivalRpsHistory, env.tickIntervalMs, p.peakFactor, p.peakWindowMs);
        const need = markVmCount(f, s.option.capacityRps, s.option.pricePerHourUsd, lambdaUsdPerRequest(env, s));
        const t = env.catalog.ec2.instanceTypes.find((x) => x.name === s.option.instanceType);
        return { count: markSpotOverProvisioned(need, t ? spotAzs(t).length : 1), forecastRps: f };
      },
    },
    ctx,
  );
}
