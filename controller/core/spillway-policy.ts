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
import type { Catalog } from '../../profiles/catalog.js';
import { lambdaCostPerRequest } from './cost.js';
import { type CombinedState, createCombinedForecaster } from './forecast/combiner.js';
import type { PeakForecaster } from './forecast/types.js';
import {
  type InterferenceOptions,
  type InterferenceState,
  initInterference,
  observeVmService,
  tickInterference,
} from './interference.js';
import {
  chooseLambdaMemory,
  type LambdaMemoryCandidate,
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
  TickObservation,
  VariantInfo,
  VmView,
} from './policy-types.js';
import { type RouteTables, resolveVm, routeRequest, type TaskRow, type VariantRow } from './router.js';
import {
  decaySelector,
  getEstimate,
  initSelector,
  type LatencyEstimate,
  observeLatency,
  type SelectorOptions,
  type SelectorState,
} from './selector.js';

export interface SpillwayOptions {
  /** Share of a VM's profiled capacity the plan uses (default 0.8). */
  targetUtilisation?: number;
  /** Consecutive lower plans before scale-in (default 4, as InfAdapter). */
  scaleDownTicks?: number;
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
  /** Take a late cold start rather than a 503 when a warm one would fit (default 'serve'; see router.ts). */
  coldSpill?: 'serve' | 'reject';
  /** Network/HTTP overhead added to VM latency estimates (default 2 ms). */
  vmOverheadMs?: number;
  /** Expected VM life for amortising boot time in the planner (default 1 h). */
  expectedVmLifetimeMs?: number;
  maxVms?: number;
  interference?: InterferenceOptions;
  selector?: SelectorOptions;
}

interface Counters {
  /** observe() calls since the last tick. */
  observed: number;
  lambdaTotal: number;
  lambdaCold: number;
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
  desiredHistory: ReadonlyArray<Readonly<Record<string, number>>>;
  plans: Readonly<Record<string, PlanResult>>;
  lambdaMemoryMb: Readonly<Record<string, number>>;
  shares: Readonly<Record<string, number>>;
  /** EWMA share of Lambda requests that were cold. */
  coldFraction: number;
  /** Share of traffic per task (EWMA of completions); uniform until observed. */
  taskShares: Readonly<Record<string, number>>;
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

export function createSpillwayPolicy(opts: SpillwayOptions = {}): Policy<SpillwayState> {
  const util = opts.targetUtilisation ?? 0.8;
  const scaleDownTicks = Math.max(1, Math.floor(opts.scaleDownTicks ?? 4));
  const exploreShare = Math.min(0.1, Math.max(0, opts.exploreShare ?? 0.02));
  const vmOverheadMs = opts.vmOverheadMs ?? 2;
  let forecaster: PeakForecaster<CombinedState> | undefined;
  let forecasterKey = '';

  const getForecaster = (env: PolicyEnv): { f: PeakForecaster<CombinedState>; horizonMs: number } => {
    const tick = env.tickIntervalMs;
    const horizonMs =
      opts.horizonMs ??
      Math.max(0, ...env.instanceTypes.map((t) => learnedBootDelayMs(env.catalog, undefined, t))) + tick;
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

  const learn = (c: CompletionRecord, s: SpillwayState, env: PolicyEnv): void => {
    const vinfo = env.variants.find((v) => v.name === c.variant);
    if (c.backend === 'vm' && c.vmId) {
      const est = s.selector.estimates.get(`${c.variant}|vm|${c.resourceKey}`);
      if (est) {
        observeVmService(s.interference, c.vmId, c.serviceMs, est.p50Ms);
        const ce = s.tables?.vmCache.get(c.vmId);
        if (ce && ce.health === undefined) ce.health = s.interference.byVm.get(c.vmId);
      }
    }
    observeLatency(s.selector, c);
    if (c.backend === 'lambda') {
      s.counters.lambdaTotal++;
      if (c.coldStart) s.counters.lambdaCold++;
    }
    if (vinfo) s.counters.byTask[vinfo.task] = (s.counters.byTask[vinfo.task] ?? 0) + 1;
  };

  const plan = (
    env: PolicyEnv,
    s: SpillwayState,
    loadRps: number,
    obs: TickObservation | undefined,
    notes: string[],
  ): { plans: Record<string, PlanResult>; memory: Record<string, number>; lambdaCost: Record<string, number> } => {
    const plans: Record<string, PlanResult> = {};
    const memory: Record<string, number> = {};
    const lambdaCost: Record<string, number> = {};
    const tasks = [...new Set(env.variants.map((v) => v.task))];
    for (const task of tasks) {
      const pvs: PlannerVariant[] = [];
      for (const v of env.variants.filter((x) => x.task === task)) {
        const lam = lambdaChoice(env, s, v);
        if (lam) {
          memory[v.name] = lam.choice.memoryMb;
          lambdaCost[v.name] = lam.choice.costPerRequestUsd;
          if (!lam.fits) notes.push(`${v.name}: no Lambda memory meets ${env.sloMs} ms at cold share ${(s.coldFraction * 100).toFixed(1)} %; using fastest ${lam.choice.memoryMb} MB for spill only`);
        }
        pvs.push({
          name: v.name,
          accuracy: v.accuracyTop1,
          vmOptions: vmOptions(env, s, v, obs),
          lambda: lam?.fits
            ? { memoryMb: lam.choice.memoryMb, costPerRequestUsd: lam.choice.costPerRequestUsd, durationMs: lam.choice.p50Ms + (lam.choice.overheadMs ?? 0) }
            : undefined,
        });
      }
      const share = s.taskShares[task] ?? 1 / tasks.length;
      plans[task] = planCapacity({
        loadRps: loadRps * share,
        variants: pvs,
        targetUtilisation: util,
        minAccuracy: opts.minAccuracy,
        budgetUsdPerHour: env.budgetUsdPerHour !== undefined ? env.budgetUsdPerHour * share : undefined,
        accuracyValueUsdPerMillionPerPct: opts.accuracyValueUsdPerMillionPerPct,
        lambdaConcurrencyLimit: env.lambdaConcurrencyLimit * share,
        expectedVmLifetimeMs: opts.expectedVmLifetimeMs,
        maxVms: opts.maxVms,
      });
    }
    return { plans, memory, lambdaCost };
  };

  const lambdaChoice = (env: PolicyEnv, s: SpillwayState, v: VariantInfo) => {
    const cands: LambdaMemoryCandidate[] = [];
    for (const m of env.catalog.lambda.memoryOptionsMb) {
      const e = getEstimate(s.selector, env.catalog, v, 'lambda', String(m));
      cands.push({
        memoryMb: m,
        p50Ms: e.p50Ms,
        p99Ms: e.p99Ms,
        coldStartMs: e.coldStartMs,
        overheadMs: e.overheadMs,
        costPerRequestUsd: lambdaCostPerRequest(env.catalog, m, e.p50Ms, env.lambdaArch),
      });
    }
    return chooseLambdaMemory(cands, env.sloMs, s.coldFraction);
  };

  const vmOptions = (env: PolicyEnv, s: SpillwayState, v: VariantInfo, obs: TickObservation | undefined): VmOption[] => {
    const out: VmOption[] = [];
    for (const t of env.instanceTypes) {
      const it = env.catalog.ec2.instanceTypes.find((x) => x.name === t);
      if (!it) continue;
      const e = getEstimate(s.selector, env.catalog, v, 'vm', t);
      const inst = v.profile.instances.find((i) => i.instanceType === t);
      // Capacity from the profile, scaled by what we learned (1.5x slower -> 2/3 of the capacity).
      const capacityRps = inst ? inst.throughputRps / e.ratio : (it.vcpu * 1000) / e.p50Ms;
      const p99 = Math.max(e.p99Ms, inst ? inst.p99Ms * e.ratio : 0) + vmOverheadMs;
      if (p99 > env.sloMs) continue;
      const existing = obs
        ? obs.vms.filter((vm) => vm.instanceType === t && vm.variant === v.name && vm.state !== 'draining').length
        : 0;
      out.push({ instanceType: t, capacityRps, pricePerHourUsd: it.pricePerHourUsd, bootDelayMs: learnedBootDelayMs(env.catalog, obs, t), existing });
    }
    return out;
  };

  const buildTables = (
    env: PolicyEnv,
    s: SpillwayState,
    memory: Record<string, number>,
    lambdaCost: Record<string, number>,
    shares: Record<string, number>,
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
        tr = { byCost: [], mixIdx: [], mixCum: [] };
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
      let cum = 0;
      for (const i of tr.byCost) {
        const sh = shares[variants[i]!.name] ?? 0;
        if (sh > 0) {
          cum += sh;
          tr.mixIdx.push(i);
          tr.mixCum.push(cum);
        }
      }
      if (tr.mixIdx.length === 0 && tr.byCost.length > 0) {
        tr.mixIdx.push(tr.byCost[0]!);
        tr.mixCum.push(1);
      } else if (cum > 0) {
        for (let k = 0; k < tr.mixCum.length; k++) tr.mixCum[k] = tr.mixCum[k]! / cum;
        tr.mixCum[tr.mixCum.length - 1] = 1;
      }
    }
    const interference = s.interference;
    const tables: RouteTables = {
      variants,
      index,
      tasks,
      exploreShare,
      coldSpill: opts.coldSpill ?? 'serve',
      vmOverheadMs,
      vmCache: new Map(),
      healthOf: (id: string) => interference.byVm.get(id),
      minHealthSamples: interference.minSamples,
      counter,
    };
    for (const vm of fleet) resolveVm(tables, vm);
    return tables;
  };

  const policy: Policy<SpillwayState> = {
    name: 'spillway',
    usesLambda: true,

    init(env, nowMs) {
      const { f, horizonMs } = getForecaster(env);
      const tasks = [...new Set(env.variants.map((v) => v.task))];
      const taskShares: Record<string, number> = {};
      for (const t of tasks) taskShares[t] = 1 / tasks.length;
      const s: SpillwayState = {
        nowMs,
        ticks: 0,
        selector: initSelector(env.catalog, env.variants, env.instanceTypes, opts.selector),
        interference: initInterference(opts.interference),
        forecast: f.init(),
        forecastRps: 0,
        horizonMs,
        desiredHistory: [],
        plans: {},
        lambdaMemoryMb: {},
        shares: {},
        coldFraction: 0.05,
        taskShares,
        counters: { observed: 0, lambdaTotal: 0, lambdaCold: 0, byTask: {} },
        tables: undefined as unknown as RouteTables,
      };
      const notes: string[] = [];
      const p = plan(env, s, 0, undefined, notes);
      const shares: Record<string, number> = {};
      for (const r of Object.values(p.plans)) if (r.ok) Object.assign(shares, r.shares);
      s.plans = p.plans;
      s.lambdaMemoryMb = p.memory;
      s.shares = shares;
      s.tables = buildTables(env, s, p.memory, p.lambdaCost, shares, Uint32Array.of(1), []);
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
      const taskTotal = Object.values(counters.byTask).reduce((a, b) => a + b, 0);
      if (taskTotal > 0) {
        const ts: Record<string, number> = {};
        for (const t of Object.keys(prev.taskShares)) ts[t] = 0.8 * (prev.taskShares[t] ?? 0) + 0.2 * ((counters.byTask[t] ?? 0) / taskTotal);
        s.taskShares = ts;
      }
      s.counters = { observed: 0, lambdaTotal: 0, lambdaCold: 0, byTask: {} };

      const inter = tickInterference(prev.interference, obs.vms);
      s.interference = inter.state;
      const replace = new Set(inter.replace);
      for (const id of inter.replace) notes.push(`replace ${id}: slowdown above ${s.interference.threshold} for ${s.interference.ticks} ticks`);

      const { f, horizonMs } = getForecaster(env);
      s.horizonMs = horizonMs;
      const y = obs.arrivalRpsHistory[obs.arrivalRpsHistory.length - 1];
      if (y !== undefined) {
        const r = f.step(prev.forecast, y);
        s.forecast = r.state;
        s.forecastRps = r.forecastRps;
      }
      notes.push(`forecast peak ${s.forecastRps.toFixed(2)} rps over ${(horizonMs / 1000).toFixed(0)} s (headroom +${(s.forecast.headroom * 100).toFixed(1)} %)`);

      const p = plan(env, s, s.forecastRps, obs, notes);
      const desired: Record<string, number> = {};
      const shares: Record<string, number> = {};
      let planOk = true;
      for (const [task, r] of Object.entries(p.plans)) {
        if (!r.ok) {
          planOk = false;
          notes.push(`plan for ${task} failed (${r.reason}); keeping the current fleet, Lambda takes the rest`);
          continue;
        }
        for (const vm of r.vms) desired[vmKey(vm.instanceType, vm.variant)] = (desired[vmKey(vm.instanceType, vm.variant)] ?? 0) + vm.count;
        Object.assign(shares, r.shares);
        notes.push(`plan ${task}: $${r.costUsdPerHour.toFixed(4)}/h, accuracy ${r.accuracy.toFixed(2)}, ${r.vms.map((v) => `${v.count}x${v.instanceType}:${v.variant}`).join(' ') || 'no VMs'}`);
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

      const history = [...prev.desiredHistory, desired].slice(-scaleDownTicks);
      s.desiredHistory = history;
      const target: Record<string, number> = {};
      for (const h of history) for (const [k, n] of Object.entries(h)) target[k] = Math.max(target[k] ?? 0, n);
      // Keys present only in the fleet have target 0 unless a recent plan wanted them.
      const keys = new Set([...Object.keys(target), ...Object.keys(current)]);
      const launch: TickDecision['launch'] = [];
      const terminate: string[] = [...replace];
      const minBilledMs = env.catalog.ec2.billingMinimumSeconds * 1000;
      for (const k of keys) {
        const want = history.length >= scaleDownTicks ? (target[k] ?? 0) : Math.max(target[k] ?? 0, current[k]?.length ?? 0);
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

      s.plans = p.plans;
      s.lambdaMemoryMb = p.memory;
      s.shares = Object.keys(shares).length > 0 ? shares : prev.shares;
      s.tables = buildTables(env, s, p.memory, p.lambdaCost, s.shares as Record<string, number>, prev.tables.counter, obs.vms);
      const decision: TickDecision = {
        launch,
        terminate,
        lambdaMemoryMb: { ...p.memory },
        variantShares: { ...s.shares },
        forecastRps: s.forecastRps,
        notes,
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
