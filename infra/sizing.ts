/**
 * Deployment-time sizing from the measured profiles and the price catalog:
 * - Lambda memory per variant: the cheapest profiled memory size whose predicted p99 meets the
 *   SLO (profiles/<variant>.json "lambda" estimates); the fastest one if none meets it; the
 *   fallback when the variant has no profile.
 * - Idle cost: what the deployment costs per hour with no traffic (controller host from the
 *   catalog + load balancer + secret), for the deploy guide.
 */
import type { Catalog } from '../profiles/catalog.js';
import type { VariantProfile } from '../profiles/schema.js';

export interface LambdaSizing {
  memoryMb: number;
  source: 'profile-meets-slo' | 'profile-fastest' | 'fallback';
  p99Ms?: number;
}

export function rightSizeLambdaMemory(
  profile: VariantProfile | undefined,
  sloMs: number,
  fallbackMemoryMb: number,
): LambdaSizing {
  const estimates = profile?.lambda ?? [];
  if (estimates.length === 0) return { memoryMb: fallbackMemoryMb, source: 'fallback' };
  const meeting = estimates.filter((e) => e.p99Ms <= sloMs).sort((a, b) => a.costPerRequestUsd - b.costPerRequestUsd || a.memoryMb - b.memoryMb);
  const best = meeting[0];
  if (best) return { memoryMb: best.memoryMb, source: 'profile-meets-slo', p99Ms: best.p99Ms };
  const fastest = [...estimates].sort((a, b) => a.p99Ms - b.p99Ms)[0]!;
  return { memoryMb: fastest.memoryMb, source: 'profile-fastest', p99Ms: fastest.p99Ms };
}

/**
 * Fixed AWS prices not in the catalog (us-east-1, on-demand, 2026-11): ALB $0.0225/h plus at
 * least ~1 LCU at $0.008/h when idle; a Secrets Manager secret $0.40/month = $0.00055/h;
 * a public IPv4 address $0.005/h (the controller host's and the ALB's two).
 */
export const FIXED_PRICES_USD_PER_HOUR = {
  albHour: 0.0225,
  albIdleLcu: 0.008,
  secret: 0.4 / 730,
  publicIpv4: 0.005,
} as const;

export interface IdleCost {
  controllerUsdPerHour: number;
  loadBalancerUsdPerHour: number;
  otherUsdPerHour: number;
  totalUsdPerHour: number;
}

/**
 * Worked example (c5.large controller): 0.085 + (0.0225 + 0.008) + (0.00055 + 3 x 0.005)
 * = $0.131/h, about $96/month; VMs scale to zero at idle and Lambda bills only per request.
 */
export function idleCostPerHour(catalog: Catalog, controllerInstanceType: string): IdleCost {
  const t = catalog.ec2.instanceTypes.find((x) => x.name === controllerInstanceType);
  if (!t) throw new Error(`controller instance type '${controllerInstanceType}' is not in the catalog`);
  const controllerUsdPerHour = t.pricePerHourUsd;
  const loadBalancerUsdPerHour = FIXED_PRICES_USD_PER_HOUR.albHour + FIXED_PRICES_USD_PER_HOUR.albIdleLcu;
  // Public IPv4: controller host + ALB in 2 AZs.
  const otherUsdPerHour = FIXED_PRICES_USD_PER_HOUR.secret + 3 * FIXED_PRICES_USD_PER_HOUR.publicIpv4;
  return {
    controllerUsdPerHour,
    loadBalancerUsdPerHour,
    otherUsdPerHour,
    totalUsdPerHour: controllerUsdPerHour + loadBalancerUsdPerHour + otherUsdPerHour,
  };
}
