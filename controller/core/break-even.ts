/**
 * The cost model every part of Spillway uses (policy, planner, simulator, reports).
 *
 * - EC2 Linux on-demand: billed per second with a minimum (catalog.ec2.billingMinimumSeconds,
 *   60 s): a VM stopped after 20 s costs 60 s; after 150 s it costs 150 s.
 * - Lambda: GB-seconds rounded up to the billing granularity (1 ms) plus a per-request fee.
 *   Memory is in MB, GB = MB / 1024 (AWS bills "GB" as GiB of configured memory).
 *
 * All prices come from the catalog (profiles/catalog.json, with date and source); nothing here is
 * a hard-coded price.
 */
import type { Catalog, InstanceType } from '../../profiles/catalog.js';
import type { VariantProfile } from '../../profiles/schema.js';
import { UnknownResourceError } from './errors.js';

export type LambdaArch = 'x86_64' | 'arm64';

export function findInstanceType(catalog: Catalog, instanceType: string): InstanceType {
  const t = catalog.ec2.instanceTypes.find((x) => x.name === instanceType);
  if (!t) {
    throw new UnknownResourceError(
      `instanceType '${instanceType}' is not in the catalog (known: ${catalog.ec2.instanceTypes.map((x) => x.name).join(', ')})`,
    );
  }
  return t;
}

/** On-demand price in dollars per hour, e.g. c5.large -> 0.085. */
export function vmCostPerHour(catalog: Catalog, instanceType: string): number {
  return findInstanceType(catalog, instanceType).pricePerHourUsd;
}

/** Dollars per second of running, e.g. c5.large 0.085 / 3600 = $0.0000236/s. */
export function vmCostPerSecond(catalog: Catalog, instanceType: string): number {
  return vmCostPerHour(catalog, instanceType) / 3600;
}

/**
 * Dollars billed for one VM that ran `runMs` (launch -> stop): per second, rounded up, with the
 * 60 s minimum. c5.large for 20 s -> 60 s x $0.0000236 = $0.00142; for 150.2 s -> 151 s = $0.00357.
 */
export function vmBilledCostUsd(catalog: Catalog, instanceType: string, runMs: number): number {
  const billedS = Math.max(Math.ceil(Math.max(0, runMs) / 1000), catalog.ec2.billingMinimumSeconds);
  return billedS * vmCostPerSecond(catalog, instanceType);
}

/**
 * Earliest time a VM launched at `launchedAtMs` can be stopped without paying for time it does not
 * use: before launchedAtMs + 60 s stopping saves nothing (the minimum is billed anyway).
 */
export function vmMinimumBilledUntilMs(catalog: Catalog, launchedAtMs: number): number {
  return launchedAtMs + catalog.ec2.billingMinimumSeconds * 1000;
}

export function lambdaPricePerGbSecond(catalog: Catalog, arch: LambdaArch): number {
  return arch === 'arm64' ? catalog.lambda.arm64PricePerGbSecondUsd : catalog.lambda.x86PricePerGbSecondUsd;
}

/** Billed duration: rounded up to the granularity (1 ms): 5.2 ms -> 6 ms. At least one unit. */
export function lambdaBilledDurationMs(catalog: Catalog, durationMs: number): number {
  const g = catalog.lambda.billingGranularityMs;
  return Math.max(g, Math.ceil(Math.max(0, durationMs) / g) * g);
}

/**
 * Dollars for one Lambda request: compute + request fee.
 * Worked number (x86): 2,048 MB for 6 ms -> 2 GB x 0.006 s x $0.0000166667 = $0.000000200,
 * plus $0.20 / 1 M = $0.000000200 fee -> $0.000000400 per request ($0.40 per million).
 */
export function lambdaCostPerRequest(
  catalog: Catalog,
  memoryMb: number,
  durationMs: number,
  arch: LambdaArch = 'x86_64',
): number {
  const gbS = (memoryMb / 1024) * (lambdaBilledDurationMs(catalog, durationMs) / 1000);
  return gbS * lambdaPricePerGbSecond(catalog, arch) + catalog.lambda.pricePerMillionRequestsUsd / 1e6;
}

/** Lambda dollars per hour for a steady `rps` at the given per-request cost. */
export function lambdaCostPerHourAtRps(costPerRequestUsd: number, rps: number): number {
  return costPerRequestUsd * rps * 3600;
}

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
