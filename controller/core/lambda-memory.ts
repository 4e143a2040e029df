/**
 * Lambda memory right-sizing, shared by Spillway and every baseline that uses Lambda: candidates
 * (one per catalog memory size: latency estimate + $/request at that size) go to the planner's
 * chooseLambdaMemory (the cheapest sizes meeting the SLO, the fastest of those within 5 % of the
 * cheapest). Spillway feeds it learned estimates; a baseline, which learns nothing, feeds it the
 * same priors Spillway starts from (selector.ts lambdaPrior) and Spillway's prior cold fraction.
 */
import type { Catalog } from '../../profiles/catalog.js';
import { lambdaCostPerRequest } from '../../profiles/pricing.js';
import { chooseLambdaMemory, type LambdaMemoryCandidate } from './planner.js';
import type { PolicyEnv, VariantInfo } from './policy-types.js';
import { lambdaPrior } from './selector.js';

/** Share of Lambda requests assumed cold before any is observed (Spillway's initial estimate). */
export const PRIOR_COLD_FRACTION = 0.05;

export interface LambdaLatency {
  p50Ms: number;
  p99Ms: number;
  coldStartMs: number;
  overheadMs?: number;
}

/** One candidate per catalog memory size, priced from the p50 at that size. */
export function lambdaMemoryCandidates(
  catalog: Catalog,
  arch: PolicyEnv['lambdaArch'],
  estimate: (memoryMb: number) => LambdaLatency,
): LambdaMemoryCandidate[] {
  return catalog.lambda.memoryOptionsMb.map((m) => {
    const e = estimate(m);
    return {
      memoryMb: m,
      p50Ms: e.p50Ms,
      p99Ms: e.p99Ms,
      coldStartMs: e.coldStartMs,
      overheadMs: e.overheadMs ?? 0,
      costPerRequestUsd: lambdaCostPerRequest(catalog, m, e.p50Ms, arch),
    };
  });
}

/**
 * The memory a baseline runs `variant`'s function at: chooseLambdaMemory over the profile's priors
 * at the env's SLO. `overheadMs` is the invoke round trip the operator measured (Spillway learns it).
 */
export function profileLambdaMemory(
  env: PolicyEnv,
  variant: VariantInfo,
  opts: { overheadMs?: number; coldFraction?: number } = {},
): { memoryMb: number; fits: boolean } {
  const cands = lambdaMemoryCandidates(env.catalog, env.lambdaArch, (m) => ({
    ...lambdaPrior(env.catalog, variant.profile, m),
    overheadMs: opts.overheadMs ?? 0,
  }));
  const c = chooseLambdaMemory(cands, env.sloMs, opts.coldFraction ?? PRIOR_COLD_FRACTION);
  if (!c) return { memoryMb: env.catalog.lambda.memoryOptionsMb[env.catalog.lambda.memoryOptionsMb.length - 1] ?? 3008, fits: false };
  return { memoryMb: c.choice.memoryMb, fits: c.fits };
}
