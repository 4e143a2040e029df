/**
 * Break-even utilisation: when a VM is cheaper than Lambda for the same requests. Computed from a
 * profile and the catalog's prices (profiles/pricing.ts), never a constant.
 */
import type { Catalog } from '../../profiles/catalog.js';
import { type LambdaArch, lambdaCostPerRequest, vmCostPerHour } from '../../profiles/pricing.js';
import { instanceEstimate, type VariantProfile } from '../../profiles/schema.js';

export interface BreakEvenInput {
  /** VM price, $/hour. */
  vmPricePerHourUsd: number;
  /** What the VM sustains at 100 % utilisation (rps), e.g. from the profile's instances[]. */
  vmCapacityRps: number;
  /** Dollars per Lambda request for the same work. */
  lambdaCostPerRequestUsd: number;
}

/**
 * Break-even utilisation u*: the VM is cheaper than Lambda for the same requests only when its
 * utilisation exceeds u* = VM $/s / (Lambda $/request x VM capacity rps).
 * Worked number: c5.large $0.085/h = $0.0000236/s, serving 300 rps at full load; Lambda 2,048 MB at
 * 6 ms = $0.0000004/request -> Lambda would cost 300 x 0.0000004 = $0.00012/s for a full VM's work,
 * so u* = 0.0000236 / 0.00012 = 0.197: a c5.large busier than ~20 % beats Lambda.
 * u* > 1 means Lambda is always cheaper for this variant/resource pair.
 */
export function breakEvenUtilisation(input: BreakEvenInput): number {
  const vmPerS = input.vmPricePerHourUsd / 3600;
  const lambdaPerSAtFull = input.lambdaCostPerRequestUsd * input.vmCapacityRps;
  if (!(lambdaPerSAtFull > 0)) return Number.POSITIVE_INFINITY;
  return vmPerS / lambdaPerSAtFull;
}

/**
 * Break-even utilisation of `instanceType` for `profile`, against the cheapest Lambda memory size in
 * the profile whose warm p99 fits `sloMs` (all sizes when none fits). Undefined when the profile has
 * no estimate for that instance type or no Lambda estimate at all.
 */
export function breakEvenFromProfile(
  catalog: Catalog,
  profile: VariantProfile,
  instanceType: string,
  arch: LambdaArch = 'x86_64',
  sloMs: number = profile.referenceSloMs,
): number | undefined {
  const inst = instanceEstimate(profile, instanceType);
  if (!inst || profile.lambda.length === 0) return undefined;
  const fitting = profile.lambda.filter((l) => l.p99Ms <= sloMs);
  const pool = fitting.length > 0 ? fitting : profile.lambda;
  let best = Number.POSITIVE_INFINITY;
  for (const l of pool) best = Math.min(best, lambdaCostPerRequest(catalog, l.memoryMb, l.p50Ms, arch));
  return breakEvenUtilisation({
    vmPricePerHourUsd: vmCostPerHour(catalog, instanceType),
    vmCapacityRps: inst.throughputRps,
    lambdaCostPerRequestUsd: best,
  });
}

/**
 * Break-even burst length: how long a burst at a VM's full capacity must last for a VM bought
 * when it starts to cost less than sending that burst to Lambda. The VM is billed from launch for
 * max(billing minimum, boot + T) while Lambda also carries the boot gap, against Lambda for the
 * whole T at u* x the VM's price (u* = breakEvenUtilisation): T = u* x max(minimum, boot + T), so
 * T = u* x boot / (1 - u*) once boot + T passes the minimum, else u* x minimum. Infinite when
 * u* >= 1 (Lambda is always cheaper). Worked number: u* = 0.5, boot 60 s, minimum 60 s ->
 * T = 0.5 x 60 / 0.5 = 60 s (boot + T = 120 s >= 60 s).
 */
export function breakEvenBurstMs(uStar: number, bootDelayMs: number, billingMinimumMs: number): number {
  if (!(uStar < 1)) return Number.POSITIVE_INFINITY;
  if (!(uStar > 0)) return 0;
  const t = (uStar * bootDelayMs) / (1 - uStar);
  return bootDelayMs + t >= billingMinimumMs ? t : uStar * billingMinimumMs;
}
