/**
 * Per-request routing (the hot path). Tables are pre-computed per tick (spillway-policy.ts buildTables);
 * route() walks the VMs once and the task's variants once: O(#VMs + #variants), no allocation
 * except the returned decision.
 *
 * Order of preference for a request (task, sloMs, minAccuracy):
 * 1. eligible variants = the task's variants with accuracyTop1 >= minAccuracy (null never satisfies
 *    minAccuracy > 0) and, when the request says which variants can take its input
 *    (acceptedVariants: a tensor's dtype and shape), only those. None -> 400.
 * 2. primary variant = the planner's traffic mix (InfAdapter-style shares), drawn with a
 *    low-discrepancy sequence from a counter in the tables (deterministic); if the drawn variant is
 *    not eligible, the cheapest eligible variant. A bounded share (default 2 %) explores another
 *    eligible variant instead, so estimates of unused variants keep being refreshed. Exploring never
 *    buys capacity: it lands on the explored variant's VMs if it has a ready one, else the request
 *    falls through the normal order below (a variant with no VMs is refreshed only when requests
 *    spill to its Lambda, and otherwise by the selector's decay back to its profile).
 * 3. a ready VM of the primary whose p99 of wait + service (queueTailMs: k = outstanding / slots
 *    batches ahead, x slowdown) fits the budget, shortest expected delay first; else a ready VM of another
 *    eligible variant (already paid for, so free at the margin), shortest expected delay. The slowdown
 *    is the VM's significant excess over its type's learned estimate (interference.ts), and an idle
 *    VM unobserved for probeIntervalMs is taken at slowdown 1 (a probe);
 * 4. else Lambda: primary first, then the other eligible variants cheapest first, if its warm (or
 *    cold when no warm idle instance) estimate fits, concurrency allows and the pool is not throttled;
 *    if only the cold estimate misses, the cold start is taken only when the request accepts a late
 *    answer (acceptLate, else the policy's coldSpill); otherwise, when the variant's busy instances
 *    free up soon enough (the VM admission rule over the requests already waiting), the request
 *    waits for one ('wait', lambdaWait), still warming one more instance; otherwise 503 with one
 *    instance to warm;
 * 5. else 422 if the budget is below the best case of every eligible variant (an impossible SLO),
 *    else 503 with Retry-After (the throttle's end, else 1 s).
 */
import type { LatencyEstimate } from './selector.js';
import { vmQueue } from './vm-load.js';
import { lambdaExpectedMs } from './selector.js';
import type { RouteDecision, RouteRequest, RouterView, VmView } from './policy-types.js';

export interface VariantRow {
  name: string;
  task: string;
  /** Published top-1 %, -1 when unknown (fails any minAccuracy > 0). */
  accuracy: number;
  /** VM estimate per instance type. */
  vmEst: Map<string, LatencyEstimate>;
  /** Lambda estimates per memory size (MB). */
  lambdaEst: Map<number, LatencyEstimate>;
  /** Memory the plan wants when the pool does not report one. */
  plannedMemoryMb: number;
  /** Dollars per Lambda request at the planned memory (ordering of Lambda fallbacks). */
  lambdaCostPerRequestUsd: number;
}

/** What the router reads of a VM's interference record (core/interference.ts VmHealth). */
export interface VmHealthView {
  slowdown: number;
  samples: number;
  /** Time of the VM's last completion (ms). */
  lastObsMs: number;
}

export interface VmCacheEntry {
  /** The VmView object last seen for this id (identity check for the index-aligned cache). */
  vmRef: VmView | undefined;
  instanceType: string;
  variant: string;
  /** Variant index, -1 when the variant is unknown to the policy. */
  vi: number;
  est: LatencyEstimate | undefined;
  /** Interference record (mutated in place by observe), if any; minSamples gates its use. */
  health: VmHealthView | undefined;
  minSamples: number;
  /** Service-time moments derived from est (see serviceMoments), for the p50/p99 they were made from. */
  momP50Ms?: number;
  momP99Ms?: number;
  meanMs?: number;
  sdMs?: number;
}

/** z of the 99th percentile of a normal distribution. */
const Z99 = 2.326;

/**
 * Mean and standard deviation of one service time, from its p50 and p99 read as a lognormal (the
 * shape the profiler's p99/p50 ratio describes): sigma = ln(p99 / p50) / 2.326, mean =
 * p50 x e^(sigma^2 / 2), sd = mean x sqrt(e^(sigma^2) - 1). Shufflenet on a VM, p50 14 ms / p99
 * 31 ms: sigma 0.34, mean 14.8 ms, sd 5.2 ms.
 */
export function serviceMoments(p50Ms: number, p99Ms: number): { meanMs: number; sdMs: number } {
  const r = p50Ms > 0 && p99Ms > p50Ms ? p99Ms / p50Ms : 1;
  const sigma = Math.log(r) / Z99;
  const meanMs = Math.max(0, p50Ms) * Math.exp((sigma * sigma) / 2);
  return { meanMs, sdMs: meanMs * Math.sqrt(Math.expm1(sigma * sigma)) };
}

/**
 * serviceMoments of an estimate, computed once per change of its p50/p99 and shared by every VM
 * with that estimate (one variant on one instance type): each completion moves the estimate, and
 * 20 VMs of a type recomputed the same log/exp/sqrt 20 times per request (~9 % of a simulation).
 */
const MOMENTS = new WeakMap<LatencyEstimate, { p50Ms: number; p99Ms: number; meanMs: number; sdMs: number }>();
function momentsOf(est: LatencyEstimate): { meanMs: number; sdMs: number } {
  let m = MOMENTS.get(est);
  if (m === undefined) {
    m = { p50Ms: Number.NaN, p99Ms: Number.NaN, meanMs: 0, sdMs: 0 };
    MOMENTS.set(est, m);
  }
  if (m.p50Ms !== est.p50Ms || m.p99Ms !== est.p99Ms) {
    const r = serviceMoments(est.p50Ms, est.p99Ms);
    m.p50Ms = est.p50Ms;
    m.p99Ms = est.p99Ms;
    m.meanMs = r.meanMs;
    m.sdMs = r.sdMs;
  }
  return m;
}

/**
 * p99 of the time a request waits behind `k` batches and is then served: the sum of k + 1 service
 * times, ~normal for larger k: p99 + k x mean + 2.326 x sd x (sqrt(k + 1) - 1) (= p99 at k = 0).
 * Using k x p50 for the wait, as a naive estimate does, lets the queue fill up to the budget with
 * half of the requests at its end late: 12 batches of the shufflenet above wait 168 ms at p50 but
 * 12 x 14.8 + 2.326 x 5.2 x (sqrt(13) - 1) = 209 ms at p99, + 31 ms of its own service.
 */
export function queueTailMs(k: number, p99Ms: number, meanMs: number, sdMs: number): number {
  if (!(k > 0)) return p99Ms;
  return p99Ms + k * meanMs + Z99 * sdMs * (Math.sqrt(k + 1) - 1);
}

/** Network/HTTP overhead added to VM estimates (ms) unless a policy says otherwise (Spillway's default). */
export const DEFAULT_VM_OVERHEAD_MS = 2;

/**
 * The VM admission rule (Spillway's, and every VM baseline's): a request may join a VM with `k`
 * batches ahead of it iff the p99 of its wait + service, x the VM's slowdown, + the transport
 * overhead fits the budget. The router applies it per request with learned estimates; baselines
 * turn it into an outstanding-request cap once from the profile (vmAdmissionLimit).
 */
export function vmAdmits(
  k: number,
  p99Ms: number,
  meanMs: number,
  sdMs: number,
  slowdown: number,
  overheadMs: number,
  budgetMs: number,
): boolean {
  return queueTailMs(k, p99Ms, meanMs, sdMs) * slowdown + overheadMs <= budgetMs;
}

/**
 * vmAdmits as a cap: a request is admitted iff the VM has fewer than this many requests outstanding
 * (k = floor(outstanding / slots) batches ahead, as the router counts them); 0 = never. Shufflenet on
 * c5.large (p50 14 ms, p99 31 ms, 2 slots, 2 ms overhead): SLO 60 -> k <= 1 -> 4; SLO 200 -> k <= 9 -> 20.
 */
export function vmAdmissionLimit(p50Ms: number, p99Ms: number, slots: number, overheadMs: number, budgetMs: number, slowdown = 1): number {
  const { meanMs, sdMs } = serviceMoments(p50Ms, p99Ms);
  if (!vmAdmits(0, p99Ms, meanMs, sdMs, slowdown, overheadMs, budgetMs)) return 0;
  let k = 0;
  while (k < 100_000 && vmAdmits(k + 1, p99Ms, meanMs, sdMs, slowdown, overheadMs, budgetMs)) k++;
  return (k + 1) * Math.max(1, slots);
}

export interface TaskRow {
  /** Variant indices, cheapest per request first, ties to higher accuracy. */
  byCost: number[];
  /**
   * Planned mix per demand class of the task (core/demand-classes.ts), floors ascending: variant
   * indices and cumulative shares (last = 1). A request takes the first mix whose floor meets its
   * minAccuracy: every variant in it is then eligible.
   */
  mixes: Array<{ floor: number; idx: number[]; cum: number[] }>;
}

export interface RouteTables {
  variants: VariantRow[];
  index: Map<string, number>;
  tasks: Map<string, TaskRow>;
  /** Share of requests that explore (0..1), e.g. 0.02. */
  exploreShare: number;
  /**
   * When no VM fits and no warm Lambda is idle, and the request does not say (acceptLate): 'serve'
   * takes a cold start that will miss the budget as long as the WARM estimate fits; 'reject'
   * (Spillway's default) answers 503 and asks the driver to warm one instance without the request,
   * so no caller waits past its deadline and the pool still warms up.
   */
  coldSpill: 'serve' | 'reject';
  /**
   * When no warm Lambda instance is idle and a cold start does not fit (or concurrency is used up),
   * a request may wait for one of the variant's busy instances to end its invoke, as long as the
   * p99 of that wait + a warm invoke fits its budget (lambdaWaitFits). false: 503 at once, as
   * before. Worked number (README demo step, 13 -> 52 rps): warm invokes p50 22 ms / p99 60 ms,
   * 5 ms transport, budget 250 ms, 4 busy instances: 20 requests may wait instead of getting a 503.
   */
  lambdaWait: boolean;
  /** Network/HTTP overhead added to VM estimates (ms). */
  vmOverheadMs: number;
  /**
   * Per-VM lookups resolved once (variant index, latency estimate, interference record), keyed by VM
   * id: one Map.get per VM per request instead of three. Filled at tick for the fleet then known and
   * lazily for VMs that appear between ticks; entries only cache immutable facts and live records.
   */
  vmCache: Map<string, VmCacheEntry>;
  /** Index-aligned cache for the last `view.vms` array seen (see routeRequest). */
  alignedFor: readonly VmView[] | undefined;
  aligned: Array<VmCacheEntry | undefined>;
  /**
   * Interference records by VM id (the policy's own map: plain data, so the tables can be copied
   * with the state into another process, controller/cluster/plan-doc.ts).
   */
  health: ReadonlyMap<string, VmHealthView>;
  minHealthSamples: number;
  /**
   * A ready VM that is idle and has had no completion for this long takes the next request at its
   * nominal estimate (slowdown 1), whatever its learned slowdown says: otherwise a VM whose
   * estimate drifted up gets no traffic and the estimate can never come back down. At most one
   * probe is in flight per VM (it must be idle); Infinity disables probing.
   */
  probeIntervalMs: number;
  /**
   * Scratch counter for the share draw and exploration; the ONLY thing route() writes. It changes
   * which variant a given request gets, never any learned value, and the sequence is deterministic.
   */
  counter: Uint32Array;
  /** Scratch for the two-choices pass (view.routers > 1): admissible VMs' indices and delays, grown by ensureCandidates. */
  candIdx: Uint32Array;
  candDelay: Float64Array;
}

const GOLDEN = 0.6180339887498949;
const PLASTIC = 0.7548776662466927;

function frac(x: number): number {
  return x - Math.floor(x);
}

export function routeRequest(req: RouteRequest, view: RouterView, t: RouteTables): RouteDecision {
  const budget = req.budgetMs ?? req.sloMs;
  // Accuracy -1 marks 'not published': it passes only when the request asks for no minimum.
  const minAcc = req.minAccuracy > 0 ? req.minAccuracy : Number.NEGATIVE_INFINITY;
  const accepted = req.acceptedVariants;
  const variants = t.variants;
  let primary = -1;
  let task: TaskRow | undefined;
  if (req.variant !== undefined) {
    const i = t.index.get(req.variant);
    if (i === undefined) return { kind: 'reject', status: 404, retryAfterS: 0, reason: `unknown variant '${req.variant}'` };
    primary = i;
  } else {
    task = t.tasks.get(req.task);
    if (!task) return { kind: 'reject', status: 404, retryAfterS: 0, reason: `no variant serves task '${req.task}'` };
    const c = t.counter[0]!;
    t.counter[0] = c + 1;
    const u = frac(c * GOLDEN);
    let mix: TaskRow['mixes'][number] | undefined;
    for (const m of task.mixes) {
      if (m.floor >= minAcc) {
        mix = m;
        break;
      }
    }
    if (mix) {
      for (let k = 0; k < mix.idx.length; k++) {
        if (u < mix.cum[k]!) {
          const vi = mix.idx[k]!;
          if (eligible(variants[vi]!, minAcc, accepted)) primary = vi;
          break;
        }
      }
    }
    if (primary < 0) {
      for (const vi of task.byCost) {
        if (eligible(variants[vi]!, minAcc, accepted)) {
          primary = vi;
          break;
        }
      }
    }
    if (primary < 0) {
      return {
        kind: 'reject',
        status: 400,
        retryAfterS: 0,
        reason:
          accepted === undefined
            ? `no variant of task '${req.task}' has accuracyTop1 >= minAccuracy ${req.minAccuracy}`
            : `no variant of task '${req.task}' that accepts this input has accuracyTop1 >= minAccuracy ${req.minAccuracy}`,
      };
    }
    if (t.exploreShare > 0 && frac(c * PLASTIC) < t.exploreShare && task.byCost.length > 1) {
      // Explore the eligible variants in turn (a different one each time this branch is taken).
      const n = task.byCost.length;
      const start = Math.floor(frac(c * GOLDEN * PLASTIC) * n);
      for (let k = 0; k < n; k++) {
        const vi = task.byCost[(start + k) % n]!;
        if (vi !== primary && eligible(variants[vi]!, minAcc, accepted)) {
          primary = vi;
          break;
        }
      }
    }
  }
  const pv = variants[primary]!;

  // VM pass: best VM of the primary, and best VM of any other eligible variant.
  let bestP: VmView | undefined;
  let bestPDelay = Number.POSITIVE_INFINITY;
  let bestO: VmView | undefined;
  let bestODelay = Number.POSITIVE_INFINITY;
  let bestOVariant = '';
  const vms = view.vms;
  // Drivers usually pass the same VmView array until the fleet changes (the simulator does):
  // then entries are index-aligned and found by identity, with no Map lookup per VM.
  if (t.alignedFor !== vms) {
    t.alignedFor = vms;
    t.aligned = new Array<VmCacheEntry | undefined>(vms.length);
  }
  if (t.candIdx.length < vms.length) {
    t.candIdx = new Uint32Array(vms.length * 2);
    t.candDelay = new Float64Array(vms.length * 2);
  }
  const aligned = t.aligned;
  // Several routers send to these VMs and each sees only its own dispatches between load reports:
  // the least-loaded VM in every router's view is the same VM, so they would all pick it (herding).
  // Two random admissible VMs, the less loaded taken (Mitzenmacher's power of two choices), spreads
  // the load with no shared queue. Worked number: 3 routers, 4 idle VMs, one report per second:
  // least-loaded sends each router's next 2 requests to VM 0 (6 on one VM, 2 slots: 4 queued);
  // two choices puts them on 3-4 different VMs.
  const twoChoices = (view.routers ?? 1) > 1;
  let nCand = 0;
  for (let i = 0; i < vms.length; i++) {
    const vm = vms[i]!;
    if (vm.state !== 'ready') continue;
    let ce = aligned[i];
    if (ce === undefined || ce.vmRef !== vm || ce.variant !== vm.variant || ce.instanceType !== vm.instanceType) {
      const cached = t.vmCache.get(vm.id);
      ce = cached !== undefined && cached.variant === vm.variant && cached.instanceType === vm.instanceType ? cached : resolveVm(t, vm);
      ce.vmRef = vm;
      aligned[i] = ce;
    }
    const vi = ce.vi;
    if (vi !== primary) {
      if (task === undefined || vi < 0) continue; // pinned variant: only its own VMs
      const row = variants[vi]!;
      if (row.task !== pv.task || !eligible(row, minAcc, accepted)) continue;
    }
    const est = ce.est;
    if (est === undefined) continue;
    const reported = vm.slowdown || 1;
    // observe() attaches the interference record to this entry when the VM's first completion arrives.
    const h = ce.health;
    let sd = reported;
    if (h !== undefined && h.samples >= ce.minSamples && h.slowdown > reported) {
      // Probe: an idle VM not observed for probeIntervalMs is tried at its reported speed.
      sd = vm.outstanding === 0 && req.nowMs - h.lastObsMs >= t.probeIntervalMs ? reported : h.slowdown;
    }
    const q = vmQueue(vm, req.nowMs);
    const k = Math.floor(q.outstanding / q.slots);
    if (ce.momP50Ms !== est.p50Ms || ce.momP99Ms !== est.p99Ms) {
      const m = momentsOf(est);
      ce.momP50Ms = est.p50Ms;
      ce.momP99Ms = est.p99Ms;
      ce.meanMs = m.meanMs;
      ce.sdMs = m.sdMs;
    }
    const meanMs = ce.meanMs ?? est.p50Ms;
    if (!vmAdmits(k, est.p99Ms, meanMs, ce.sdMs ?? 0, sd, t.vmOverheadMs, budget)) continue;
    const waitMs = k * meanMs * sd;
    const delay = waitMs + est.p50Ms * sd;
    if (vi === primary && twoChoices) {
      t.candIdx[nCand] = i;
      t.candDelay[nCand] = delay;
      nCand++;
    } else if (vi === primary) {
      if (delay < bestPDelay) {
        bestPDelay = delay;
        bestP = vm;
        // An idle slot on a VM at nominal speed cannot be beaten: stop scanning.
        if (waitMs === 0 && sd <= 1) break;
      }
    } else if (delay < bestODelay) {
      bestODelay = delay;
      bestO = vm;
      bestOVariant = variants[vi]!.name;
    }
  }
  if (nCand > 0) {
    const k = pickTwoChoices(t, nCand, view.routerSeed ?? 0);
    bestP = vms[t.candIdx[k]!];
    bestPDelay = t.candDelay[k]!;
  }
  if (bestP) return { kind: 'vm', vmId: bestP.id, variant: pv.name, expectedMs: bestPDelay + t.vmOverheadMs };
  if (bestO) return { kind: 'vm', vmId: bestO.id, variant: bestOVariant, expectedMs: bestODelay + t.vmOverheadMs };

  // Lambda pass.
  const lv = view.lambda;
  const throttled = lv.throttledUntilMs !== undefined && lv.throttledUntilMs > req.nowMs;
  let coldOnly: RouteDecision | undefined;
  if (!throttled && lv.inFlight < lv.concurrencyLimit) {
    const strict =
      tryLambda(pv, budget, view, false) ??
      (task ? otherVariants(t, task, primary, minAcc, accepted, (row) => tryLambda(row, budget, view, false)) : undefined);
    if (strict) return strict;
    // Only a cold start is free and it would miss the budget (a warm instance would fit).
    coldOnly =
      tryLambda(pv, budget, view, true) ??
      (task ? otherVariants(t, task, primary, minAcc, accepted, (row) => tryLambda(row, budget, view, true)) : undefined);
    if (coldOnly && (req.acceptLate ?? t.coldSpill === 'serve')) return coldOnly;
  }
  // Wait for a busy instance (throttled or at the concurrency limit too: an invoke's end frees the slot).
  if (t.lambdaWait && lv.warmBusyByVariant !== undefined) {
    const wait =
      tryWait(pv, budget, lv) ?? (task ? otherVariants(t, task, primary, minAcc, accepted, (row) => tryWait(row, budget, lv)) : undefined);
    if (wait) {
      // A cold start that would have been refused is still worth starting: the next requests need it.
      return coldOnly?.kind === 'lambda' ? { ...wait, warm: { variant: coldOnly.variant, memoryMb: coldOnly.memoryMb } } : wait;
    }
  }
  if (coldOnly?.kind === 'lambda') {
    // Not started for this request: it would answer after its deadline. Warm one instance instead
    // (the driver starts it without a request), so the requests after this one find it warm.
    // Worked number: a 2.1 s cold start for a 250 ms SLO -> 503, Retry-After 3 s, one instance warming.
    const row = variants[t.index.get(coldOnly.variant)!]!;
    const coldMs = row.lambdaEst.get(coldOnly.memoryMb)?.coldStartMs ?? 0;
    return {
      kind: 'reject',
      status: 503,
      retryAfterS: Math.max(1, Math.ceil(coldMs / 1000)),
      reason:
        `no VM slot or warm Lambda instance fits the ${Math.round(budget)} ms budget and a cold start of '${coldOnly.variant}' ` +
        `takes ~${Math.round(coldMs)} ms: warming one; retry, or send acceptLate to take the late cold start`,
      warm: { variant: coldOnly.variant, memoryMb: coldOnly.memoryMb },
    };
  }
  const fastestMs = fastestPossibleMs(t, pv, task, minAcc, accepted);
  if (Number.isFinite(fastestMs) && fastestMs > budget) {
    const field = req.budgetMs !== undefined ? 'budgetMs' : 'sloMs';
    return {
      kind: 'reject',
      status: 422,
      retryAfterS: 0,
      field,
      reason:
        `${field} ${Math.round(budget)} ms is below the fastest any backend can answer ` +
        `'${task ? req.task : pv.name}' (~${Math.ceil(fastestMs)} ms at p99 on an idle VM or warm Lambda instance)`,
    };
  }
  const retryAfterS = throttled ? Math.max(1, Math.ceil((lv.throttledUntilMs! - req.nowMs) / 1000)) : 1;
  return {
    kind: 'reject',
    status: 503,
    retryAfterS,
    reason: throttled
      ? 'serverless pool throttled and no VM slot fits the latency budget'
      : lv.inFlight >= lv.concurrencyLimit
        ? 'serverless concurrency exhausted and no VM slot fits the latency budget'
        : `no VM slot or Lambda estimate fits the ${budget} ms budget`,
  };
}

/**
 * Power of two choices over t.candIdx/candDelay[0, n): two distinct candidates drawn from the
 * route counter plus the router's seed (a deterministic low-discrepancy sequence, no RNG
 * state), the smaller delay taken. Returns the candidate's position.
 */
function pickTwoChoices(t: RouteTables, n: number, seed: number): number {
  if (n === 1) return 0;
  // Every router applies the same plan (the same counter): the seed keeps their draws apart.
  const c = t.counter[0]! + seed;
  t.counter[0] = t.counter[0]! + 1;
  const a = Math.floor(frac(c * GOLDEN * PLASTIC) * n);
  const b = (a + 1 + Math.floor(frac(c * PLASTIC) * (n - 1))) % n;
  return t.candDelay[b]! < t.candDelay[a]! ? b : a;
}

/**
 * The best case for a request (reject path only, not hot): the smallest p99 + overhead over the
 * eligible variants, on an idle VM of any type they have an estimate for or a warm Lambda
 * instance. A budget below it cannot be met however much capacity is bought: a 4xx, not a 503.
 */
function fastestPossibleMs(
  t: RouteTables,
  pv: VariantRow,
  task: TaskRow | undefined,
  minAcc: number,
  accepted: ReadonlySet<string> | undefined,
): number {
  const rows = task ? task.byCost.map((vi) => t.variants[vi]!).filter((r) => eligible(r, minAcc, accepted)) : [pv];
  let best = Number.POSITIVE_INFINITY;
  for (const row of rows) {
    for (const est of row.vmEst.values()) best = Math.min(best, est.p99Ms + t.vmOverheadMs);
    for (const est of row.lambdaEst.values()) best = Math.min(best, lambdaExpectedMs(est, false));
  }
  return best;
}

/** A variant a model-less request may go to: accurate enough, and able to take the request's input. */
function eligible(row: VariantRow, minAcc: number, accepted: ReadonlySet<string> | undefined): boolean {
  return row.accuracy >= minAcc && (accepted === undefined || accepted.has(row.name));
}

/** The first decision `tryRow` gives for the task's other eligible variants, cheapest first (the Lambda fallbacks; reached only once the primary missed, so its closure is off the common path). */
function otherVariants<D>(
  t: RouteTables,
  task: TaskRow,
  primary: number,
  minAcc: number,
  accepted: ReadonlySet<string> | undefined,
  tryRow: (row: VariantRow) => D | undefined,
): D | undefined {
  for (const vi of task.byCost) {
    if (vi === primary) continue;
    const row = t.variants[vi]!;
    if (!eligible(row, minAcc, accepted)) continue;
    const d = tryRow(row);
    if (d) return d;
  }
  return undefined;
}

/** A Lambda decision if the estimate fits; with acceptLateCold a cold start may miss as long as warm fits. */
function tryLambda(row: VariantRow, budget: number, view: RouterView, acceptLateCold: boolean): RouteDecision | undefined {
  const mem = view.lambda.memoryMbByVariant[row.name] ?? row.plannedMemoryMb;
  const est = row.lambdaEst.get(mem);
  if (!est) return undefined;
  const cold = !((view.lambda.warmIdleByVariant[row.name] ?? 0) > 0);
  const expectedMs = lambdaExpectedMs(est, cold);
  if (expectedMs <= budget) return { kind: 'lambda', variant: row.name, memoryMb: mem, expectedMs, cold };
  if (acceptLateCold && cold && lambdaExpectedMs(est, false) <= budget) {
    return { kind: 'lambda', variant: row.name, memoryMb: mem, expectedMs, cold };
  }
  return undefined;
}

/**
 * Whether a request may wait for one of `busy` instances serving a warm invoke: it is released at the
 * (waiting + 1)-th instance end, i.e. after about floor(waiting / busy) + 1 warm invokes on the
 * busiest instance, then served warm. Each invoke ahead holds its instance for its service and
 * its invoke overhead (the handler's parsing, the runtime's hand-off), so the p99 of the wait +
 * own invoke is queueTailMs over k = floor(waiting / busy) + 1 invokes of mean + overhead (the
 * first already under way: conservative), + its own overhead; it must fit the budget (the VM
 * admission rule, with the instances as slots). Worked number: p50 22 / p99 60 ms (mean 24,
 * sd 11), overhead 5 ms, budget 250 ms: k <= 5 (k = 5: 247 ms, k = 6: 281 ms), so 4 busy
 * instances take 20 waiters.
 */
export function lambdaWaitFits(est: LatencyEstimate, busy: number, waiting: number, budgetMs: number): { expectedMs: number } | undefined {
  // Not before a warm answer has taught the invoke overhead (the prior has none): a profile's 4 ms
  // p50 alone let 241 requests wait for one instance at a 1 s SLO where ~45 could be served.
  if (!(busy > 0) || !(est.overheadMs > 0)) return undefined;
  const k = Math.floor(waiting / busy) + 1;
  const m = momentsOf(est);
  const expectedMs = queueTailMs(k, est.p99Ms, m.meanMs + est.overheadMs, m.sdMs) + est.overheadMs;
  return expectedMs <= budgetMs ? { expectedMs } : undefined;
}

type WaitDecision = Extract<RouteDecision, { kind: 'wait' }>;

function tryWait(row: VariantRow, budget: number, lv: RouterView['lambda']): WaitDecision | undefined {
  const mem = lv.memoryMbByVariant[row.name] ?? row.plannedMemoryMb;
  const est = row.lambdaEst.get(mem);
  if (!est) return undefined;
  const fits = lambdaWaitFits(est, lv.warmBusyByVariant?.[row.name] ?? 0, lv.waitingByVariant?.[row.name] ?? 0, budget);
  if (!fits) return undefined;
  // Released later than this, a warm invoke's p99 no longer fits what is left of the budget.
  const maxWaitMs = budget - lambdaExpectedMs(est, false);
  return { kind: 'wait', variant: row.name, memoryMb: mem, maxWaitMs, expectedMs: fits.expectedMs };
}

/** Resolves and caches a VM's static lookups (first sight, or its variant/type changed). */
export function resolveVm(t: RouteTables, vm: VmView): VmCacheEntry {
  const vi = t.index.get(vm.variant) ?? -1;
  const entry: VmCacheEntry = {
    vmRef: vm,
    instanceType: vm.instanceType,
    variant: vm.variant,
    vi,
    est: vi >= 0 ? t.variants[vi]!.vmEst.get(vm.instanceType) : undefined,
    health: t.health.get(vm.id),
    minSamples: t.minHealthSamples,
  };
  t.vmCache.set(vm.id, entry);
  return entry;
}
