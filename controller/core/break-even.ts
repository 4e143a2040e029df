/**
 * Break-even utilisation: when a VM is cheaper than Lambda for the same requests. Computed from a
 * profile and the catalog's prices (profiles/pricing.ts), never a constant.
 */
import type { Catalog } from '../../profiles/catalog.js';
import { type LambdaArch, lambdaCostPerRequest, vmCostPerHour } from '../../profiles/pricing.js';
import type { VariantProfile } from '../../profiles/schema.js';

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
  const inst = profile.instances.find((i) => i.instanceType === instanceType);
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
