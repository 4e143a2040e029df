/**
 * The one home of AWS billing rules and Lambda's memory -> CPU rule. The policy, planner,
 * simulator, profile estimates, the local Lambda runtime, the local VM fleet and the CDK stacks
 * all price and size through these functions; prices themselves come from the catalog
 * (profiles/catalog.json, with date and source), never from here.
 *
 * Lives in profiles/ (next to the catalog it reads) because every layer may import profiles/
 * without a cycle: the pure core, the profiler, the simulator and the adapters. Pure: no I/O.
 *
 * - EC2 Linux on-demand: billed per second, rounded up, with a minimum
 *   (catalog.ec2.billingMinimumSeconds, 60 s): a VM stopped after 20 s costs 60 s.
 * - Lambda: billed duration = ceil((duration [+ INIT]) / granularity) x granularity, at least one
 *   unit (1 ms); GB-seconds = memoryMb / 1024 x billed ms / 1000 (AWS's "GB" is GiB of configured
 *   memory); dollars = GB-s x the architecture's price + a per-request fee. Since August 2025 AWS
 *   bills the INIT phase of on-demand functions, so a cold invocation bills ceil(init + duration).
 * - Lambda CPU: memoryMb / memoryMbPerVcpu (1,769 MB = 1 vCPU), capped at maxVcpu (6).
 */
import type { Catalog, InstanceType } from './catalog.js';
import { UnknownResourceError } from './lib/errors.js';

export type LambdaArch = 'x86_64' | 'arm64';

// ---- Lambda memory -> CPU ----

/** Lambda vCPU share for a memory size: 1,769 MB = 1 vCPU, capped at 6 (e.g. 3,008 MB -> 1.70). */
export function lambdaVcpu(catalog: Catalog, memoryMb: number): number {
  return Math.min(memoryMb / catalog.lambda.memoryMbPerVcpu, catalog.lambda.maxVcpu);
}

/**
 * Intra-op threads a Lambda function of `vcpu` share runs: ceil(c), at least 1 (3,008 MB ->
 * c = 1.70 -> 2 threads; 10,240 MB -> 5.79 -> 6). The profile estimates assume it, so whoever runs
 * the function (CDK stacks, local runtime) must set SPILLWAY_INTRA_OP_THREADS from it; with one
 * thread, memory above 1,769 MB would buy cost and no speed. The 1e-9 keeps an exact 1.0 share
 * (1,769 MB) at one thread despite floating-point division.
 */
export function lambdaIntraOpThreads(vcpu: number): number {
  return Math.max(1, Math.ceil(vcpu - 1e-9));
}

/** Threads for a memory size: 512 MB -> 1, 2,048 -> 2, 3,008 -> 2, 5,307 -> 3, 10,240 -> 6. */
export function lambdaThreadsForMemory(catalog: Catalog, memoryMb: number): number {
  return lambdaIntraOpThreads(lambdaVcpu(catalog, memoryMb));
}

// ---- Lambda billing ----

export function lambdaPricePerGbSecond(catalog: Catalog, arch: LambdaArch = 'x86_64'): number {
  return arch === 'arm64' ? catalog.lambda.arm64PricePerGbSecondUsd : catalog.lambda.x86PricePerGbSecondUsd;
}

/**
 * Billed duration of one invocation: `durationMs` plus `initMs` (pass the INIT duration of a cold
 * start, 0 for a warm one or when INIT is not billed), rounded up to the granularity, at least
 * one unit. 5.2 ms -> 6 ms; 0 ms -> 1 ms; init 812.4 + 15.2 ms -> 828 ms.
 */
export function lambdaBilledDurationMs(catalog: Catalog, durationMs: number, initMs = 0): number {
  const g = catalog.lambda.billingGranularityMs;
  const raw = Math.max(0, durationMs) + Math.max(0, initMs);
  // The 1e-9 absorbs floating-point noise (6.000000000001 ms must bill 6, not 7).
  return Math.max(g, Math.ceil(raw / g - 1e-9) * g);
}

/** GB-seconds of `billedMs` at `memoryMb`: 1,769 MB x 828 ms = 1769/1024 x 0.828 = 1.4304 GB-s. */
export function lambdaGbSeconds(memoryMb: number, billedMs: number): number {
  return (memoryMb / 1024) * (billedMs / 1000);
}

/** Compute dollars of `gbSeconds`: 1.4304 GB-s x $0.0000166667 (x86) = $0.00002384. */
export function lambdaComputeCostUsd(catalog: Catalog, gbSeconds: number, arch: LambdaArch = 'x86_64'): number {
  return gbSeconds * lambdaPricePerGbSecond(catalog, arch);
}

/** Request fees for `requests` invocations: $0.20 per million -> 1 request = $0.0000002. */
export function lambdaRequestFeesUsd(catalog: Catalog, requests = 1): number {
  return (requests * catalog.lambda.pricePerMillionRequestsUsd) / 1e6;
}

/**
 * Dollars for one Lambda request: compute + request fee; `initMs` > 0 prices a cold start whose
 * INIT is billed. Worked number (x86): 2,048 MB for 6 ms -> 2 GB x 0.006 s x $0.0000166667 =
 * $0.000000200, plus the $0.000000200 fee -> $0.000000400 per request ($0.40 per million).
 */
export function lambdaCostPerRequest(
  catalog: Catalog,
  memoryMb: number,
  durationMs: number,
  arch: LambdaArch = 'x86_64',
  initMs = 0,
): number {
  const gbS = lambdaGbSeconds(memoryMb, lambdaBilledDurationMs(catalog, durationMs, initMs));
  return lambdaComputeCostUsd(catalog, gbS, arch) + lambdaRequestFeesUsd(catalog, 1);
}

/** Lambda dollars per hour for a steady `rps` at the given per-request cost. */
export function lambdaCostPerHourAtRps(costPerRequestUsd: number, rps: number): number {
  return costPerRequestUsd * rps * 3600;
}

// ---- EC2 ----

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

/** Seconds billed for a VM that ran `runMs`: rounded up, at least the minimum. 20 s -> 60; 150.2 s -> 151. */
export function vmBilledSeconds(catalog: Catalog, runMs: number): number {
  return Math.max(Math.ceil(Math.max(0, runMs) / 1000), catalog.ec2.billingMinimumSeconds);
}

/**
 * Dollars billed for one VM that ran `runMs` (launch -> stop): per second, rounded up, with the
 * 60 s minimum. c5.large for 20 s -> 60 s x $0.0000236 = $0.00142; for 150.2 s -> 151 s = $0.00357.
 */
export function vmBilledCostUsd(catalog: Catalog, instanceType: string, runMs: number): number {
  return vmBilledSeconds(catalog, runMs) * vmCostPerSecond(catalog, instanceType);
}

/**
 * Earliest time a VM launched at `launchedAtMs` can be stopped without paying for time it does not
 * use: before launchedAtMs + 60 s stopping saves nothing (the minimum is billed anyway).
 */
export function vmMinimumBilledUntilMs(catalog: Catalog, launchedAtMs: number): number {
  return launchedAtMs + catalog.ec2.billingMinimumSeconds * 1000;
}

// ---- launches and Spot reclaims ----

/**
 * One-off dollars of bringing a VM up while Lambda serves its share: its boot time billed, plus
 * `servedRps` on Lambda for the boot. c6g.large, 285 rps x 0.8 for 80 s at $0.0000004/request =
 * $0.0073, + 80 s of $0.068/h = $0.0015 -> $0.0088. The planner amortises it over a VM's life.
 */
export function vmLaunchCostUsd(pricePerHourUsd: number, bootMs: number, servedRps: number, lambdaUsdPerRequest: number): number {
  const bootS = Math.max(0, bootMs) / 1000;
  return pricePerHourUsd * (bootS / 3600) + Math.max(0, servedRps) * bootS * Math.max(0, lambdaUsdPerRequest);
}

/**
 * Dollars of one Spot reclaim: on notice the VM drains and stops taking work (its notice time is
 * billed if it is not stopped sooner: counted in full, an upper bound), its share moves to Lambda
 * and a replacement is launched, so the replacement's launch cost (boot billed + the boot gap on
 * Lambda) is paid once more. c5.large:spot at $0.045/h, 120 s notice, 90 s boot, 113 rps at
 * $0.63/M: 0.045 x 120/3600 = $0.0015 + (0.045 x 90/3600 = $0.0011 + 113 x 90 x $0.00000063 =
 * $0.0064) -> $0.0090 a reclaim; at the 5-10 % band (0.000137/h) $0.0000012/h, at a stressed
 * 0.1/h $0.0009/h, 2 % of the VM's price.
 */
export function spotInterruptionCostUsd(pricePerHourUsd: number, noticeMs: number, bootMs: number, servedRps: number, lambdaUsdPerRequest: number): number {
  return pricePerHourUsd * (Math.max(0, noticeMs) / 3_600_000) + vmLaunchCostUsd(pricePerHourUsd, bootMs, servedRps, lambdaUsdPerRequest);
}
