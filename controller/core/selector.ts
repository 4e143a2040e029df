/**
 * Feedback-learned latency estimates for model-less selection (INFaaS/Clipper-like).
 *
 * One estimate per (variant, backend kind, resource key): resource key = instance type for 'vm',
 * memory size as a string for 'lambda'. Each starts from the profile (prior) and learns from
 * CompletionRecords:
 * - ratio: exp of an EWMA (alpha 0.1) of ln(observed service / prior p50), ratio clipped to [0.2, 5];
 *   p50 = prior p50 x ratio. The log-mean is the median of lognormal service noise (the shape the
 *   profiles' p99/p50 describes), so p50 is a median, not a mean pulled up by the tail (an arithmetic
 *   EWMA learned e^(sigma^2/2) x the median: +6 % for shufflenet's p99/p50 of 2.2, and p99 = p50 x tail
 *   then double-counted the tail). A variant really 1.5x slower than its profile: after n observations
 *   ratio = 1.5^(1 - 0.9^n), so it passes 1.3 after 10 observations and 1.45 after 25 - bounded detection.
 * - p99: max(p50 x the profile's p99/p50 tail factor, a stochastic-approximation quantile tracker
 *   q += eta x (x > q ? 0.99 : -0.01), eta = 0.1 x p50) so a heavier tail than the profile shows too.
 * - Lambda only: cold-start extra (totalMs - serviceMs of cold requests) and warm overhead
 *   (invoke round trip) as EWMAs.
 * Estimates are mutable records updated in place by observe() (allowed by the Policy contract: the
 * caller always replaces its state reference); tick() decays idle estimates back toward the prior so
 * a variant that was slow once gets re-admitted when nothing confirms it any more.
 */
import type { Catalog } from '../../profiles/catalog.js';
import { lambdaVcpu } from '../../profiles/pricing.js';
import { instanceEstimate, predictLatencyMs, type VariantProfile } from '../../profiles/schema.js';
import type { CompletionRecord, VariantInfo } from './policy-types.js';

export interface LatencyEstimate {
  readonly variant: string;
  readonly kind: 'vm' | 'lambda';
  readonly resourceKey: string;
  readonly priorP50Ms: number;
  readonly priorP99Ms: number;
  ratio: number;
  /** ln(ratio): what the EWMA runs on. */
  logRatio: number;
  p50Ms: number;
  p99Ms: number;
  /** Tail quantile tracker (ms). */
  q99Ms: number;
  /** Observations so far. */
  n: number;
  /** Observations since the last decay pass (tick). */
  recentN: number;
  /** Lambda only: expected cold-start extra (ms) and warm invoke overhead (ms). */
  coldStartMs: number;
  overheadMs: number;
}

export interface SelectorOptions {
  /** EWMA weight of one observation (default 0.1). */
  alpha?: number;
  /** Per tick without observations, move ratio this fraction back toward 1 (default 0.02). */
  decayPerIdleTick?: number;
}

export interface SelectorState {
  readonly estimates: Map<string, LatencyEstimate>;
  /** The same records indexed variant -> kind -> resource key: found without building a string (hot path). */
  readonly index: Map<string, { vm: Map<string, LatencyEstimate>; lambda: Map<string, LatencyEstimate> }>;
  readonly alpha: number;
  readonly decayPerIdleTick: number;
}

export function estimateKey(variant: string, kind: 'vm' | 'lambda', resourceKey: string): string {
  return `${variant}|${kind}|${resourceKey}`;
}

/** Prior for one VM replica of `instanceType` serving batch 1 (threads from the profile's estimate, else 1). */
export function vmPrior(profile: VariantProfile, instanceType: string): { p50Ms: number; p99Ms: number } {
  const inst = instanceEstimate(profile, instanceType);
  const threads = inst?.intraOpThreads ?? 1;
  const p50 = predictLatencyMs(profile.latencyModel, 1, threads);
  return { p50Ms: p50, p99Ms: p50 * profile.latencyModel.p99OverP50 };
}

/** Prior for a Lambda of `memoryMb`: the profile's measured estimate for that size, else the latency model at its vCPU share. */
export function lambdaPrior(
  catalog: Catalog,
  profile: VariantProfile,
  memoryMb: number,
): { p50Ms: number; p99Ms: number; coldStartMs: number } {
  const l = profile.lambda.find((x) => x.memoryMb === memoryMb);
  if (l) return { p50Ms: l.p50Ms, p99Ms: l.p99Ms, coldStartMs: l.coldStartMs };
  // ORT threads cannot go below one; a 0.5 vCPU share runs one thread at half speed (c = 0.5).
  const p50 = predictLatencyMs(profile.latencyModel, 1, lambdaVcpu(catalog, memoryMb));
  return {
    p50Ms: p50,
    p99Ms: p50 * profile.latencyModel.p99OverP50,
    coldStartMs: catalog.lambda.runtimeInitMs + profile.sessionLoadMs,
  };
}

function newEstimate(
  variant: string,
  kind: 'vm' | 'lambda',
  resourceKey: string,
  prior: { p50Ms: number; p99Ms: number; coldStartMs?: number },
): LatencyEstimate {
  return {
    variant,
    kind,
    resourceKey,
    priorP50Ms: prior.p50Ms,
    priorP99Ms: Math.max(prior.p99Ms, prior.p50Ms),
    ratio: 1,
    logRatio: 0,
    p50Ms: prior.p50Ms,
    p99Ms: Math.max(prior.p99Ms, prior.p50Ms),
    q99Ms: Math.max(prior.p99Ms, prior.p50Ms),
    n: 0,
    recentN: 0,
    coldStartMs: prior.coldStartMs ?? 0,
    overheadMs: 0,
  };
}

/** Seeds estimates for every variant on every allowed instance type and every catalog Lambda memory size. */
export function initSelector(
  catalog: Catalog,
  variants: readonly VariantInfo[],
  instanceTypes: readonly string[],
  opts: SelectorOptions = {},
): SelectorState {
  const state: SelectorState = {
    estimates: new Map(),
    index: new Map(),
    alpha: opts.alpha ?? 0.1,
    decayPerIdleTick: opts.decayPerIdleTick ?? 0.02,
  };
  for (const v of variants) {
    for (const t of instanceTypes) addEstimate(state, newEstimate(v.name, 'vm', t, vmPrior(v.profile, t)));
    for (const m of catalog.lambda.memoryOptionsMb) {
      addEstimate(state, newEstimate(v.name, 'lambda', String(m), lambdaPrior(catalog, v.profile, m)));
    }
  }
  return state;
}

function addEstimate(state: SelectorState, e: LatencyEstimate): void {
  state.estimates.set(estimateKey(e.variant, e.kind, e.resourceKey), e);
  let byKind = state.index.get(e.variant);
  if (!byKind) {
    byKind = { vm: new Map(), lambda: new Map() };
    state.index.set(e.variant, byKind);
  }
  byKind[e.kind].set(e.resourceKey, e);
}

/** The estimate for a (variant, kind, key) if seeded; no allocation. */
export function findEstimate(
  state: SelectorState,
  variant: string,
  kind: 'vm' | 'lambda',
  resourceKey: string,
): LatencyEstimate | undefined {
  return state.index.get(variant)?.[kind].get(resourceKey);
}

/** The estimate for a (variant, kind, key), created from the profile if it was not seeded (e.g. an odd memory size). */
export function getEstimate(
  state: SelectorState,
  catalog: Catalog,
  variant: VariantInfo,
  kind: 'vm' | 'lambda',
  resourceKey: string,
): LatencyEstimate {
  const k = estimateKey(variant.name, kind, resourceKey);
  let e = state.estimates.get(k);
  if (!e) {
    const prior =
      kind === 'vm'
        ? vmPrior(variant.profile, resourceKey)
        : lambdaPrior(catalog, variant.profile, Number(resourceKey) || catalog.lambda.memoryOptionsMb[0]!);
    e = newEstimate(variant.name, kind, resourceKey, prior);
    addEstimate(state, e);
  }
  return e;
}

function refresh(e: LatencyEstimate): void {
  e.p50Ms = e.priorP50Ms * e.ratio;
  const tail = e.priorP99Ms / e.priorP50Ms;
  e.p99Ms = Math.max(e.p50Ms * tail, e.q99Ms);
}

/** Learns from one completion, in place. Unknown (variant, resource) pairs are ignored unless seeded. */
export function observeLatency(state: SelectorState, c: CompletionRecord): LatencyEstimate | undefined {
  const e = findEstimate(state, c.variant, c.backend, c.resourceKey);
  if (!e || !(c.serviceMs >= 0) || !Number.isFinite(c.serviceMs)) return e;
  const a = state.alpha;
  const r = Math.min(5, Math.max(0.2, c.serviceMs / e.priorP50Ms));
  e.logRatio = (1 - a) * e.logRatio + a * Math.log(r);
  e.ratio = Math.exp(e.logRatio);
  const eta = 0.1 * e.p50Ms;
  e.q99Ms = Math.max(e.p50Ms, e.q99Ms + (c.serviceMs > e.q99Ms ? 0.99 * eta : -0.01 * eta));
  if (c.backend === 'lambda' && Number.isFinite(c.totalMs)) {
    // The invoke's own extra time: a wait for a busy instance before it is not the backend's.
    const extra = Math.max(0, c.totalMs - (c.waitedMs ?? 0) - c.serviceMs);
    if (c.coldStart) e.coldStartMs = e.n === 0 && e.coldStartMs === 0 ? extra : (1 - a) * e.coldStartMs + a * extra;
    // Seeded by the first warm answer, like the cold start: an EWMA from the prior's 0 reads 10 %
    // of a 15 ms overhead after one answer and 65 % after ten.
    else e.overheadMs = e.overheadMs === 0 ? extra : (1 - a) * e.overheadMs + a * extra;
  }
  e.n++;
  e.recentN++;
  refresh(e);
  return e;
}

/** Per-tick forgetting: estimates with no observation since the last tick drift back toward the prior. */
export function decaySelector(state: SelectorState): void {
  const d = state.decayPerIdleTick;
  for (const e of state.estimates.values()) {
    if (e.recentN === 0 && e.logRatio !== 0) {
      e.logRatio *= 1 - d;
      e.ratio = Math.exp(e.logRatio);
      e.q99Ms += d * (e.priorP99Ms * e.ratio - e.q99Ms);
      refresh(e);
    }
    e.recentN = 0;
  }
}

/** Expected end-to-end ms of a Lambda request at the estimate's tail (cold adds the cold-start extra). */
export function lambdaExpectedMs(e: LatencyEstimate, cold: boolean): number {
  return e.overheadMs + e.p99Ms + (cold ? e.coldStartMs : 0);
}

/**
 * Learned slowness of a variant on a backend kind, pooled over its resources (weights min(n, 100)):
 * a model 1.3x slower than profiled on c6g.large is likely ~1.3x slower on c7g.large too. Used for
 * resources with few observations of their own, so an unobserved option does not look better than
 * an observed one merely for lack of data (which made plans flip between c6g and c7g).
 */
export function pooledRatio(state: SelectorState, variant: string, kind: 'vm' | 'lambda'): number {
  let wSum = 0;
  let rSum = 0;
  for (const e of state.estimates.values()) {
    if (e.variant !== variant || e.kind !== kind || e.n === 0) continue;
    const w = Math.min(e.n, 100);
    wSum += w;
    rSum += w * e.ratio;
  }
  return wSum > 0 ? rSum / wSum : 1;
}

/** An estimate's ratio shrunk toward the pooled one until it has `full` observations of its own. */
export function effectiveRatio(e: LatencyEstimate, pooled: number, full = 30): number {
  const own = Math.min(e.n, full) / full;
  return own * e.ratio + (1 - own) * pooled;
}
