/**
 * The capacity planner: one small integer program per tick (javascript-lp-solver, branch and bound).
 *
 * Decisions
 *   n[v,t]  integer  VMs of instance type t serving variant v
 *   x[v]    >= 0     rps served by VMs of v          (x[v] <= sum_t cap[v,t] x util x n[v,t])
 *   y[v]    >= 0     rps sent to v's Lambda function
 * Objective (min, $/hour)
 *   sum n[v,t] x price'[t] + k[v,t] x price[t]  +  sum y[v] x 3600 x lambda$/req[v]  +  w x sum (bestAcc - acc[v]) (x[v] + y[v])
 *   k[v,t] <= existing[v,t]: VMs already running/booting, kept at their plain price;
 *   price'[t] = price[t] + (boot-time price + Lambda cost of the boot gap) amortised over the VM's
 *   expected life: provisioning-latency-aware type choice, and a switching cost (INFaaS's
 *   "cost + lambda x loading latency") that stops plans flipping between near-equal mixes.
 *   w = accuracy value in $ per million requests per accuracy point, turned into $/h per rps.
 * Constraints
 *   sum_v x[v] + y[v] = load          (the forecast peak over the provisioning horizon)
 *   sum_v acc[v] (x[v] + y[v]) >= minAccuracy x load   (optional floor on served accuracy)
 *   sum_v y[v] x duration[v] / 1000 <= lambda concurrency x share   (Little's law)
 *   sum n x price + sum y x 3600 x $/req <= budget     (optional)
 * Spot (an option with `spot` set, e.g. `c5.large:spot`; one reclaim takes one pool = one type in
 * one AZ, and the world spreads a type's VMs over its `pools` AZs):
 *   m[v,t]  integer  VMs of v in t's largest pool:  pools x m[v,t] >= n[v,t] + k[v,t]
 *   share:  sum_v m[v,t] cap util <= maxSpotShareOfOneReclaim x sum_all (n + k) cap util
 *   absorb: sum_v y[v] dur[v] + sum_v m[v,t] cap util dur[v] <= lambda concurrency x share
 *           (Lambda can take the reclaimed pool's load at once: the SLO holds through it);
 *           a variant without Lambda must hold it on its own VMs: x[v] <= its capacity - pool's.
 *   The expected reclaims x spotInterruptionCostUsd (pricing.ts) are added to its $/h.
 *   Two solves (spotServesOnDemandAccuracy): without the Spot options first (accuracy A), then with
 *   them for the fewest dollars at served accuracy >= A: Spot's discount is not spent on accuracy.
 * Lambda memory per variant is chosen outside the IP (chooseLambdaMemory: cheapest size whose
 * latency at the expected warm/cold mix meets the SLO), so the IP stays small: for 6 variants x 12
 * resource options it is 72 integers + 12 continuous, solved in milliseconds.
 * Infeasible or no data -> {ok:false, reason}; never throws.
 */
import lpSolverModule from 'javascript-lp-solver';
import type { Model as LpModel } from 'javascript-lp-solver';
import { ec2TypeOf } from '../../profiles/catalog.js';
import { spotInterruptionCostUsd, vmLaunchCostUsd } from '../../profiles/pricing.js';

// The package is CommonJS with a `default` export in its types; under NodeNext the import is the
// module object, whose `default` (or itself) is the solver instance. Resolve once.
const lp = ((lpSolverModule as unknown as { default?: unknown }).default ?? lpSolverModule) as {
  Solve(model: LpModel): unknown;
};

/**
 * Default value of accuracy in the objective: $ per million requests per top-1 point. One home:
 * the planner and the policy's own comparisons read it. At 1,000 rps a 2.3-point better mix is
 * worth 0.01 x 2.3 x 3.6 = $0.083/h, more than a c7a.medium ($0.051/h): at accuracy floor 0 this
 * buys accuracy nobody asked for (sweep, Twitter 1,000 rps SLO 200: 2.2x MArk's cost at 57 % vs 55 %
 * served; at 0.0005 the same point costs 1.00x MArk at 55 %).
 */
export const DEFAULT_ACCURACY_VALUE_USD_PER_MILLION_PER_PCT = 0.01;

/** Loads below this (rps) are planned as idle. */
export const IDLE_RPS = 1e-3;

export interface VmOption {
  instanceType: string;
  /** Sustainable rps of one VM at 100 % (profile instances[] x learned slowdown). */
  capacityRps: number;
  pricePerHourUsd: number;
  bootDelayMs: number;
  /** VMs of this type already running or booting for this variant (kept at their plain price). */
  existing?: number;
  /** vCPUs of one VM, counted against `vcpuLimit` (EC2 quotas are in vCPUs). @default 0 */
  vcpu?: number;
  /**
   * Set when the option is a Spot market (its instanceType names the pool group, `c5.large:spot`):
   * expected reclaims per VM-hour and the number of AZ pools the world spreads its VMs over.
   */
  spot?: { interruptionsPerHour: number; pools: number };
}

export interface LambdaOption {
  memoryMb: number;
  costPerRequestUsd: number;
  /** Mean duration (ms) for the concurrency constraint. */
  durationMs: number;
}

export interface PlannerVariant {
  name: string;
  /** Published top-1 %, null if none (counts as 0 for the accuracy term and floor). */
  accuracy: number | null;
  /** Instance options whose latency fits the SLO. */
  vmOptions: readonly VmOption[];
  /** Lambda option that fits the SLO, if any. */
  lambda?: LambdaOption;
}

export interface PlanInput {
  loadRps: number;
  variants: readonly PlannerVariant[];
  /** Fraction of a VM's capacity the plan may use (default 0.8), leaving room for bursts within a tick. */
  targetUtilisation?: number;
  /** Floor on the average served accuracy (top-1 %), e.g. 65. */
  minAccuracy?: number;
  budgetUsdPerHour?: number;
  /** $ per million requests per accuracy point (default 0.01). */
  accuracyValueUsdPerMillionPerPct?: number;
  lambdaConcurrencyLimit: number;
  /** Share of the concurrency limit the plan may use (default 0.8). */
  lambdaConcurrencyShare?: number;
  /** Expected life of a VM for amortising its boot time (default 3,600 s). */
  expectedVmLifetimeMs?: number;
  /** Cap on total VMs (default 500). */
  maxVms?: number;
  /**
   * Cap on the vCPUs of all VMs: EC2's "Running On-Demand Standard instances" quota is a vCPU count
   * per region (new accounts: often 32 or less), so 16 x c5.large (32 vCPU) may be all a plan gets
   * however cheap the 17th would be. @default unlimited
   */
  vcpuLimit?: number;
  /** Solve the LP relaxation (fractional VM counts): a baseline for benches, not for decisions. */
  relaxIntegers?: boolean;
  /**
   * Buy nothing: only the `existing` VMs may serve. The routing plan for the fleet as it is now
   * (while bought VMs boot, their traffic must not move yet). @default false
   */
  noNewVms?: boolean;
  /**
   * Largest share of the plan's VM capacity one Spot reclaim (one pool) may take. 0.5: with 3 AZ
   * pools, 2 Spot VMs of one type (one per AZ) already qualify. @default 0.5
   */
  maxSpotShareOfOneReclaim?: number;
  /** EC2's notice before a reclaim (ms), for the reclaim's cost. @default 120,000 */
  spotNoticeMs?: number;
  /**
   * Keep the Spot rows (share, absorb, hold): the SLO holds through any one reclaim. planCapacity
   * drops them itself, and says so (spotReclaimUncovered), only when no plan meets them: buying
   * Spot that one reclaim can hurt beats buying nothing. @default true
   */
  spotReclaimGuarantee?: boolean;
  /**
   * Let Spot's discount buy accuracy the on-demand plan would not: the objective alone, with Spot
   * prices in it (the behaviour before issue 13's fix; see spotServesOnDemandAccuracy). @default false
   */
  spotDiscountBuysAccuracy?: boolean;
}

/** Default for PlanInput.maxSpotShareOfOneReclaim. */
export const DEFAULT_MAX_SPOT_SHARE_OF_ONE_RECLAIM = 0.5;

/**
 * Drops instance options another option makes redundant for this variant: j is redundant when
 * ceil(cap_j / cap_k) VMs of type k cost no more than one VM of j (raw and boot-amortised price).
 * Any plan using j can swap each j for those k VMs at no extra cost and no less capacity, so the
 * optimum is unchanged (up to the total-VM safety cap), while the branch-and-bound tree shrinks a
 * lot: c5.xlarge = 2 x c5.large at exactly 2x the price, m5.large = c5.large capacity at +13 %.
 * Ties keep the earlier option.
 */
export function pruneDominated(opts: readonly VmOption[], lifeMs: number): VmOption[] {
  const eff = (o: VmOption): number => o.pricePerHourUsd * (1 + o.bootDelayMs / lifeMs);
  return opts.filter((oj, j) => {
    if ((oj.existing ?? 0) > 0) return true; // running VMs stay options (keeping them is cheaper)
    for (let k = 0; k < opts.length; k++) {
      if (k === j) continue;
      const ok = opts[k]!;
      // Swapping for a Spot option adds reclaim exposure the constraints limit per pool group:
      // only an on-demand option can stand in for another option.
      if (ok.spot) continue;
      const m = Math.ceil(oj.capacityRps / ok.capacityRps - 1e-9);
      const cheaperRaw = m * ok.pricePerHourUsd <= oj.pricePerHourUsd + 1e-12;
      const cheaperEff = m * eff(ok) <= eff(oj) + 1e-12;
      if (!cheaperRaw || !cheaperEff) continue;
      const strictly = m * ok.pricePerHourUsd < oj.pricePerHourUsd - 1e-12 || m * ok.capacityRps > oj.capacityRps + 1e-9;
      if (strictly || k < j) return false;
    }
    return true;
  });
}

export interface PlannedVms {
  instanceType: string;
  variant: string;
  count: number;
}

export type PlanResult =
  | {
      ok: true;
      vms: PlannedVms[];
      vmRps: Record<string, number>;
      lambdaRps: Record<string, number>;
      /** Traffic share per variant (non-negative, sums to 1 over the variants in use). */
      shares: Record<string, number>;
      costUsdPerHour: number;
      /** Average served accuracy of the mix (top-1 %). */
      accuracy: number;
      /**
       * Set when no plan could hold the SLO through one Spot reclaim (e.g. Lambda concurrency 6
       * cannot take a 350 rps VM's load at once), so this plan was solved without that guarantee.
       */
      spotReclaimUncovered?: true;
      /**
       * Set when Spot was held to the on-demand plan's accuracy (spotServesOnDemandAccuracy): the
       * accuracy floor it met, with accuracy valued at 0. Comparisons of this plan with another
       * (the policy's switch margin) must use the same floor and value.
       */
      spotAccuracyFloor?: number;
    }
  | { ok: false; reason: string };

interface SolverResult {
  feasible: boolean;
  bounded?: boolean;
  result: number;
  [k: string]: number | boolean | undefined;
}

/** A plan with Spot options serves at least the on-demand plan's accuracy; see spotServesOnDemandAccuracy. */
export function planCapacity(input: PlanInput): PlanResult {
  return spotServesOnDemandAccuracy(input) ?? solvePlan(input);
}

/** Served accuracy may fall this far (points) below the on-demand plan's: solver round-off only. */
const SPOT_ACCURACY_SLACK_PCT = 0.01;

/**
 * Spot is a cheaper way to buy the plan, not a budget for more accuracy. The objective trades
 * dollars against accuracy at w per rps-point, so a cheaper VM moves the optimum to a more accurate
 * variant: at 1,000 rps, w = $0.01/M/pt, mobilenet-v1 (55.6 %) -> shufflenet-v2 (66.0 %) is worth
 * 0.01 x 10.4 x 3.6 = $0.37/h; shufflenet needs ~2.6x the VMs (9.3 vs 3.6 VM-h on the Twitter
 * trace): +$0.39/h on-demand (not bought), +$0.20/h on Spot at about half the price (bought), so
 * the Spot plan cost $0.40 against on-demand's $0.29 (1.39x) for accuracy nobody asked for.
 * The rule: solve first without the Spot options (the plan on-demand would buy, accuracy A), then
 * with them for the fewest dollars at served accuracy >= max(floor, A) (accuracy value 0). The
 * on-demand plan is feasible in the second IP (no Spot VM, so no Spot row binds), hence the Spot
 * plan's modelled dollars never exceed it. Undefined (solve as is) without Spot options, with
 * spotDiscountBuysAccuracy or noNewVms, or when no on-demand-only plan exists (e.g. a quota only Spot fits).
 */
function spotServesOnDemandAccuracy(input: PlanInput): PlanResult | undefined {
  // noNewVms routes the fleet as it is: nothing is bought, so there is no discount to spend.
  if (input.spotDiscountBuysAccuracy || input.noNewVms) return undefined;
  if (!input.variants.some((v) => v.vmOptions.some((o) => o.spot && o.capacityRps > 0))) return undefined;
  const od = solvePlan({ ...input, variants: input.variants.map(onDemandView) });
  if (!od.ok) return undefined;
  const floor = Math.max(input.minAccuracy ?? 0, od.accuracy - SPOT_ACCURACY_SLACK_PCT);
  const spot = solvePlan({ ...input, minAccuracy: floor, accuracyValueUsdPerMillionPerPct: 0, spotDiscountBuysAccuracy: true });
  return spot.ok ? { ...spot, spotAccuracyFloor: floor } : od;
}

/**
 * The variant as an on-demand-only planner sees it: no Spot options, and the running Spot VMs
 * counted as running VMs of their on-demand type (same machine, same capacity). Without that the
 * on-demand view planned every tick from scratch while the Spot fleet ran: its accuracy flipped
 * between 55 % (3 VMs of mobilenet) and 63 % (6 of shufflenet), and the Spot plan with it (Twitter,
 * 1,000 rps: 104 launches in 1 h against on-demand Spillway's 20).
 */
function onDemandView(v: PlannerVariant): PlannerVariant {
  const running = new Map<string, number>();
  for (const o of v.vmOptions) if (o.spot && (o.existing ?? 0) > 0) running.set(ec2TypeOf(o.instanceType), (running.get(ec2TypeOf(o.instanceType)) ?? 0) + (o.existing ?? 0));
  return {
    ...v,
    vmOptions: v.vmOptions.filter((o) => !o.spot).map((o) => (running.has(o.instanceType) ? { ...o, existing: (o.existing ?? 0) + running.get(o.instanceType)! } : o)),
  };
}

function solvePlan(input: PlanInput): PlanResult {
  const load = input.loadRps;
  if (!Number.isFinite(load) || load < 0) return { ok: false, reason: `loadRps must be a finite number >= 0, got ${load}` };
  if (input.variants.length === 0) return { ok: false, reason: 'no variants to plan for' };
  const util = input.targetUtilisation ?? 0.8;
  const life = input.expectedVmLifetimeMs ?? 3_600_000;
  const w = ((input.accuracyValueUsdPerMillionPerPct ?? DEFAULT_ACCURACY_VALUE_USD_PER_MILLION_PER_PCT) * 3600) / 1e6; // $/h per (rps x accuracy point)
  // The accuracy term is written as a LOSS against the best accuracy on offer, w x (best - acc) per
  // rps: equal to "- w x acc" up to a constant (total load is fixed), but it keeps the objective
  // positive and comparable to the dollars, so the solver's relative gap tolerance means dollars
  // (a reward of -$0.5/h next to $0.07/h of VMs made a 1 % gap worth 6 % of a VM: plans flipped).
  const usable = input.variants.filter((v) => v.vmOptions.some((o) => o.capacityRps > 0) || v.lambda);
  if (usable.length === 0) return { ok: false, reason: 'no variant has a VM or Lambda option that meets the SLO' };
  const bestAcc = Math.max(...usable.map((v) => v.accuracy ?? 0));
  // Below IDLE_RPS (1 request per 1,000 s) the load is treated as idle: plan shares for a tiny
  // virtual load so the router still has a mix, but buy nothing (also avoids solver round-off).
  const idle = load < IDLE_RPS;
  const planLoad = idle ? IDLE_RPS : load;

  const constraints: Record<string, { min?: number; max?: number; equal?: number }> = {
    load: { equal: planLoad },
    vmTotal: { max: input.maxVms ?? 500 },
  };
  const hasVcpuLimit = input.vcpuLimit !== undefined && Number.isFinite(input.vcpuLimit);
  if (hasVcpuLimit) constraints.vcpuTotal = { max: Math.max(0, input.vcpuLimit as number) };
  const variables: Record<string, Record<string, number>> = {};
  const ints: Record<string, 1> = {};
  const names: Array<{ key: string; kind: 'n' | 'x' | 'y'; v: PlannerVariant; o?: VmOption }> = [];
  const budget = input.budgetUsdPerHour;
  const hasBudget = budget !== undefined && Number.isFinite(budget);
  if (hasBudget) constraints.budget = { max: budget };
  const hasFloor = (input.minAccuracy ?? 0) > 0;
  if (hasFloor) constraints.acc = { min: (input.minAccuracy ?? 0) * planLoad };
  constraints.conc = { max: input.lambdaConcurrencyLimit * (input.lambdaConcurrencyShare ?? 0.8) };
  // Spot groups (one per Spot option name) and their rows; see the header.
  const maxShare = Math.min(1, Math.max(0, input.maxSpotShareOfOneReclaim ?? DEFAULT_MAX_SPOT_SHARE_OF_ONE_RECLAIM));
  const noticeMs = input.spotNoticeMs ?? 120_000;
  const spotGroups = [...new Set(usable.flatMap((v) => v.vmOptions.filter((o) => o.spot && o.capacityRps > 0).map((o) => o.instanceType)))];
  const holdRows = new Set<string>();
  // Without the guarantee the rows are left undeclared: the solver ignores coefficients of rows it has no constraint for.
  const guarantee = input.spotReclaimGuarantee !== false;
  for (const g of guarantee ? spotGroups : []) {
    constraints[`share_${g}`] = { max: 0 };
    constraints[`absorb_${g}`] = { max: constraints.conc.max! };
  }
  usable.forEach((v, i) => {
    if (v.lambda || !guarantee) return;
    for (const o of v.vmOptions) if (o.spot && o.capacityRps > 0 && !holdRows.has(`hold${i}_${o.instanceType}`)) {
      holdRows.add(`hold${i}_${o.instanceType}`);
      constraints[`hold${i}_${o.instanceType}`] = { max: 0 };
    }
  });

  usable.forEach((v, i) => {
    const acc = v.accuracy ?? 0;
    const capKey = `cap${i}`;
    const opts = pruneDominated(v.vmOptions.filter((o) => o.capacityRps > 0), life);
    if (opts.length > 0) {
      constraints[capKey] = { max: 0 };
      // One-off cost of a NEW VM, amortised over its expected life: it is paid while it boots and
      // Lambda serves its share meanwhile. c6g.large, 285 rps x 0.8 for 80 s at $0.0000004/request
      // = $0.0073 once, + 80 s of $0.068/h -> about +13 % of its hourly price over 1 h. Existing VMs
      // do not pay it, which keeps plans from flipping between near-equal mixes (churn).
      const lambdaPerReq = v.lambda?.costPerRequestUsd ?? 0;
      opts.forEach((o, j) => {
        const launchUsd = vmLaunchCostUsd(o.pricePerHourUsd, o.bootDelayMs, o.capacityRps * util, lambdaPerReq);
        // Spot: expected reclaims x what one costs, per VM-hour.
        const reclaimUsdPerHour = o.spot
          ? o.spot.interruptionsPerHour * spotInterruptionCostUsd(o.pricePerHourUsd, noticeMs, o.bootDelayMs, o.capacityRps * util, lambdaPerReq)
          : 0;
        const newCost = o.pricePerHourUsd + launchUsd * (3_600_000 / life) + reclaimUsdPerHour;
        const key = `n${i}_${j}`;
        const capUtil = o.capacityRps * util;
        // Every VM counts in every Spot group's share row (its capacity is the denominator).
        const shareCoef = (row: Record<string, number>): void => {
          for (const g of spotGroups) row[`share_${g}`] = -maxShare * capUtil;
        };
        const azKey = `az${i}_${j}`;
        if (o.spot) {
          constraints[azKey] = { max: 0 };
          const mk = `m${i}_${j}`;
          const mr: Record<string, number> = { cost: 0, [azKey]: -Math.max(1, Math.floor(o.spot.pools)) };
          mr[`share_${o.instanceType}`] = capUtil;
          if (v.lambda) mr[`absorb_${o.instanceType}`] = (capUtil * v.lambda.durationMs) / 1000;
          else {
            mr[`hold${i}_${o.instanceType}`] = capUtil;
          }
          variables[mk] = mr;
          if (!input.relaxIntegers) ints[mk] = 1;
        }
        const poolRows = (row: Record<string, number>): void => {
          shareCoef(row);
          if (o.spot) row[azKey] = 1;
          if (!v.lambda) for (const g of spotGroups) if (holdRows.has(`hold${i}_${g}`)) row[`hold${i}_${g}`] = -capUtil;
        };
        if (!input.noNewVms) {
          const row: Record<string, number> = { cost: newCost, [capKey]: -o.capacityRps * util, vmTotal: 1 };
          poolRows(row);
          if (hasBudget) row.budget = o.pricePerHourUsd;
          if (hasVcpuLimit) row.vcpuTotal = o.vcpu ?? 0;
          variables[key] = row;
          if (!input.relaxIntegers) ints[key] = 1;
          names.push({ key, kind: 'n', v, o });
        }
        const existing = Math.max(0, Math.floor(o.existing ?? 0));
        if (existing > 0) {
          const kk = `k${i}_${j}`;
          constraints[`kmax${i}_${j}`] = { max: existing };
          const kr: Record<string, number> = { cost: o.pricePerHourUsd + reclaimUsdPerHour, [capKey]: -o.capacityRps * util, vmTotal: 1, [`kmax${i}_${j}`]: 1 };
          poolRows(kr);
          if (hasBudget) kr.budget = o.pricePerHourUsd;
          if (hasVcpuLimit) kr.vcpuTotal = o.vcpu ?? 0;
          variables[kk] = kr;
          if (!input.relaxIntegers) ints[kk] = 1;
          names.push({ key: kk, kind: 'n', v, o });
        }
      });
      const xk = `x${i}`;
      const xr: Record<string, number> = { cost: w * (bestAcc - acc), [capKey]: 1, load: 1 };
      for (const g of spotGroups) if (holdRows.has(`hold${i}_${g}`)) xr[`hold${i}_${g}`] = 1;
      if (hasFloor) xr.acc = acc;
      variables[xk] = xr;
      names.push({ key: xk, kind: 'x', v });
    }
    if (v.lambda) {
      const yk = `y${i}`;
      const perHour = v.lambda.costPerRequestUsd * 3600;
      const yr: Record<string, number> = { cost: perHour + w * (bestAcc - acc), load: 1, conc: v.lambda.durationMs / 1000 };
      for (const g of spotGroups) yr[`absorb_${g}`] = v.lambda.durationMs / 1000;
      if (hasBudget) yr.budget = perHour;
      if (hasFloor) yr.acc = acc;
      variables[yk] = yr;
      names.push({ key: yk, kind: 'y', v });
    }
  });

  let res: SolverResult;
  try {
    res = lp.Solve({
      optimize: 'cost',
      opType: 'min',
      constraints,
      variables,
      ints,
      options: { tolerance: 0.001, timeout: 200 },
    }) as unknown as SolverResult;
  } catch (err) {
    return { ok: false, reason: `solver failed: ${(err as Error).message}` };
  }
  if (!res.feasible) {
    if (guarantee && spotGroups.length > 0) {
      const uncovered = solvePlan({ ...input, spotReclaimGuarantee: false });
      if (uncovered.ok) return { ...uncovered, spotReclaimUncovered: true };
    }
    return { ok: false, reason: diagnose(input, planLoad, hasBudget, hasFloor) };
  }

  const vms: PlannedVms[] = [];
  const vmRps: Record<string, number> = {};
  const lambdaRps: Record<string, number> = {};
  let cost = 0;
  let accSum = 0;
  let served = 0;
  for (const n of names) {
    const raw = res[n.key];
    const val = typeof raw === 'number' && Number.isFinite(raw) ? raw : 0;
    if (n.kind === 'n' && n.o) {
      const count = Math.max(0, Math.round(val));
      if (count > 0) {
        const same = vms.find((x) => x.instanceType === n.o!.instanceType && x.variant === n.v.name);
        if (same) same.count += count;
        else vms.push({ instanceType: n.o.instanceType, variant: n.v.name, count });
        cost += count * n.o.pricePerHourUsd;
      }
    } else if (n.kind === 'x') {
      const r = Math.max(0, val);
      vmRps[n.v.name] = (vmRps[n.v.name] ?? 0) + r;
      accSum += r * (n.v.accuracy ?? 0);
      served += r;
    } else if (n.kind === 'y' && n.v.lambda) {
      const r = Math.max(0, val);
      lambdaRps[n.v.name] = (lambdaRps[n.v.name] ?? 0) + r;
      cost += r * 3600 * n.v.lambda.costPerRequestUsd;
      accSum += r * (n.v.accuracy ?? 0);
      served += r;
    }
  }
  const shares: Record<string, number> = {};
  if (served > 0) {
    for (const v of usable) {
      const s = ((vmRps[v.name] ?? 0) + (lambdaRps[v.name] ?? 0)) / served;
      if (s > 1e-9) shares[v.name] = s;
    }
    normalise(shares);
  } else {
    shares[usable[0]!.name] = 1;
  }
  if (idle) {
    // Idle: the shares describe the preferred mix, but nothing is bought for a virtual load.
    return { ok: true, vms: [], vmRps: {}, lambdaRps: {}, shares, costUsdPerHour: 0, accuracy: served > 0 ? accSum / served : 0 };
  }
  return { ok: true, vms, vmRps, lambdaRps, shares, costUsdPerHour: cost, accuracy: served > 0 ? accSum / served : 0 };
}

function normalise(shares: Record<string, number>): void {
  let sum = 0;
  for (const k of Object.keys(shares)) sum += shares[k]!;
  if (sum <= 0) return;
  for (const k of Object.keys(shares)) shares[k] = shares[k]! / sum;
}

function diagnose(input: PlanInput, load: number, hasBudget: boolean, hasFloor: boolean): string {
  const reasons: string[] = [];
  if (hasFloor) {
    const best = Math.max(...input.variants.map((v) => v.accuracy ?? 0));
    if (best < (input.minAccuracy ?? 0)) reasons.push(`no variant reaches minAccuracy ${input.minAccuracy} (best ${best})`);
  }
  if (hasBudget) {
    const relaxed = planCapacity({ ...input, budgetUsdPerHour: undefined });
    if (relaxed.ok) {
      reasons.push(
        `budget $${input.budgetUsdPerHour}/h is below the cheapest plan for ${load.toFixed(1)} rps ($${relaxed.costUsdPerHour.toFixed(4)}/h)`,
      );
    }
  }
  if (reasons.length === 0) {
    const vcpu = input.vcpuLimit !== undefined ? `, vCPU quota ${input.vcpuLimit}` : '';
    reasons.push(`cannot serve ${load.toFixed(1)} rps within the SLO with the allowed VMs (max ${input.maxVms ?? 500}${vcpu}) and Lambda concurrency ${input.lambdaConcurrencyLimit}`);
  }
  return `infeasible: ${reasons.join('; ')}`;
}

export interface LambdaMemoryCandidate {
  memoryMb: number;
  p50Ms: number;
  p99Ms: number;
  /** Extra latency of a cold start (ms). */
  coldStartMs: number;
  /** Warm invoke overhead (ms). */
  overheadMs?: number;
  costPerRequestUsd: number;
}

/** Sizes whose cost is within this share of the cheapest fitting one count as equally cheap. */
export const LAMBDA_COST_TOLERANCE = 0.05;
/**
 * The size in use is kept until another is 25 % cheaper: a change sends every next request
 * to a cold start, and learned latencies (hence costs) of the sizes wobble by a few % from tick to
 * tick (shufflenet flipped between 512, 1,024, 1,769 and 2,048 MB every few ticks on the Azure
 * code trace, ~10x the cold starts of a fixed size; at 15 % it still changed every ~10 min).
 */
export const LAMBDA_SWITCH_GAIN = 0.25;

/**
 * Memory size for a variant's Lambda function: among the sizes whose latency at the expected
 * warm/cold mix meets the SLO, the FASTEST whose cost per request is within 5 % of the cheapest.
 * Below 1 vCPU (1,769 MB) Lambda's cost per request is nearly flat in memory (CPU share and
 * GB-s price both scale with it): shufflenet costs $1.15/M at 512, 1,024 and 1,769 MB, but runs
 * 114, 57 and 33 ms. The faster size needs 3.5x fewer concurrent instances for the same rate, so a
 * burst triggers 3.5x fewer cold starts, and each cold start is shorter (1,252 vs 540 ms).
 * With cold fraction f above 1 % the p99 of the mix is a cold request, so cold start + p50 must fit
 * too; at f <= 1 % the warm p99 decides. Example: 1,024 MB p99 40 ms, cold +900 ms, SLO 200 ms:
 * fits at f = 0.5 %, not at f = 3 % (then a size with a faster cold start, or none, is chosen).
 * If cold starts miss the SLO at every size, the warm p99 alone decides (cold requests are late at any
 * size). When no size fits even warm, returns the fastest one with fits = false.
 * `currentMb`: the size in use is kept while it meets the SLO and costs at most 25 % more than the
 * cheapest (LAMBDA_SWITCH_GAIN).
 */
export function chooseLambdaMemory(
  candidates: readonly LambdaMemoryCandidate[],
  sloMs: number,
  coldFraction: number,
  currentMb?: number,
): { choice: LambdaMemoryCandidate; fits: boolean } | undefined {
  if (candidates.length === 0) return undefined;
  const lat = (c: LambdaMemoryCandidate): number => {
    const warm = (c.overheadMs ?? 0) + c.p99Ms;
    return coldFraction > 0.01 ? Math.max(warm, (c.overheadMs ?? 0) + c.coldStartMs + c.p50Ms) : warm;
  };
  const warmP99 = (c: LambdaMemoryCandidate): number => (c.overheadMs ?? 0) + c.p99Ms;
  // Cold starts longer than the SLO at every size are late whatever we pick: then the warm tail
  // alone decides (rather than paying for 10 GB).
  let pool = candidates.filter((c) => lat(c) <= sloMs);
  if (pool.length === 0) pool = candidates.filter((c) => warmP99(c) <= sloMs);
  if (pool.length > 0) {
    let cheapest = Number.POSITIVE_INFINITY;
    for (const c of pool) cheapest = Math.min(cheapest, c.costPerRequestUsd);
    const limit = cheapest * (1 + LAMBDA_COST_TOLERANCE);
    const speed = (c: LambdaMemoryCandidate): number => (c.overheadMs ?? 0) + c.p50Ms;
    let best: LambdaMemoryCandidate | undefined;
    for (const c of pool) {
      if (c.costPerRequestUsd > limit) continue;
      if (!best || speed(c) < speed(best) || (speed(c) === speed(best) && c.costPerRequestUsd < best.costPerRequestUsd)) best = c;
    }
    const cur = currentMb === undefined ? undefined : pool.find((c) => c.memoryMb === currentMb);
    if (best && cur && cur.costPerRequestUsd <= cheapest * (1 + LAMBDA_SWITCH_GAIN)) return { choice: cur, fits: true };
    if (best) return { choice: best, fits: true };
  }
  let fastest = candidates[0]!;
  for (const c of candidates) if (lat(c) < lat(fastest)) fastest = c;
  return { choice: fastest, fits: false };
}
