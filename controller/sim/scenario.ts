/**
 * One comparison run: load the trace and the profiles, build the PolicyEnv, simulate every named
 * policy on the same arrivals (same seed), compute the clairvoyant bound, and summarise. Shared by
 * `spillway simulate`, the policy benchmark and the tests (decide/act split: no printing here).
 */
import { type Catalog, loadCatalog, withSpotTypes } from '../../profiles/catalog.js';
import type { VariantProfile } from '../../profiles/schema.js';
import type { PolicyEnv, VariantInfo } from '../core/policy-types.js';
import { eligibleVariants, preferRealWeights } from './baselines/common.js';
import type { FleetState } from './baselines/fleet.js';
import { smallestStaticFleet, VM_PEAK_UTILISATION } from './baselines/vm-peak.js';
import { CLAIRVOYANT, createPolicy, type PolicyFactoryContext, SPOT_POLICIES } from './policies.js';
import { type AchievableResult, achievableOptimum, type ClairvoyantResult, clairvoyantBound } from './clairvoyant.js';
import { DEFAULT_PROFILE_NOTE, defaultProfiles } from './default-profiles.js';
import { clairvoyantMix, describeModelMix } from './model-mix.js';
import { SimConfigError } from './errors.js';
import { DEFAULT_SIM_OPTIONS, type SimOptions, type SimResult, type SpotWorldOptions, simulate } from './simulator.js';
import { loadTrace, type Trace } from './trace.js';
import { transportMs, type WorldName, worldNamed } from './world.js';

export interface ScenarioOptions {
  trace: string | Trace;
  meanRps?: number;
  scale?: number;
  hours?: number;
  startHours?: number;
  sloMs: number;
  minAccuracy: number;
  policies: string[];
  seed: number;
  tickIntervalMs?: number;
  instanceTypes?: string[];
  /** Restrict to these variants (default: all profiles). */
  variants?: string[];
  profiles?: Map<string, VariantProfile>;
  catalog?: Catalog;
  sim?: Partial<SimOptions>;
  /**
   * The world the policies run in (world.ts): 'realistic' departs from what the policies believe
   * (cold starts of seconds, varying keep-alive and boots, heavier tails, payload transport);
   * 'optimistic' is the policies' own model, as in earlier rounds. @default 'realistic'
   */
  world?: WorldName;
  /**
   * Spot: the world's market (simulator SpotWorldOptions) and, when set, one configured reclaim
   * rate per VM-hour for every type (replacing the catalog's Advisor bands, for the policies and the
   * world alike). Spot types enter the catalog only when a Spot policy runs (SPOT_POLICIES).
   */
  spot?: SpotWorldOptions & { interruptionsPerHour?: number };
  /** Progress: policy index, fraction of its run done. */
  onProgress?: (policyIndex: number, fraction: number) => void;
}

export interface SummaryRow {
  policy: string;
  totalUsd: number;
  ec2Usd: number;
  lambdaUsd: number;
  ratioToClairvoyant: number;
  /** Ratio to the strict per-second lower bound (no billing minimum: nothing can cost less). */
  ratioToStrictBound: number;
  /** Ratio to the achievable offline optimum (clairvoyant.ts achievableOptimum). */
  ratioToAchievable: number;
  violationPct: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Mean published top-1 accuracy of the answers (null when none had one). */
  avgAccuracy: number | null;
  /** Which variants answered, largest share first, e.g. "shufflenet-v2-10-qdq 71 %, mobilenet-v2-10-int8-zoo 29 %". */
  modelMix: string;
  lambdaPct: number;
  vmHours: number;
  vmUtilisationPct: number;
  coldStarts: number;
  requests: number;
}

export interface ScenarioResult {
  world: WorldName;
  trace: Pick<Trace, 'name' | 'synthetic' | 'stepS' | 'durationS' | 'meanRps' | 'peakRps' | 'scale' | 'startS' | 'gaps' | 'notes'>;
  sloMs: number;
  minAccuracy: number;
  seed: number;
  profileNotes: string[];
  syntheticWeights: string[];
  results: SimResult[];
  clairvoyant: ClairvoyantResult | null;
  /** The achievable offline optimum on the same arrivals (null without arrivals). */
  achievable: AchievableResult | null;
  rows: SummaryRow[];
}

/** Measured profiles (profiles/lib/load.ts) where they exist, built-in defaults for the rest. */
export async function loadSimProfiles(catalog: Catalog): Promise<{ profiles: Map<string, VariantProfile>; notes: string[] }> {
  const notes: string[] = [];
  let measured = new Map<string, VariantProfile>();
  try {
    const mod = await import('../../profiles/lib/load.js');
    measured = mod.loadProfiles();
  } catch (err) {
    notes.push(`measured profiles unavailable (${(err as Error).message}); using defaults`);
  }
  const profiles = new Map(measured);
  const defaults: string[] = [];
  for (const [name, p] of defaultProfiles(catalog)) {
    if (!profiles.has(name)) {
      profiles.set(name, p);
      defaults.push(name);
    }
  }
  if (measured.size > 0) notes.push(`measured profiles: ${[...measured.keys()].join(', ')}`);
  if (defaults.length > 0) notes.push(`${DEFAULT_PROFILE_NOTE}: ${defaults.join(', ')}`);
  return { profiles, notes };
}

export function buildEnv(
  catalog: Catalog,
  profiles: Map<string, VariantProfile>,
  o: { sloMs: number; tickIntervalMs?: number; instanceTypes?: string[]; variants?: string[] },
): PolicyEnv {
  const all: VariantInfo[] = [];
  for (const [name, p] of profiles) {
    if (o.variants && !o.variants.includes(name)) continue;
    all.push({ name, task: p.task, accuracyTop1: p.accuracyTop1, weights: p.weights, profile: p });
  }
  // One variant set for every policy: synthetic weights only when named (--variants) or when a
  // task has nothing real, as the local stack serves them.
  const variants = o.variants ? all : preferRealWeights(all);
  if (variants.length === 0) throw new SimConfigError(`no profiles for variants ${o.variants?.join(', ') ?? '(any)'}`);
  return {
    catalog,
    variants,
    sloMs: o.sloMs,
    tickIntervalMs: o.tickIntervalMs ?? 10_000,
    instanceTypes: o.instanceTypes ?? catalog.ec2.instanceTypes.map((t) => t.name),
    lambdaArch: 'x86_64',
    lambdaConcurrencyLimit: catalog.lambda.accountConcurrencyLimit,
  };
}

/**
 * The catalog a scenario plans with: the given one, plus its Spot types when a Spot policy runs,
 * with the configured reclaim rate on every type if one is set.
 */
export function scenarioCatalog(base: Catalog, policies: readonly string[], spot?: ScenarioOptions['spot']): Catalog {
  if (!policies.some((p) => SPOT_POLICIES.includes(p))) return base;
  const rate = spot?.interruptionsPerHour;
  if (rate !== undefined && !(rate >= 0 && Number.isFinite(rate))) throw new SimConfigError(`spot.interruptionsPerHour must be a finite number >= 0 (got ${rate})`);
  const rated: Catalog =
    rate === undefined
      ? base
      : { ...base, ec2: { ...base.ec2, instanceTypes: base.ec2.instanceTypes.map((t) => (t.spot ? { ...t, spot: { ...t.spot, interruptionsPerHour: rate } } : t)) } };
  return withSpotTypes(rated);
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const catalog = scenarioCatalog(o.catalog ?? loadCatalog(), o.policies, o.spot);
  const trace =
    typeof o.trace === 'string'
      ? loadTrace(o.trace, { meanRps: o.meanRps, scale: o.scale, hours: o.hours, startHours: o.startHours })
      : o.trace;
  const loaded = o.profiles ? { profiles: o.profiles, notes: ['profiles given by the caller'] } : await loadSimProfiles(catalog);
  const env = buildEnv(catalog, loaded.profiles, o);
  const leftOut = [...loaded.profiles.values()]
    .filter((p) => p.weights === 'synthetic' && !env.variants.some((v) => v.name === p.variant))
    .map((p) => p.variant);
  const profileNotes: string[] =
    leftOut.length > 0
      ? [...loaded.notes, `synthetic weights not served, real variants exist (name them in --variants to include them): ${leftOut.join(', ')}`]
      : loaded.notes;
  const ctx: PolicyFactoryContext = { peakRps: trace.peakRps, minAccuracy: o.minAccuracy };
  eligibleVariants(env, o.minAccuracy); // fail fast with the list of variants and accuracies
  const world = worldNamed(o.world ?? 'realistic');
  const worldOption: Partial<SimOptions> = { ...(world ? { world } : {}), ...(o.spot ? { spot: o.spot } : {}) };
  if (o.policies.includes('vm-peak')) {
    // vm-peak at its best: the smallest static fleet with no violations on these arrivals (same seed).
    const probe = createPolicy('vm-peak', ctx).init(env, 0) as FleetState;
    const start = Math.max(1, Math.ceil(trace.peakRps / (probe.option.capacityRps * VM_PEAK_UTILISATION)));
    const found = smallestStaticFleet((n) => {
      const r = simulate(trace, createPolicy('vm-peak', { ...ctx, vmPeakCount: n }), env, {
        seed: o.seed,
        minAccuracy: o.minAccuracy,
        ...worldOption,
        ...o.sim,
        recordArrivalsPerSecond: false,
      });
      return r.violations;
    }, start);
    ctx.vmPeakCount = found.count;
    profileNotes.push(
      `vm-peak: ${found.count} VM(s), the smallest static fleet with ${found.floor === 0 ? 'no violations' : `violations within 10 % + 2 of the ${found.floor} a fleet of 8x the peak sizing still has`} (${found.violations}); peak sizing would be ${start}`,
    );
  }
  const results: SimResult[] = [];
  const names = o.policies.filter((p) => p !== CLAIRVOYANT);
  for (const name of o.policies) if (name !== CLAIRVOYANT) createPolicy(name, ctx); // fail fast on a bad name
  let arrivals: Uint32Array | undefined;
  names.forEach((name, i) => {
    const policy = createPolicy(name, ctx);
    const r = simulate(trace, policy, env, {
      seed: o.seed,
      minAccuracy: o.minAccuracy,
      ...worldOption,
      ...o.sim,
      onProgress: o.onProgress ? (t, total) => o.onProgress!(i, t / total) : undefined,
    });
    arrivals ??= r.arrivalsPerSecond;
    r.arrivalsPerSecond = undefined;
    results.push(r);
    o.onProgress?.(i, 1);
  });
  if (!arrivals) {
    // Only the bound was asked for: run the cheapest simulation to get the realised arrivals.
    const r = simulate(trace, createPolicy('lambda-only', ctx), env, { seed: o.seed, minAccuracy: o.minAccuracy, ...worldOption, ...o.sim });
    arrivals = r.arrivalsPerSecond;
  }
  const clairvoyant = arrivals ? clairvoyantBound(arrivals, env, o.minAccuracy, { vmOverheadMs: o.sim?.vmOverheadMs ?? transportMs(world, 'vm', DEFAULT_SIM_OPTIONS.vmOverheadMs) }) : null;
  const cv = clairvoyant?.clairvoyantUsd ?? Number.NaN;
  const achievable = arrivals && clairvoyant ? achievableOptimum(arrivals, env, o.minAccuracy, clairvoyant) : null;
  const strictUsd = clairvoyant?.strictLowerBoundUsd ?? Number.NaN;
  const achUsd = achievable?.usd ?? Number.NaN;
  const rows: SummaryRow[] = results.map((r) => ({
    policy: r.policy,
    totalUsd: r.cost.totalUsd,
    ec2Usd: r.cost.ec2Usd,
    lambdaUsd: r.cost.lambdaComputeUsd + r.cost.lambdaRequestsUsd,
    ratioToClairvoyant: r.cost.totalUsd / cv,
    ratioToStrictBound: r.cost.totalUsd / strictUsd,
    ratioToAchievable: r.cost.totalUsd / achUsd,
    violationPct: r.violationRate * 100,
    p50Ms: r.served > 0 ? r.p50Ms : null,
    p99Ms: r.served > 0 ? r.p99Ms : null,
    avgAccuracy: r.avgAccuracy,
    modelMix: describeModelMix(r.servedByVariant),
    lambdaPct: r.lambdaShare * 100,
    vmHours: r.vmHours,
    vmUtilisationPct: r.vmUtilisation * 100,
    coldStarts: r.coldStarts,
    requests: r.requests,
  }));
  if (clairvoyant && o.policies.includes(CLAIRVOYANT)) {
    rows.push({
      policy: CLAIRVOYANT,
      totalUsd: clairvoyant.clairvoyantUsd,
      ec2Usd: clairvoyant.ec2Usd,
      lambdaUsd: clairvoyant.lambdaUsd,
      ratioToClairvoyant: 1,
      ratioToStrictBound: clairvoyant.clairvoyantUsd / strictUsd,
      ratioToAchievable: clairvoyant.clairvoyantUsd / achUsd,
      violationPct: 0,
      p50Ms: null,
      p99Ms: null,
      avgAccuracy: null,
      modelMix: clairvoyantMix(clairvoyant),
      lambdaPct: Number.NaN,
      vmHours: Number.NaN,
      vmUtilisationPct: 100,
      coldStarts: 0,
      requests: results[0]?.requests ?? 0,
    });
  }
  // Label the synthetic-weight variants that actually served requests in this run.
  const syntheticWeights = env.variants
    .filter((v) => v.weights === 'synthetic' && results.some((r) => (r.servedByVariant[v.name] ?? 0) > 0))
    .map((v) => v.name);
  return {
    world: o.world ?? 'realistic',
    trace: {
      name: trace.name,
      synthetic: trace.synthetic,
      stepS: trace.stepS,
      durationS: trace.durationS,
      meanRps: trace.meanRps,
      peakRps: trace.peakRps,
      scale: trace.scale,
      startS: trace.startS,
      gaps: trace.gaps,
      notes: trace.notes,
    },
    sloMs: o.sloMs,
    minAccuracy: o.minAccuracy,
    seed: o.seed,
    profileNotes,
    syntheticWeights,
    results,
    clairvoyant,
    achievable,
    rows,
  };
}
