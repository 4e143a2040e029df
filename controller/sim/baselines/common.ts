/**
 * Shared pieces of the baseline policies: which variant a model-specific baseline serves, what
 * one VM of a type sustains, the VM admission cap (Spillway's rule), the Lambda memory (Spillway's
 * right-sizing) and the VM-first router with optional Lambda spill.
 * Baselines read only the profiles and the catalog (no feedback learning: that is Spillway's part).
 */
import { predictLatencyMs } from '../../../profiles/schema.js';
import { profileLambdaMemory } from '../../core/lambda-memory.js';
import { DEFAULT_VM_OVERHEAD_MS, vmAdmissionLimit } from '../../core/router.js';
import { vmPrior } from '../../core/selector.js';
import { SimConfigError } from '../errors.js';
import type { PolicyEnv, RouteDecision, RouterView, TickDecision, VariantInfo, VmView } from '../../core/policy-types.js';

/** Context every policy factory receives (what an operator would configure for a deployment). */
export interface PolicyFactoryContext {
  /** Peak rps of the workload (vm-peak sizes its fleet for it). */
  peakRps: number;
  /** Minimum accuracy the requests ask for. */
  minAccuracy: number;
  /** vm-peak's fleet size when it was searched (vm-peak.ts smallestStaticFleet); else sized for the peak. */
  vmPeakCount?: number;
}

export function emptyDecision(): TickDecision {
  return { launch: [], terminate: [], lambdaMemoryMb: {}, variantShares: {}, forecastRps: 0, notes: [] };
}

/**
 * Synthetic weights (real latency, meaningless answers) are served only when a task has nothing
 * real: a comparison in which one policy answers with real models and another with synthetic ones
 * compares unlike things (the synthetic ones are cheaper and claim no accuracy).
 */
export function preferRealWeights<V extends Pick<VariantInfo, 'task' | 'weights'>>(variants: readonly V[]): V[] {
  const tasksWithReal = new Set(variants.filter((v) => v.weights === 'real').map((v) => v.task));
  return variants.filter((v) => v.weights === 'real' || !tasksWithReal.has(v.task));
}

/**
 * The variants a policy may serve: published accuracy >= minAccuracy (a floor of 0 admits
 * variants without one), synthetic ones only when no real one passes the floor. Every policy and
 * the clairvoyant bound choose from this set, so they answer under the same constraint.
 */
export function eligibleVariants(env: PolicyEnv, minAccuracy: number): VariantInfo[] {
  const ok = preferRealWeights(
    env.variants.filter((v) => minAccuracy <= 0 || (v.accuracyTop1 !== null && v.accuracyTop1 >= minAccuracy)),
  );
  if (ok.length === 0) {
    throw new SimConfigError(
      `no variant meets minAccuracy ${minAccuracy} (have: ${env.variants.map((v) => `${v.name} ${v.accuracyTop1 ?? 'n/a'}`).join(', ')})`,
    );
  }
  return ok;
}

export interface VmOption {
  instanceType: string;
  pricePerHourUsd: number;
  /** Sustainable rps of one VM (profile instance estimate). */
  capacityRps: number;
  slots: number;
  batch: number;
  /** Batch p99 service time at `batch` (ms). */
  p99Ms: number;
  costPerMillionUsd: number;
}

export function vmOptions(env: PolicyEnv, variant: VariantInfo): VmOption[] {
  const out: VmOption[] = [];
  for (const e of variant.profile.instances) {
    if (!env.instanceTypes.includes(e.instanceType)) continue;
    const t = env.catalog.ec2.instanceTypes.find((x) => x.name === e.instanceType);
    if (!t) continue;
    out.push({
      instanceType: e.instanceType,
      pricePerHourUsd: t.pricePerHourUsd,
      capacityRps: e.throughputRps,
      slots: e.replicas,
      batch: e.batchSize,
      p99Ms: e.p99Ms,
      costPerMillionUsd: e.costPerMillionUsd,
    });
  }
  return out;
}

/** Greedy dollars-per-request choice (MArk): the option with the lowest $/M at full utilisation. */
export function cheapestPerRequest(options: VmOption[]): VmOption | undefined {
  let best: VmOption | undefined;
  for (const o of options) if (!best || o.costPerMillionUsd < best.costPerMillionUsd) best = o;
  return best;
}

/**
 * The variant a model-specific baseline serves: the eligible variant (accuracy >= minAccuracy)
 * with the lowest VM $/request whose batch-1 p99 meets the SLO; what an operator picking one model
 * from the profiles would deploy.
 */
export function defaultVariant(env: PolicyEnv, minAccuracy: number): VariantInfo {
  const eligible = eligibleVariants(env, minAccuracy);
  let best: VariantInfo | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  for (const v of eligible) {
    const m = v.profile.latencyModel;
    if (predictLatencyMs(m, 1, 1) * m.p99OverP50 > env.sloMs) continue;
    const o = cheapestPerRequest(vmOptions(env, v));
    const c = o ? o.costPerMillionUsd : Number.POSITIVE_INFINITY;
    if (!best || c < bestCost) {
      best = v;
      bestCost = c;
    }
  }
  if (!best) throw new SimConfigError(`no variant with accuracy >= ${minAccuracy} meets the ${env.sloMs} ms SLO at batch 1`);
  return best;
}

/**
 * How many requests may be outstanding on one VM of `instanceType` before a new one is not admitted:
 * Spillway's VM admission rule (core/router.ts vmAdmits / vmAdmissionLimit: the p99 of k batches
 * ahead + service, from lognormal moments of p50 and p99) applied once to the profile's prior for
 * that type (selector.ts vmPrior, the estimate Spillway starts from) with Spillway's default
 * transport overhead. Baselines learn nothing, so the prior is all they have.
 */
export function vmAdmissionCap(env: PolicyEnv, variant: VariantInfo, instanceType: string, slots: number): number {
  const prior = vmPrior(variant.profile, instanceType);
  return vmAdmissionLimit(prior.p50Ms, prior.p99Ms, slots, DEFAULT_VM_OVERHEAD_MS, env.sloMs);
}

/**
 * Lambda memory for a baseline: Spillway's right-sizing helper (core/lambda-memory.ts) on the
 * profile's priors, with the invoke overhead an operator measures once (BASELINE_LAMBDA_OVERHEAD_MS).
 */
export function baselineLambdaMemory(env: PolicyEnv, variant: VariantInfo): number {
  return profileLambdaMemory(env, variant, { overheadMs: BASELINE_LAMBDA_OVERHEAD_MS }).memoryMb;
}

/** Invoke round trip of a warm Lambda call (ms) a baseline's operator would have measured (the simulator's default). */
export const BASELINE_LAMBDA_OVERHEAD_MS = 15;

export interface RouteLimits {
  variant: string;
  /** Outstanding requests per VM above which the VM counts as full. */
  maxOutstanding: number;
  /** Lambda memory for spill, or undefined for VM-only policies. */
  lambdaMemoryMb?: number;
  /** VM-only: reject (a throttle) instead of queueing on the least-loaded VM when every VM is full. */
  rejectWhenFull?: boolean;
}

/**
 * VM-first routing: the ready VM of the variant with the lowest outstanding/slots; if it is full,
 * spill to Lambda when allowed and not throttled; VM-only policies queue on the least-loaded VM
 * anyway (its queue limit rejects), and answer 503 when there is no ready VM at all.
 */
export function routeVmFirst(view: RouterView, limits: RouteLimits): RouteDecision {
  let best: VmView | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  const vms = view.vms;
  for (let i = 0; i < vms.length; i++) {
    const vm = vms[i]!;
    if (vm.state !== 'ready' || vm.variant !== limits.variant) continue;
    const load = vm.outstanding / vm.slots;
    if (load < bestLoad) {
      bestLoad = load;
      best = vm;
    }
  }
  if (best && best.outstanding < limits.maxOutstanding) {
    return { kind: 'vm', vmId: best.id, variant: limits.variant, expectedMs: 0 };
  }
  const lam = view.lambda;
  if (
    limits.lambdaMemoryMb !== undefined &&
    lam.inFlight < lam.concurrencyLimit &&
    !(lam.throttledUntilMs !== undefined && lam.throttledUntilMs > view.nowMs)
  ) {
    return {
      kind: 'lambda',
      variant: limits.variant,
      memoryMb: limits.lambdaMemoryMb,
      expectedMs: 0,
      cold: (lam.warmIdleByVariant[limits.variant] ?? 0) === 0,
    };
  }
  if (best && !limits.rejectWhenFull) return { kind: 'vm', vmId: best.id, variant: limits.variant, expectedMs: 0 };
  return { kind: 'reject', status: 503, retryAfterS: 1, reason: best ? 'every instance is full (throttled)' : 'no ready VM and no Lambda capacity' };
}

/** Ready + booting VMs of a variant (draining ones are on their way out). */
export function activeVms(vms: readonly VmView[], variant?: string): VmView[] {
  return vms.filter((v) => v.state !== 'draining' && (variant === undefined || v.variant === variant));
}

/**
 * VMs to stop when shrinking to `keep`: newest first among those past the 60 s billing minimum
 * (stopping earlier saves nothing), booting ones first of all (they serve nobody yet).
 */
export function pickToTerminate(vms: VmView[], keep: number, nowMs: number, minBilledMs: number): string[] {
  const surplus = vms.length - keep;
  if (surplus <= 0) return [];
  const candidates = vms
    .filter((v) => v.state === 'booting' || nowMs - v.launchedAtMs >= minBilledMs)
    .sort((a, b) => (a.state === 'booting' ? -1 : 0) - (b.state === 'booting' ? -1 : 0) || b.launchedAtMs - a.launchedAtMs);
  return candidates.slice(0, surplus).map((v) => v.id);
}

/** Mean of the last n entries (0 when empty). */
export function meanLast(xs: readonly number[], n: number): number {
  if (xs.length === 0) return 0;
  const k = Math.min(n, xs.length);
  let s = 0;
  for (let i = xs.length - k; i < xs.length; i++) s += xs[i]!;
  return s / k;
}

export function maxLast(xs: readonly number[], n: number): number {
  let m = 0;
  for (let i = Math.max(0, xs.length - n); i < xs.length; i++) m = Math.max(m, xs[i]!);
  return m;
}
