/**
 * Spillway's policy: forecast -> plan (IP) -> act, with learned latency and interference.
 *
 * tick():  learn (if the driver did not call observe) -> decay idle estimates -> interference check
 *          -> forecast the peak over the provisioning horizon (longest learned boot delay + 1 tick)
 *          -> choose Lambda memory per variant -> integer program (VM counts, variant mix)
 *          -> InfAdapter-style stabilisation: the target per (type, variant) is the MAX of the last
 *             N plans (default 4), so scale-in happens only after N consecutive lower plans
 *          -> launch the deficit now (Lambda covers until the VMs are ready), stop the surplus only
 *             past each VM's 60 s billing minimum -> pre-compute the router's tables.
 * route(): routeRequest over the tables (see router.ts); O(#VMs + #variants).
 * observe(): in-place update of latency estimates, VM slowdowns and counters.
 *
 * Assumption on the driver: a VM launched at tick k shows up in the next observation's `vms` (as
 * 'booting' until ready), so a launch is never repeated.
 */
import { warmPoolTargets } from './warm-pool.js';
import { checkSpillwayOptions } from './spillway-options-schema.js';
import { type Catalog, isSpotType, spotAzs, spotInterruptionsPerHour, spotNoticeMs } from '../../profiles/catalog.js';
import { instanceEstimate, predictLatencyMs } from '../../profiles/schema.js';
import { breakEvenBurstMs, breakEvenUtilisation } from './break-even.js';
import { type CombinedState, createCombinedForecaster } from './forecast/combiner.js';
import type { PeakForecaster } from './forecast/types.js';
import { type LoadDistribution, recentDistribution, requiredUtilisation, sliceUtilisation } from './marginal.js';
import {
  type InterferenceOptions,
  type InterferenceState,
  initInterference,
  observeVmService,
  tickInterference,
} from './interference.js';
import {
  DEFAULT_ACCURACY_VALUE_USD_PER_MILLION_PER_PCT,
  chooseLambdaMemory,
  type PlanInput,
  type PlannerVariant,
  type PlanResult,
  planCapacity,
  type VmOption,
} from './planner.js';
import type {
  CompletionRecord,
  Policy,
  PolicyEnv,
  RouteDecision,
  RouteRequest,
  RouterView,
  TickDecision,
  PlannerFacts,
  TickObservation,
  VariantInfo,
  VmView,
} from './policy-types.js';
import { lambdaMemoryCandidates, PRIOR_COLD_FRACTION } from './lambda-memory.js';
import { DEFAULT_VM_OVERHEAD_MS, type RouteTables, resolveVm, routeRequest, type TaskRow, type VariantRow } from './router.js';
import {
  decaySelector,
  effectiveRatio,
  findEstimate,
  getEstimate,
  initSelector,
  type LatencyEstimate,
  observeLatency,
  pooledRatio,
  type SelectorOptions,
  type SelectorState,
} from './selector.js';
import { type DemandMix, initialDemand, updateDemand } from './demand-classes.js';

export interface SpillwayOptions {
  /**
   * Share of a VM's profiled capacity the plan counts on (default 0.9). The profile's throughput is
   * already the SLO-safe rate (largest batch whose p99 meets the reference SLO) and the router only
   * queues on a VM while the p99 of wait + service fits, spilling the rest to Lambda; 10 % is left
   * for bursts inside a tick. 0.8 -> 0.9 cut the Azure code trace from 1.80x to 1.65x the
   * clairvoyant bound at 0.21 % violations; 1.0 was worse on both traces tried (1.70x, 1.23x).
   */
  targetUtilisation?: number;
  /** Consecutive lower plans before scale-in (default 4, as InfAdapter). */
  scaleDownTicks?: number;
  /**
   * Cap on the load-stabilisation window, which is otherwise the ski-rental break-even of an idle VM
   * (boot delay + the Lambda cost of its boot gap, in VM-time). Default 600,000; 0 = N ticks only.
   */
  maxScaleDownWindowMs?: number;
  /** Share of requests that explore another variant (default 0.02, max 0.1). */
  exploreShare?: number;
  /** Forecast headroom quantile of relative under-forecast errors (default 0.95). */
  headroomQuantile?: number;
  /** Value of accuracy in $ per million requests per top-1 point (default 0.01). */
  accuracyValueUsdPerMillionPerPct?: number;
  /** Floor on the planned average accuracy (default none). */
  minAccuracy?: number;
  /** Provisioning horizon for the forecast (default: longest typical boot delay of the allowed types + 1 tick). */
  horizonMs?: number;
  /** Forecast seasonal period (default 1 day). */
  forecastSeasonMs?: number;
  /** Seasonal bucket (default 60 s). */
  forecastBucketMs?: number;
  /** Take a late cold start rather than a 503 + warm-up when a warm one would fit (default 'reject'; see router.ts). */
  coldSpill?: 'serve' | 'reject';
  /** Let a request wait for a busy Lambda instance when its p99 still fits (default true; see router.ts lambdaWait). */
  lambdaWait?: boolean;
  /**
   * Quantile of Poisson Lambda concurrency demand kept warm ahead of need (core/warm-pool.ts);
   * default 0.999, 0 = no warm pool (instances warm only on demand).
   */
  warmPoolQuantile?: number;
  /** Network/HTTP overhead added to VM latency estimates (default 2 ms). */
  vmOverheadMs?: number;
  /** Expected VM life for amortising boot time in the planner (default 1 h). */
  expectedVmLifetimeMs?: number;
  /**
   * Hysteresis on what the fleet serves: a plan that runs a (type, variant) no VM runs now replaces
   * the best plan over the running ones only when it is better by this fraction of the latter's
   * value ($/h + accuracy loss). Default 0.1: a switch pays a boot gap on Lambda, the old VM's
   * billing minimum and a cold Lambda function for the new variant; at a $0.07/h plan, 10 % over a
   * 10-min hold is ~$0.001, the Lambda bill of ~90 s of 60 rps. Measured need: the README demo on a
   * 2-core machine flipped shufflenet -> mobilenet-v1 -> mobilenet-v2 -> mobilenet-v1 in 8 ticks
   * on plans within 6 % of each other, each flip a new VM and cold Lambda functions.
   */
  switchMargin?: number;
  /**
   * Buy Spot too: the catalog's `<type>:spot` types (withSpotTypes) become VM options with their
   * reclaim rate and AZ pools, and the planner's Spot rows apply (core/planner.ts). @default false
   */
  spot?: boolean;
  /** Largest share of capacity one Spot reclaim may take (planner). @default 0.5 */
  maxSpotShareOfOneReclaim?: number;
  /**
   * Let Spot's discount buy accuracy the on-demand plan would not (planner PlanInput; the behaviour
   * before the fix, for comparison). @default false: Spot serves on-demand's accuracy for less
   */
  spotDiscountBuysAccuracy?: boolean;
  maxVms?: number;
  interference?: InterferenceOptions;
  selector?: SelectorOptions;
}

interface Counters {
  /** observe() calls since the last tick. */
  observed: number;
  lambdaTotal: number;
  lambdaCold: number;
  /** Sum of end-to-end Lambda times (ms) and their count, per variant, since the last tick. */
  lambdaMs: Record<string, { sumMs: number; n: number }>;
  byTask: Record<string, number>;
}

export interface SpillwayState {
  nowMs: number;
  ticks: number;
  selector: SelectorState;
  interference: InterferenceState;
  forecast: CombinedState;
  forecastRps: number;
  horizonMs: number;
  /** Last N plans' desired VM counts per `${instanceType}|${variant}`, newest last. */
  desiredHistory: ReadonlyArray<{ atMs: number; desired: Readonly<Record<string, number>> }>;
  /** Load the last plan was sized for (max forecast over the stabilisation window). */
  planRps: number;
  /** Forecasts of the last scaleDownWindowMs (load stabilisation). */
  forecastHistory: ReadonlyArray<{ atMs: number; rps: number }>;
  /** Current load-stabilisation window (ms), from the ski-rental rule. */
  scaleDownWindowMs: number;
  plans: Readonly<Record<string, PlanResult>>;
  lambdaMemoryMb: Readonly<Record<string, number>>;
  shares: Readonly<Record<string, number>>;
  /** EWMA share of Lambda requests that were cold. */
  coldFraction: number;
  /**
   * EWMA of the time one Lambda request holds a concurrency slot, as observed end to end (cold
   * starts, transport and queueing included), per variant: Little's law W for the concurrency
   * constraint. A local pool whose cold starts take 5 s at a 10 % cold share holds a slot ~550 ms
   * per request, not the 50 ms of a warm run: 8 slots absorb ~12 rps, not ~128.
   */
  lambdaOccupancyMs: Readonly<Record<string, number>>;
  /**
   * The demand mix the plan is made for: classes of arriving requests (task + accuracy floor, or a
   * pinned variant) with EWMA shares (core/demand-classes.ts); one "any" class per task until observed.
   */
  demand: DemandMix;
  /** Planned variant mix per demand class (class key -> variant -> share), for the router's tables. */
  classMix: Readonly<Record<string, Readonly<Record<string, number>>>>;
  counters: Counters;
  tables: RouteTables;
}

const vmKey = (instanceType: string, variant: string): string => `${instanceType}|${variant}`;

export function learnedBootDelayMs(catalog: Catalog, obs: TickObservation | undefined, instanceType: string): number {
  const seen = obs?.observedBootDelayMs[instanceType];
  if (seen && seen.length > 0) {
    const recent = [...seen.slice(-5)].sort((a, b) => a - b);
    return recent[Math.floor(recent.length / 2)]!;
  }
  return catalog.ec2.instanceTypes.find((t) => t.name === instanceType)?.typicalBootDelayMs ?? 90_000;
}

/** Rounds a load up to the next point of a 1 % geometric grid (0 stays 0): 237.4 -> 239.6. */
export function quantiseUp(rps: number): number {
  if (!(rps > 0)) return 0;
  const k = Math.ceil(Math.log(rps) / Math.log(1.01) - 1e-9);
  return 1.01 ** k;
}

/** Memo key of a plan input: every field the solution depends on, capacities to 4 significant digits. */
function planKey(i: PlanInput): string {
  const parts: string[] = [
    i.loadRps.toPrecision(8),
    String(i.targetUtilisation),
    String(i.minAccuracy),
    String(i.budgetUsdPerHour),
    String(i.accuracyValueUsdPerMillionPerPct),
    String(i.lambdaConcurrencyLimit),
    String(i.expectedVmLifetimeMs),
    String(i.maxVms),
    String(i.vcpuLimit),
    String(i.noNewVms ?? false),
    String(i.maxSpotShareOfOneReclaim),
    String(i.spotNoticeMs),
    String(i.spotDiscountBuysAccuracy ?? false),
  ];
  for (const v of i.variants) {
    parts.push(v.name, String(v.accuracy));
    for (const o of v.vmOptions) parts.push(o.instanceType, o.capacityRps.toPrecision(4), String(o.pricePerHourUsd), String(Math.round(o.bootDelayMs / 1000)), String(o.existing ?? 0), String(o.vcpu ?? 0), o.spot ? `${o.spot.interruptionsPerHour}/${o.spot.pools}` : '');
    if (v.lambda) parts.push(String(v.lambda.memoryMb), v.lambda.costPerRequestUsd.toPrecision(4), v.lambda.durationMs.toPrecision(3));
  }
  return parts.join('|');
}

/**
 * Time one Lambda request holds a concurrency slot: the learned end-to-end mean once observed,
 * before that the profile's warm p50 + overhead + the cold share x the cold start.
 */
export function lambdaOccupancyMs(
  s: Pick<SpillwayState, 'lambdaOccupancyMs' | 'coldFraction'>,
  variant: string,
  c: { p50Ms: number; overheadMs?: number; coldStartMs: number },
): number {
  const prior = c.p50Ms + (c.overheadMs ?? 0) + s.coldFraction * c.coldStartMs;
  return s.lambdaOccupancyMs[variant] ?? prior;
}

/**
 * The planned mix per demand class, and the overall variant shares (each class's plan weighted by
 * its share of demand, so they sum to 1 over all classes: 70 % "any" on mobilenet-v1 and 30 %
 * ">= 66.1" on shufflenet give {mobilenet-v1: 0.7, shufflenet: 0.3}).
 */
export function mixOfPlans(
  plans: Readonly<Record<string, PlanResult>>,
  demandShares: Readonly<Record<string, number>>,
): { classMix: Record<string, Record<string, number>>; shares: Record<string, number> } {
  const classMix: Record<string, Record<string, number>> = {};
  const shares: Record<string, number> = {};
  let total = 0;
  for (const [key, r] of Object.entries(plans)) {
    if (!r.ok) continue;
    classMix[key] = { ...r.shares };
    const w = demandShares[key] ?? 0;
    total += w;
    for (const [v, sh] of Object.entries(r.shares)) shares[v] = (shares[v] ?? 0) + w * sh;
  }
  if (total > 0) for (const v of Object.keys(shares)) shares[v] = shares[v]! / total;
  return { classMix, shares };
}

export function createSpillwayPolicy(opts: SpillwayOptions = {}): Policy<SpillwayState> {
  // Strict ranges, no clamping (spillway-options-schema.ts).
  checkSpillwayOptions(opts);
  const util = opts.targetUtilisation ?? 0.9;
  const scaleDownTicks = opts.scaleDownTicks ?? 4;
  const maxWindowMs = opts.maxScaleDownWindowMs ?? 600_000;
  const warmQuantile = opts.warmPoolQuantile ?? 0.999;
  const exploreShare = opts.exploreShare ?? 0.02;
  const vmOverheadMs = opts.vmOverheadMs ?? DEFAULT_VM_OVERHEAD_MS;
  let forecaster: PeakForecaster<CombinedState> | undefined;
  let forecasterKey = '';

  // The horizon is the longest learned boot delay of the allowed types + one tick; when what we
  // observe moves it, the forecaster is re-made for the new horizon and keeps its state.
  const getForecaster = (
    env: PolicyEnv,
    obs: TickObservation | undefined,
  ): { f: PeakForecaster<CombinedState>; horizonMs: number } => {
    const tick = env.tickIntervalMs;
    const horizonMs =
      opts.horizonMs ??
      Math.ceil((Math.max(0, ...env.instanceTypes.map((t) => learnedBootDelayMs(env.catalog, obs, t))) + tick) / tick) * tick;
    const key = `${tick}|${horizonMs}`;
    if (!forecaster || key !== forecasterKey) {
      const bucket = Math.max(1, Math.round((opts.forecastBucketMs ?? 60_000) / tick));
      const season = Math.round((opts.forecastSeasonMs ?? 86_400_000) / tick / bucket) * bucket;
      forecaster = createCombinedForecaster({
        horizonSteps: Math.max(1, Math.ceil(horizonMs / tick)),
        seasonSteps: season,
        bucketSteps: bucket,
        headroomQuantile: opts.headroomQuantile ?? 0.95,
      });
      forecasterKey = key;
    }
    return { f: forecaster, horizonMs };
  };

  // variant -> task per env object (observe() runs once per completion: no linear search there).
  const taskIndex = new WeakMap<PolicyEnv, Map<string, string>>();
  const taskOf = (env: PolicyEnv, variant: string): string | undefined => {
    let m = taskIndex.get(env);
    if (!m) {
      m = new Map(env.variants.map((v) => [v.name, v.task]));
      taskIndex.set(env, m);
    }
    return m.get(variant);
  };

  const planMemo = new Map<string, PlanResult>();
  const solveMemo = (input: PlanInput): PlanResult => {
    const memoKey = planKey(input);
    let solved = planMemo.get(memoKey);
    if (!solved) {
      solved = planCapacity(input);
      if (planMemo.size >= 256) planMemo.clear();
      planMemo.set(memoKey, solved);
    }
    return solved;
  };
  /**
   * The variant-switch hysteresis (opts.switchMargin): when the free plan `solved` would run a
   * (type, variant) that no active VM runs, the best plan over the running (type, variant)s only
   * (their counts free, every variant's Lambda still open) is kept unless the switch is better by
   * the margin. A pure function of the plan input and the fleet: the hysteresis is in the fleet.
   */
  const keepRunningUnlessBetter = (
    key: string,
    input: PlanInput,
    solved: PlanResult,
    obs: TickObservation | undefined,
    notes: string[],
  ): PlanResult => {
    const margin = opts.switchMargin ?? 0.1;
    if (!solved.ok || margin <= 0 || !obs) return solved;
    const running = new Set<string>();
    for (const vm of obs.vms) if (vm.state !== 'draining') running.add(vmKey(vm.instanceType, vm.variant));
    const pvNames = new Set(input.variants.map((v) => v.name));
    const runningHere = [...running].filter((k) => pvNames.has(k.slice(k.indexOf('|') + 1)));
    if (runningHere.length === 0) return solved;
    if (solved.vms.every((v) => running.has(vmKey(v.instanceType, v.variant)))) return solved;
    // A Spot plan held to on-demand's accuracy (planner spotAccuracyFloor) is compared in dollars
    // (accuracy valued at 0, as it was chosen). Valuing accuracy here undid the rule: on Twitter at
    // 1,000 rps (2 reclaims/VM-h) 9 Spot VMs of shufflenet (66 %) were kept against a mobilenet plan
    // 45 % cheaper in dollars, as their 11 points were worth more (run: $0.47 -> $0.21 for the hour).
    // The running fleet is not held to that floor too: the floor moves with the on-demand view
    // tick to tick, and a kept fleet forced to it switched far more often ($0.20 -> $0.29).
    const floor = solved.spotAccuracyFloor;
    const keep = solveMemo({
      ...input,
      variants: input.variants.map((pv) => ({ ...pv, vmOptions: pv.vmOptions.filter((o) => running.has(vmKey(o.instanceType, pv.name))) })),
    });
    if (!keep.ok) return solved;
    const bestAcc = Math.max(...input.variants.map((v) => v.accuracy ?? 0));
    const w = floor !== undefined ? 0 : ((opts.accuracyValueUsdPerMillionPerPct ?? DEFAULT_ACCURACY_VALUE_USD_PER_MILLION_PER_PCT) * 3600) / 1e6;
    const value = (r: Extract<PlanResult, { ok: true }>) => r.costUsdPerHour + w * (bestAcc - r.accuracy) * input.loadRps;
    const saving = 1 - value(solved) / value(keep);
    if (saving >= margin) return solved;
    notes.push(
      `${key}: kept the running ${runningHere.join(', ')}: switching to ${solved.vms.map((v) => `${v.count}x${v.instanceType}:${v.variant}`).join(' ')} would be ${(saving * 100).toFixed(1)} % better (switch margin ${(margin * 100).toFixed(0)} %)`,
    );
    return keep;
  };

  const readyOf = (obs: TickObservation | undefined, instanceType: string, variant: string): number => {
    let n = 0;
    for (const vm of obs?.vms ?? []) if (vm.state === 'ready' && vm.instanceType === instanceType && vm.variant === variant) n++;
    return n;
  };

  const learn = (c: CompletionRecord, s: SpillwayState, env: PolicyEnv): void => {
    if (c.backend === 'vm' && c.vmId) {
      const est = findEstimate(s.selector, c.variant, 'vm', c.resourceKey);
      if (est) {
        observeVmService(s.interference, c.vmId, c.serviceMs, est.priorP50Ms, est.logRatio, c.atMs);
        const ce = s.tables?.vmCache.get(c.vmId);
        if (ce && ce.health === undefined) ce.health = s.interference.byVm.get(c.vmId);
      }
    }
    observeLatency(s.selector, c);
    if (c.backend === 'lambda') {
      s.counters.lambdaTotal++;
      if (c.coldStart) s.counters.lambdaCold++;
      const acc = s.counters.lambdaMs[c.variant] ?? { sumMs: 0, n: 0 };
      acc.sumMs += c.totalMs;
      acc.n++;
      s.counters.lambdaMs[c.variant] = acc;
    }
    const task = taskOf(env, c.variant);
    if (task !== undefined) s.counters.byTask[task] = (s.counters.byTask[task] ?? 0) + 1;
  };

  const plan = (
    env: PolicyEnv,
    s: SpillwayState,
    loadRps: number,
    obs: TickObservation | undefined,
    notes: string[],
    dist?: LoadDistribution,
  ): {
    plans: Record<string, PlanResult>;
    /** Per class, the plan for the ready fleet only (routing mix while bought VMs boot). */
    nowPlans: Record<string, PlanResult>;
    memory: Record<string, number>;
    lambdaCost: Record<string, number>;
    options: Record<string, VmOption>;
    occupancyMs: Record<string, number>;
  } => {
    const plans: Record<string, PlanResult> = {};
    const nowPlans: Record<string, PlanResult> = {};
    const options: Record<string, VmOption> = {};
    const memory: Record<string, number> = {};
    const lambdaCost: Record<string, number> = {};
    const occupancyMs: Record<string, number> = {};
    const byName = new Map<string, PlannerVariant>();
    for (const v of env.variants) {
      const lam = lambdaChoice(env, s, v);
      if (lam) {
        memory[v.name] = lam.choice.memoryMb;
        lambdaCost[v.name] = lam.choice.costPerRequestUsd;
        occupancyMs[v.name] = lambdaOccupancyMs(s, v.name, lam.choice);
        if (!lam.fits) notes.push(`${v.name}: no Lambda memory meets ${env.sloMs} ms at cold share ${(s.coldFraction * 100).toFixed(1)} %; using fastest ${lam.choice.memoryMb} MB for spill only`);
      }
      const vo = vmOptions(env, s, v, obs);
      for (const o of vo) options[vmKey(o.instanceType, v.name)] = o;
      byName.set(v.name, {
        name: v.name,
        accuracy: v.accuracyTop1,
        vmOptions: vo,
        lambda: lam?.fits
          ? {
              memoryMb: lam.choice.memoryMb,
              costPerRequestUsd: Number(lam.choice.costPerRequestUsd.toPrecision(4)),
              durationMs: Number(lambdaOccupancyMs(s, v.name, lam.choice).toPrecision(3)),
            }
          : undefined,
      });
    }
    for (const [key, dc] of Object.entries(s.demand.classes)) {
      const pvs: PlannerVariant[] = dc.variants.map((n) => byName.get(n)).filter((x): x is PlannerVariant => x !== undefined);
      if (pvs.length === 0) continue;
      const share = s.demand.shares[key] ?? 0;
      if (!(share > 0)) continue;
      // Load rounded UP to a 1 % geometric grid, so consecutive ticks with nearly the same forecast
      // give the same IP, whose solution is memoised (a pure function of its input): the IP is most
      // of a tick's cost and the simulator runs ~10^5 ticks.
      const gridLoad = quantiseUp(loadRps * share);
      const input: PlanInput = {
        loadRps: gridLoad,
        variants: pvs,
        targetUtilisation: util,
        minAccuracy: opts.minAccuracy,
        budgetUsdPerHour: env.budgetUsdPerHour !== undefined ? env.budgetUsdPerHour * share : undefined,
        accuracyValueUsdPerMillionPerPct: opts.accuracyValueUsdPerMillionPerPct,
        lambdaConcurrencyLimit: env.lambdaConcurrencyLimit * share,
        expectedVmLifetimeMs: opts.expectedVmLifetimeMs,
        maxVms: opts.maxVms ?? env.maxVms,
        vcpuLimit: env.vcpuLimit,
        ...(opts.spot ? { maxSpotShareOfOneReclaim: opts.maxSpotShareOfOneReclaim, spotNoticeMs: spotNoticeMs(env.catalog), spotDiscountBuysAccuracy: opts.spotDiscountBuysAccuracy } : {}),
      };
      const solved = keepRunningUnlessBetter(key, input, solveMemo(input), obs, notes);
      // The routing plan for the fleet that is READY now: VMs bought by the plan above serve nobody
      // until they boot, so until then their traffic stays where it can be served. Without this the
      // mix moved to the VMs' variant at once and onto its cold Lambda functions (README demo at
      // 80 rps: 414 cold-start 503s while the VM booted). Lambda concurrency is left out: the mix is
      // what is chosen here, and the router rejects what the pool cannot take.
      const pvsNow = pvs.map((pv) => ({
        ...pv,
        vmOptions: pv.vmOptions
          .map((o) => ({ ...o, existing: readyOf(obs, o.instanceType, pv.name) }))
          .filter((o) => o.existing > 0),
      }));
      nowPlans[key] = solveMemo({ ...input, variants: pvsNow, noNewVms: true, lambdaConcurrencyLimit: 1e9 });
      // Callers may trim the plan in place: hand out a copy.
      plans[key] = solved.ok
        ? { ...solved, vms: solved.vms.map((v) => ({ ...v })), vmRps: { ...solved.vmRps }, lambdaRps: { ...solved.lambdaRps }, shares: { ...solved.shares } }
        : solved;
      const r = plans[key];
      if (r?.ok && r.vms.length > 0 && dist && dist.samples.length > 0) {
        const taskDist: LoadDistribution = { samples: dist.samples.map((x) => x * share), weights: dist.weights };
        // A VM bought now is held at least the ski-rental window, and is billed at least the minimum.
        const holdMs = Math.max(s.scaleDownWindowMs, env.catalog.ec2.billingMinimumSeconds * 1000);
        const dropped = trimToBreakEven(r, pvs, loadRps * share, taskDist, holdMs, env.lambdaConcurrencyLimit * share);
        if (dropped > 0) notes.push(`${key}: ${dropped} VM(s) of the peak plan left to Lambda (their expected utilisation is below break-even)`);
      }
    }
    return { plans, nowPlans, memory, lambdaCost, options, occupancyMs };
  };

  /**
   * The IP sizes VMs for the PEAK forecast; but a VM bought for a peak that lasts one tick in ten
   * idles the rest of the time. The marginal-VM rule (marginal.ts) keeps only the VMs whose slice
   * of capacity is busy more often than break-even: over the recent load distribution `dist`
   * (exponentially weighted, see tick()), VM k stacked on capacity B has expected utilisation
   * u_k = (E[(L - B)+] - E[(L - B - c)+]) / c and is kept iff u_k >= u* (break-even.ts, from its price,
   * its capacity and the variant's Lambda $/request), raised to u* x (1 + boot / hold) for a VM
   * that is not running yet (it pays its boot time serving nobody). New VMs sit on top of the
   * stack (judged first), then the least cost-efficient. A VM is kept anyway when Lambda
   * concurrency could not take the peak excess without it. Mutates the plan in place; returns how
   * many VMs were dropped. c6g.large x shufflenet (142 rps x 0.9 = 128 rps, $0.068/h) against
   * Lambda 2,048 MB ($0.633/M): u* = 0.068 / (128 x 3600 x 0.633e-6) = 0.23; a new one needs
   * 0.23 x (1 + 80 s / 360 s) = 0.28.
   */
  const trimToBreakEven = (
    r: Extract<PlanResult, { ok: true }>,
    pvs: readonly PlannerVariant[],
    peakRps: number,
    dist: LoadDistribution,
    holdMs: number,
    concurrency: number,
  ): number => {
    const units: Array<{ vm: (typeof r.vms)[number]; cap: number; uStar: number; bar: number; isNew: boolean }> = [];
    let total = 0;
    for (const vm of r.vms) {
      const pv = pvs.find((x) => x.name === vm.variant);
      const o = pv?.vmOptions.find((x) => x.instanceType === vm.instanceType);
      const cap = (o?.capacityRps ?? 0) * util;
      total += cap * vm.count;
      if (!pv?.lambda || !o) continue;
      const uStar = breakEvenUtilisation({ vmPricePerHourUsd: o.pricePerHourUsd, vmCapacityRps: cap, lambdaCostPerRequestUsd: pv.lambda.costPerRequestUsd });
      const existing = Math.max(0, Math.floor(o.existing ?? 0));
      for (let i = 0; i < vm.count; i++) {
        const isNew = i >= existing;
        units.push({ vm, cap, uStar, bar: requiredUtilisation(uStar, isNew, o.bootDelayMs, holdMs), isNew });
      }
    }
    const lambdaBefore: Record<string, number> = { ...r.lambdaRps };
    // Top of the stack first: new VMs, then the least cost-efficient (highest u*).
    units.sort((a, b) => Number(b.isNew) - Number(a.isNew) || b.uStar - a.uStar);
    let dropped = 0;
    for (const u of units) {
      const below = total - u.cap;
      const used = sliceUtilisation(dist, below, u.cap);
      if (used >= u.bar) continue;
      const pv = pvs.find((x) => x.name === u.vm.variant);
      const durS = (pv?.lambda?.durationMs ?? 0) / 1000;
      if (Math.max(0, peakRps - below) * durS > concurrency * 0.8) continue;
      total = below;
      u.vm.count--;
      r.lambdaRps[u.vm.variant] = (r.lambdaRps[u.vm.variant] ?? 0) + u.cap;
      r.vmRps[u.vm.variant] = Math.max(0, (r.vmRps[u.vm.variant] ?? 0) - u.cap);
      // Expected $/h: the slice's mean traffic moves to Lambda, the VM's price goes.
      const price = pv?.vmOptions.find((x) => x.instanceType === u.vm.instanceType)?.pricePerHourUsd ?? 0;
      r.costUsdPerHour += used * u.cap * 3600 * (pv?.lambda?.costPerRequestUsd ?? 0) - price;
      dropped++;
    }
    r.vms = r.vms.filter((v) => v.count > 0);
    if (dropped > 0) {
      // The traffic of the dropped VMs goes to the Lambda variant with the lowest $/request plus
      // accuracy loss (the IP's objective), not necessarily the dropped VMs' variant: a VM of
      // mobilenet-v2 bought for the peak must not send its slice to mobilenet's Lambda at
      // $0.93/M when shufflenet's is $0.63/M and the accuracy difference is worth $0.02/M.
      const w = (opts.accuracyValueUsdPerMillionPerPct ?? DEFAULT_ACCURACY_VALUE_USD_PER_MILLION_PER_PCT) / 1e6;
      const floor = opts.minAccuracy ?? Number.NEGATIVE_INFINITY;
      let best: PlannerVariant | undefined;
      let bestCost = Number.POSITIVE_INFINITY;
      for (const pv of pvs) {
        if (!pv.lambda || (pv.accuracy ?? 0) < floor) continue;
        const c = pv.lambda.costPerRequestUsd - w * (pv.accuracy ?? 0);
        if (c < bestCost) {
          bestCost = c;
          best = pv;
        }
      }
      if (best) {
        let total = 0;
        for (const pv of pvs) {
          const moved = pv === best ? 0 : Math.max(0, (r.lambdaRps[pv.name] ?? 0) - (lambdaBefore[pv.name] ?? 0));
          if (moved > 0) {
            r.lambdaRps[pv.name] = (r.lambdaRps[pv.name] ?? 0) - moved;
            r.lambdaRps[best.name] = (r.lambdaRps[best.name] ?? 0) + moved;
          }
        }
        for (const pv of pvs) total += (r.vmRps[pv.name] ?? 0) + (r.lambdaRps[pv.name] ?? 0);
        if (total > 0) {
          const shares: Record<string, number> = {};
          for (const pv of pvs) {
            const sh = ((r.vmRps[pv.name] ?? 0) + (r.lambdaRps[pv.name] ?? 0)) / total;
            if (sh > 1e-9) shares[pv.name] = sh;
          }
          r.shares = shares;
        }
      }
    }
    return dropped;
  };

  const lambdaChoice = (env: PolicyEnv, s: SpillwayState, v: VariantInfo) => {
    const cands = lambdaMemoryCandidates(env.catalog, env.lambdaArch, (m) => getEstimate(s.selector, env.catalog, v, 'lambda', String(m)));
    return chooseLambdaMemory(cands, env.sloMs, s.coldFraction, s.lambdaMemoryMb[v.name]);
  };

  const vmOptions = (env: PolicyEnv, s: SpillwayState, v: VariantInfo, obs: TickObservation | undefined): VmOption[] => {
    const out: VmOption[] = [];
    const pooled = pooledRatio(s.selector, v.name, 'vm');
    for (const t of env.instanceTypes) {
      if (isSpotType(t) && !opts.spot) continue;
      const it = env.catalog.ec2.instanceTypes.find((x) => x.name === t);
      if (!it) continue;
      const e = getEstimate(s.selector, env.catalog, v, 'vm', t);
      const inst = instanceEstimate(v.profile, t);
      // Capacity from the profile, de-rated by what we learned. Observed VM service times are BATCH
      // latencies (the server batches), so they are compared with the profile's latency at the batch
      // size its throughput was measured at: at full load batches are that big and the ratio is ~1
      // unless the model really is slower (1.5x slower -> 2/3 of the capacity); at light load batches
      // are smaller and the ratio < 1, which must not inflate capacity (floored at 1). A type with
      // few observations borrows the variant's pooled ratio.
      const ratio = effectiveRatio(e, pooled);
      const observedP50 = e.priorP50Ms * ratio;
      const batchMs = inst
        ? predictLatencyMs(v.profile.latencyModel, inst.batchSize, inst.intraOpThreads)
        : e.priorP50Ms;
      const capRatio = Math.max(1, observedP50 / batchMs);
      const capacityRps = inst ? inst.throughputRps / capRatio : (it.vcpu * 1000) / (e.priorP50Ms * capRatio);
      const p99 = Math.max(inst ? inst.p99Ms * capRatio : e.priorP99Ms * capRatio, e.n >= 30 ? e.p99Ms : 0) + vmOverheadMs;
      if (p99 > env.sloMs) continue;
      const existing = obs
        ? obs.vms.filter((vm) => vm.instanceType === t && vm.variant === v.name && vm.state !== 'draining').length
        : 0;
      // 4 significant digits: the IP input is what the memo key says it is.
      out.push({ instanceType: t, capacityRps: Number(capacityRps.toPrecision(4)), pricePerHourUsd: it.pricePerHourUsd, bootDelayMs: Math.round(learnedBootDelayMs(env.catalog, obs, t) / 1000) * 1000, existing, vcpu: it.vcpu, ...(it.spotOf ? { spot: { interruptionsPerHour: spotInterruptionsPerHour(it), pools: Math.max(1, spotAzs(it).length) } } : {}) });
    }
    return out;
  };

  const buildTables = (
    env: PolicyEnv,
    s: SpillwayState,
    memory: Record<string, number>,
    lambdaCost: Record<string, number>,
    classMix: Readonly<Record<string, Readonly<Record<string, number>>>>,
    counter: Uint32Array,
    fleet: readonly VmView[],
  ): RouteTables => {
    const variants: VariantRow[] = [];
    const index = new Map<string, number>();
    for (const v of env.variants) {
      const vmEst = new Map<string, LatencyEstimate>();
      for (const t of env.instanceTypes) vmEst.set(t, getEstimate(s.selector, env.catalog, v, 'vm', t));
      const lambdaEst = new Map<number, LatencyEstimate>();
      for (const m of env.catalog.lambda.memoryOptionsMb) lambdaEst.set(m, getEstimate(s.selector, env.catalog, v, 'lambda', String(m)));
      const planned = memory[v.name] ?? env.catalog.lambda.memoryOptionsMb[0]!;
      index.set(v.name, variants.length);
      variants.push({
        name: v.name,
        task: v.task,
        accuracy: v.accuracyTop1 ?? -1,
        vmEst,
        lambdaEst,
        plannedMemoryMb: planned,
        lambdaCostPerRequestUsd: lambdaCost[v.name] ?? Number.POSITIVE_INFINITY,
      });
    }
    const tasks = new Map<string, TaskRow>();
    for (const [i, row] of variants.entries()) {
      let tr = tasks.get(row.task);
      if (!tr) {
        tr = { byCost: [], mixes: [] };
        tasks.set(row.task, tr);
      }
      tr.byCost.push(i);
    }
    for (const tr of tasks.values()) {
      tr.byCost.sort((a, b) => {
        const va = variants[a]!;
        const vb = variants[b]!;
        return va.lambdaCostPerRequestUsd - vb.lambdaCostPerRequestUsd || vb.accuracy - va.accuracy;
      });
    }
    // One mix per planned demand class (pinned classes route by name, not by mix), floors ascending.
    for (const [key, dc] of Object.entries(s.demand.classes)) {
      const tr = tasks.get(dc.task);
      if (!tr || dc.pinned !== undefined) continue;
      const mixShares = classMix[key] ?? {};
      const mix = { floor: dc.floor, idx: [] as number[], cum: [] as number[] };
      let cum = 0;
      for (const i of tr.byCost) {
        const sh = mixShares[variants[i]!.name] ?? 0;
        if (sh > 0) {
          cum += sh;
          mix.idx.push(i);
          mix.cum.push(cum);
        }
      }
      if (mix.idx.length === 0) {
        // Not planned yet (a class first seen this tick): its cheapest admitted variant.
        const first = tr.byCost.find((i) => dc.variants.includes(variants[i]!.name));
        if (first === undefined) continue;
        mix.idx.push(first);
        mix.cum.push(1);
      } else {
        for (let k = 0; k < mix.cum.length; k++) mix.cum[k] = mix.cum[k]! / cum;
        mix.cum[mix.cum.length - 1] = 1;
      }
      tr.mixes.push(mix);
    }
    for (const tr of tasks.values()) tr.mixes.sort((a, b) => a.floor - b.floor);
    const interference = s.interference;
    const tables: RouteTables = {
      variants,
      index,
      tasks,
      exploreShare,
      coldSpill: opts.coldSpill ?? 'reject',
      lambdaWait: opts.lambdaWait ?? true,
      vmOverheadMs,
      vmCache: new Map(),
      alignedFor: undefined,
      aligned: [],
      health: interference.byVm,
      minHealthSamples: interference.minSamples,
      probeIntervalMs: interference.probeIntervalMs,
      counter,
      candIdx: new Uint32Array(16),
      candDelay: new Float64Array(16),
    };
    for (const vm of fleet) resolveVm(tables, vm);
    return tables;
  };

  /**
   * The figures this tick's plan was made from, for people (dashboard, /v1/status): break-even per
   * VM option of the variants in use, what Lambda may absorb, the horizon and headroom.
   */
  const plannerFacts = (
    env: PolicyEnv,
    s: SpillwayState,
    p: { options: Record<string, VmOption>; lambdaCost: Record<string, number>; occupancyMs: Record<string, number> },
    planRps: number,
    inUse: Readonly<Record<string, number>>,
  ): PlannerFacts => {
    const minMs = env.catalog.ec2.billingMinimumSeconds * 1000;
    const holdMs = Math.max(s.scaleDownWindowMs, minMs);
    const vmCapacityRps: Record<string, number> = {};
    const breakEven: PlannerFacts['breakEven'] = [];
    for (const [k, o] of Object.entries(p.options)) {
      const variant = k.slice(k.indexOf('|') + 1);
      const cap = o.capacityRps * util;
      vmCapacityRps[k] = cap;
      const lam = p.lambdaCost[variant];
      if (!((inUse[variant] ?? 0) > 0) || lam === undefined) continue;
      const u = breakEvenUtilisation({ vmPricePerHourUsd: o.pricePerHourUsd, vmCapacityRps: cap, lambdaCostPerRequestUsd: lam });
      const burst = breakEvenBurstMs(u, o.bootDelayMs, minMs);
      breakEven.push({
        instanceType: o.instanceType,
        variant,
        capacityRps: cap,
        pricePerHourUsd: o.pricePerHourUsd,
        lambdaCostPerRequestUsd: lam,
        utilisation: u,
        newVmUtilisation: requiredUtilisation(u, true, o.bootDelayMs, holdMs),
        burstMs: Number.isFinite(burst) ? burst : null,
        bootDelayMs: o.bootDelayMs,
      });
    }
    breakEven.sort((a, b) => a.utilisation - b.utilisation);
    // Little's law over the mix: a request holds a slot for the variant's learned occupancy.
    let shareSum = 0;
    let slotS = 0;
    for (const [v, sh] of Object.entries(inUse)) {
      const occ = p.occupancyMs[v];
      if (!(sh > 0) || occ === undefined) continue;
      shareSum += sh;
      slotS += (sh * occ) / 1000;
    }
    const lambdaAbsorbRps = slotS > 0 ? (0.8 * env.lambdaConcurrencyLimit * shareSum) / slotS : 0;
    return { horizonMs: s.horizonMs, headroom: s.forecast.headroom, planRps, holdWindowMs: s.scaleDownWindowMs, lambdaAbsorbRps, vmCapacityRps, breakEven };
  };

  const policy: Policy<SpillwayState> = {
    name: 'spillway',
    usesLambda: true,

    init(env, nowMs) {
      const { f, horizonMs } = getForecaster(env, undefined);
      const s: SpillwayState = {
        nowMs,
        ticks: 0,
        selector: initSelector(env.catalog, env.variants, env.instanceTypes, opts.selector),
        interference: initInterference(opts.interference),
        forecast: f.init(),
        forecastRps: 0,
        horizonMs,
        desiredHistory: [],
        forecastHistory: [],
        planRps: 0,
        scaleDownWindowMs: scaleDownTicks * env.tickIntervalMs,
        plans: {},
        lambdaMemoryMb: {},
        shares: {},
        coldFraction: PRIOR_COLD_FRACTION,
        lambdaOccupancyMs: {},
        demand: initialDemand(env.variants),
        classMix: {},
        counters: { observed: 0, lambdaTotal: 0, lambdaCold: 0, lambdaMs: {}, byTask: {} },
        tables: undefined as unknown as RouteTables,
      };
      const notes: string[] = [];
      const p = plan(env, s, 0, undefined, notes);
      const mix = mixOfPlans(p.nowPlans, s.demand.shares);
      s.plans = p.plans;
      s.lambdaMemoryMb = p.memory;
      s.shares = mix.shares;
      s.classMix = mix.classMix;
      s.tables = buildTables(env, s, p.memory, p.lambdaCost, mix.classMix, Uint32Array.of(1), []);
      return s;
    },

    tick(obs, prev, env) {
      const notes: string[] = [];
      const counters = prev.counters;
      const s: SpillwayState = { ...prev, nowMs: obs.nowMs, ticks: prev.ticks + 1 };
      if (counters.observed === 0) for (const c of obs.completions) learn(c, s, env);
      decaySelector(s.selector);

      if (counters.lambdaTotal > 0) {
        s.coldFraction = 0.8 * prev.coldFraction + 0.2 * (counters.lambdaCold / counters.lambdaTotal);
      }
      // The demand mix: what arrived (rejections included); a world that only sets a rate has no
      // per-request demand, and its completions by task stand in.
      const demand = obs.demand ?? Object.entries(counters.byTask).map(([task, count]) => ({ task, minAccuracy: 0, count }));
      s.demand = updateDemand(env.variants, prev.demand, demand);
      const occ: Record<string, number> = { ...prev.lambdaOccupancyMs };
      for (const [v, a] of Object.entries(counters.lambdaMs)) {
        const mean = a.sumMs / a.n;
        occ[v] = occ[v] === undefined ? mean : 0.8 * occ[v]! + 0.2 * mean;
      }
      s.lambdaOccupancyMs = occ;
      s.counters = { observed: 0, lambdaTotal: 0, lambdaCold: 0, lambdaMs: {}, byTask: {} };

      const inter = tickInterference(prev.interference, obs.vms, obs.nowMs);
      s.interference = inter.state;
      const replace = new Set(inter.replace);
      for (const id of inter.replace) notes.push(`replace ${id}: slowdown above ${s.interference.threshold} (significant) for ${s.interference.ticks} observed ticks`);
      // A VM still booting after 3x its type's (learned) boot delay is presumed stuck: replace it.
      for (const vm of obs.vms) {
        if (vm.state !== 'booting' || replace.has(vm.id)) continue;
        const limitMs = 3 * learnedBootDelayMs(env.catalog, obs, vm.instanceType);
        if (obs.nowMs - vm.launchedAtMs > limitMs) {
          replace.add(vm.id);
          notes.push(`replace ${vm.id}: still booting after ${((obs.nowMs - vm.launchedAtMs) / 1000).toFixed(0)} s (limit ${(limitMs / 1000).toFixed(0)} s)`);
        }
      }

      const { f, horizonMs } = getForecaster(env, obs);
      s.horizonMs = horizonMs;
      const y = obs.arrivalRpsHistory[obs.arrivalRpsHistory.length - 1];
      if (y !== undefined) {
        const r = f.step(prev.forecast, y);
        s.forecast = r.state;
        s.forecastRps = r.forecastRps;
      }
      notes.push(`forecast peak ${s.forecastRps.toFixed(2)} rps over ${(horizonMs / 1000).toFixed(0)} s (headroom +${(s.forecast.headroom * 100).toFixed(1)} %)`);

      // Load stabilisation: plan for the highest forecast of the last W ms, where W is the ski-rental
      // break-even of an idle VM of the current plan (see scaleDownWindowMs below). Scale-in thus
      // waits until keeping the VM would have cost more than re-buying it; scale-out is immediate.
      const forecastHistory = [...prev.forecastHistory, { atMs: obs.nowMs, rps: s.forecastRps }].filter(
        (h) => obs.nowMs - h.atMs < Math.max(prev.scaleDownWindowMs, env.tickIntervalMs),
      );
      s.forecastHistory = forecastHistory;
      let planRps = 0;
      for (const h of forecastHistory) planRps = Math.max(planRps, h.rps);
      if (planRps > s.forecastRps * 1.001) notes.push(`planning for ${planRps.toFixed(2)} rps, the peak forecast of the last ${(prev.scaleDownWindowMs / 1000).toFixed(0)} s`);
      s.planRps = planRps;
      // The load distribution the marginal-VM rule judges each VM against: the recent per-tick
      // rates, weighted exp(-age / W) with W the ski-rental window below (how long a VM decision
      // lasts: holding an idle VM longer costs more than re-buying it). c6g.large x shufflenet:
      // 80 s + 128 rps x 80 s x $0.633/M / ($0.068/h) = 80 + 343 s ~ 7 min = 42 ticks, 126 samples.
      const tauSteps = Math.max(1, prev.scaleDownWindowMs / env.tickIntervalMs);
      const dist = recentDistribution(obs.arrivalRpsHistory, tauSteps);
      const p = plan(env, s, planRps, obs, notes, dist);
      const desired: Record<string, number> = {};
      // Routing follows the ready fleet's plan; the target plan (p.plans) says what to buy.
      const mix = mixOfPlans(p.nowPlans, s.demand.shares);
      const shares = mix.shares;
      const targetShares = mixOfPlans(p.plans, s.demand.shares).shares;
      let planOk = true;
      for (const [key, r] of Object.entries(p.plans)) {
        if (!r.ok) {
          planOk = false;
          notes.push(`plan for ${key} failed (${r.reason}); keeping the current fleet, Lambda takes the rest`);
          continue;
        }
        if (r.spotReclaimUncovered)
          notes.push(`plan for ${key}: no Spot plan holds the SLO through one reclaim (Lambda concurrency ${env.lambdaConcurrencyLimit} cannot take a pool's load at once); buying Spot without that guarantee`);
        for (const vm of r.vms) desired[vmKey(vm.instanceType, vm.variant)] = (desired[vmKey(vm.instanceType, vm.variant)] ?? 0) + vm.count;
        notes.push(`plan ${key} (${((s.demand.shares[key] ?? 0) * 100).toFixed(0)} % of demand): $${r.costUsdPerHour.toFixed(4)}/h, accuracy ${r.accuracy.toFixed(2)}, ${r.vms.map((v) => `${v.count}x${v.instanceType}:${v.variant}`).join(' ') || 'no VMs'}`);
      }

      // Current fleet per key (draining and to-be-replaced VMs do not count).
      const current: Record<string, VmView[]> = {};
      for (const vm of obs.vms) {
        if (vm.state === 'draining' || replace.has(vm.id)) continue;
        const k = vmKey(vm.instanceType, vm.variant);
        const list = current[k] ?? [];
        list.push(vm);
        current[k] = list;
      }
      if (!planOk) for (const [k, list] of Object.entries(current)) desired[k] = Math.max(desired[k] ?? 0, list.length);

      // Per key, the target is the max of the last N plans (InfAdapter's 4-interval stabilisation):
      // a key launched at tick i is never scaled in before tick i + N.
      const history = [...prev.desiredHistory, { atMs: obs.nowMs, desired }].slice(-scaleDownTicks);
      s.desiredHistory = history;
      const keys = new Set(Object.keys(current));
      for (const h of history) for (const k of Object.keys(h.desired)) keys.add(k);
      const launch: TickDecision['launch'] = [];
      const terminate: string[] = [...replace];
      const minBilledMs = env.catalog.ec2.billingMinimumSeconds * 1000;
      for (const k of keys) {
        let target = 0;
        for (const h of history) target = Math.max(target, h.desired[k] ?? 0);
        const want = history.length >= scaleDownTicks ? target : Math.max(target, current[k]?.length ?? 0);
        const have = current[k] ?? [];
        const [instanceType, variant] = k.split('|') as [string, string];
        if (want > have.length) launch.push({ instanceType, variant, count: want - have.length });
        else if (want < have.length) {
          const removable = have
            .filter((vm) => obs.nowMs - vm.launchedAtMs >= minBilledMs)
            .sort((a, b) => a.outstanding - b.outstanding || b.launchedAtMs - a.launchedAtMs);
          const n = Math.min(have.length - want, removable.length);
          for (let i = 0; i < n; i++) terminate.push(removable[i]!.id);
          if (n < have.length - want) notes.push(`${k}: ${have.length - want - n} surplus VM(s) kept until their 60 s billing minimum`);
        }
      }

      // Window for the next ticks: the ski-rental break-even of an idle VM of this plan. Re-buying it
      // later costs its boot time plus the Lambda bill for its share while it boots, so keeping it
      // idle that long is never more than 2x worse than knowing the future. c6g.large serving a
      // 1.35 ms model: 80 s x (1 + 681 rps x $2.4e-7 x 3,600 / $0.068 per h) ~ 13 min, capped by
      // maxScaleDownWindowMs (10 min); never below N ticks. The same window is the memory (tau) of
      // the load distribution the marginal-VM rule uses and the holding period of a new VM.
      // Computed over every VM option of the variants in the mix (not only the planned VMs), so it
      // does not collapse when the plan leaves everything to Lambda.
      const minWindowMs = scaleDownTicks * env.tickIntervalMs;
      let windowMs = minWindowMs;
      if (maxWindowMs > minWindowMs) {
        for (const [k, o] of Object.entries(p.options)) {
          const variant = k.slice(k.indexOf('|') + 1);
          if (!(o.pricePerHourUsd > 0) || !((shares[variant] ?? 0) + (targetShares[variant] ?? 0) > 0)) continue;
          const gapUsd = o.capacityRps * util * (o.bootDelayMs / 1000) * (p.lambdaCost[variant] ?? 0);
          const ski = o.bootDelayMs + gapUsd / (o.pricePerHourUsd / 3_600_000);
          windowMs = Math.max(windowMs, Math.min(maxWindowMs, ski));
        }
      }
      s.scaleDownWindowMs = windowMs;
      s.plans = p.plans;
      s.lambdaMemoryMb = p.memory;
      s.shares = Object.keys(shares).length > 0 ? shares : prev.shares;
      s.classMix = Object.keys(mix.classMix).length > 0 ? mix.classMix : prev.classMix;
      s.tables = buildTables(env, s, p.memory, p.lambdaCost, s.classMix, prev.tables.counter, obs.vms);
      // Warm pool: what Lambda must carry beyond the READY VMs (booting ones serve nobody yet).
      const readyVmRps: Record<string, number> = {};
      const largestReadyVmRps: Record<string, number> = {};
      for (const vm of obs.vms) {
        if (vm.state !== 'ready' || replace.has(vm.id)) continue;
        const o = p.options[vmKey(vm.instanceType, vm.variant)];
        const rps = (o?.capacityRps ?? 0) * util;
        readyVmRps[vm.variant] = (readyVmRps[vm.variant] ?? 0) + rps;
        largestReadyVmRps[vm.variant] = Math.max(largestReadyVmRps[vm.variant] ?? 0, rps);
      }
      // Warm what serves now AND what will once the booting VMs are ready: the routing mix moves to
      // the new VMs' variant the tick they are ready, and what they cannot take (or all of it, if
      // one fails) spills to that variant's Lambda function, which must not be cold then. README
      // demo at 30 rps: Lambda served mobilenet-v1 while a mobilenet-v2 VM booted; when it was
      // ready, 52 requests met a cold mobilenet-v2 function (503 + warm-up) in 5 s.
      const warmShares: Record<string, number> = { ...s.shares };
      for (const [v, sh] of Object.entries(targetShares)) warmShares[v] = Math.max(warmShares[v] ?? 0, sh);
      const lambdaWarm = warmPoolTargets({
        planRps: Math.max(planRps, s.forecastRps),
        shares: warmShares,
        readyVmRps,
        largestReadyVmRps,
        occupancyMs: p.occupancyMs,
        quantile: warmQuantile,
        concurrencyLimit: env.lambdaConcurrencyLimit * 0.8,
      });
      const decision: TickDecision = {
        launch,
        terminate,
        lambdaMemoryMb: { ...p.memory },
        variantShares: { ...s.shares },
        lambdaWarm,
        forecastRps: s.forecastRps,
        notes,
        facts: plannerFacts(env, s, p, planRps, { ...targetShares, ...shares }),
      };
      return { decision, state: s };
    },

    route(req: RouteRequest, view: RouterView, state: SpillwayState): RouteDecision {
      return routeRequest(req, view, state.tables);
    },

    observe(c, state, env) {
      learn(c, state, env);
      state.counters.observed++;
      return state;
    },
  };
  return policy;
}
