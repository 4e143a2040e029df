/**
 * IRIS-style interference tracking per VM: is this VM slower than its instance type usually is?
 *
 * Each VM completion gives a = ln(observed service / the profile's p50) on that VM. Per VM, EWMAs
 * (alpha 0.2) of a and of its squared deviation give a mean log-ratio and its spread; the EWMA's
 * standard error is se = sd x sqrt(alpha / (2 - alpha)). A record starts at the type's current
 * learned figure with a spread of 0.3 (p99/p50 ~ 2, the profiles' heaviest tail), so a few samples
 * move it little.
 *
 * The VM is compared with its instance type's LEARNED figure (ref), never with the profile: the
 * per-type estimate (selector.ts) already holds what the type does, its tail included, and the
 * router multiplies that estimate by the slowdown. ref = the median log-ratio of the VM's peers (the
 * other VMs of the same type and variant with >= minSamples, set at each tick), else the selector's
 * learned log-ratio for the type. relative m = mean - ref.
 *
 * - `slowdown` (what the router multiplies the type's estimate by) is only the SIGNIFICANT part:
 *   exp(max(0, m - z x se)), z = 2. Noise that the type's tail already describes is not counted a
 *   second time. Shufflenet on c5.large, p99/p50 2.2 (sigma 0.34): a healthy VM has se ~ 0.11, so its
 *   slowdown stays 1 unless its recent mean is > ~1.25x its type's. A VM 3x slower than its peers:
 *   m ~ 1.1, slowdown ~ 2.4.
 * - Time is an input: at each tick, a VM with no completion since the last tick has m decayed toward
 *   0 with a half-life of `decayHalfLifeMs` (60 s), so a VM that got no traffic because its estimate
 *   drifted up is trusted again (the router also sends it a probe request, router.ts).
 * - Replacement needs sustained, significant evidence: a tick counts as degraded only if the VM was
 *   observed during it (>= 1 fresh completion) and both exp(m) > `threshold` (1.5) and the lower bound
 *   exp(m - z x se) > 1; a tick without observations neither counts nor resets the run; an observed
 *   tick that is not degraded resets it. Replace after `ticks` (3) degraded observed ticks in a row
 *   carrying >= `replaceMinSamples` (20) completions between them. (A VM at 15.3 ms where its type
 *   does 14.0 ms, m ~ 0.09, is never replaced.) A world-reported slowdown (VmView.slowdown) for a VM
 *   without enough samples of its own counts as observed every tick, as before.
 *
 * A lone VM of its (type, variant) cannot be told apart from a mis-profiled type: the type's
 * learned estimate follows it, its relative slowdown stays ~1, and the router and the planner use
 * the learned estimate instead (no replacement loop for a type that is simply slower than profiled).
 * All of it is data in state.
 */
import type { VmView } from './policy-types.js';

export interface VmHealth {
  /** Significant slowdown the router uses: exp(max(0, logMean - z x se)), 1 = nominal. */
  slowdown: number;
  /** EWMA of ln(observed / the profile's p50) on this VM. */
  logMean: number;
  /** The type's learned log-ratio this VM is compared with (peers' median, else the selector's). */
  refLog: number;
  /** Peers' median log-ratio, set at each tick; undefined when the VM has no observed peer. */
  peerRefLog: number | undefined;
  /** EWMA of the squared deviation of that log ratio. */
  logVar: number;
  samples: number;
  /** Completions since the previous tick. */
  recent: number;
  /** Completions in the current run of degraded ticks. */
  degradedSamples: number;
  degradedTicks: number;
  /** Time of the last completion (ms); the router probes a VM idle and unobserved for a while. */
  lastObsMs: number;
}

export interface InterferenceOptions {
  alpha?: number;
  threshold?: number;
  ticks?: number;
  /** Samples before the router uses a VM's own record (default 5). */
  minSamples?: number;
  /** Completions a degraded run needs before a replacement (default 20). */
  replaceMinSamples?: number;
  /** z of the one-sided bound (default 2). */
  z?: number;
  /** Half-life of an unobserved VM's log-slowdown (default 60 s). */
  decayHalfLifeMs?: number;
  /** An idle VM unobserved this long gets the next request at its nominal estimate (default 5 s). */
  probeIntervalMs?: number;
}

export interface InterferenceState {
  readonly byVm: Map<string, VmHealth>;
  readonly alpha: number;
  readonly threshold: number;
  readonly ticks: number;
  readonly minSamples: number;
  readonly replaceMinSamples: number;
  readonly z: number;
  readonly decayHalfLifeMs: number;
  readonly probeIntervalMs: number;
  /** Time of the last tick (ms), undefined before the first. */
  readonly lastTickMs?: number;
}

/** Prior spread of one log ratio (sigma ~0.3: p99/p50 ~ 2). */
const PRIOR_LOG_VAR = 0.09;

export function initInterference(opts: InterferenceOptions = {}): InterferenceState {
  return {
    byVm: new Map(),
    alpha: opts.alpha ?? 0.2,
    threshold: opts.threshold ?? 1.5,
    ticks: opts.ticks ?? 3,
    minSamples: opts.minSamples ?? 5,
    replaceMinSamples: opts.replaceMinSamples ?? 20,
    z: opts.z ?? 2,
    decayHalfLifeMs: opts.decayHalfLifeMs ?? 60_000,
    probeIntervalMs: opts.probeIntervalMs ?? 5_000,
  };
}

/** Standard error of a VM's EWMA log-slowdown. */
function standardError(state: InterferenceState, h: VmHealth): number {
  return Math.sqrt(Math.max(0, h.logVar) * (state.alpha / (2 - state.alpha)));
}

/** Lower confidence bound of the slowdown relative to the type, never below 1 (what the router uses). */
export function significantSlowdown(state: InterferenceState, h: VmHealth): number {
  return Math.exp(Math.max(0, h.logMean - h.refLog - state.z * standardError(state, h)));
}

/** A fresh record at the type's learned log-ratio (nominal for the type). */
export function newVmHealth(atMs: number, typeLogRatio = 0): VmHealth {
  return {
    slowdown: 1,
    logMean: typeLogRatio,
    refLog: typeLogRatio,
    peerRefLog: undefined,
    logVar: PRIOR_LOG_VAR,
    samples: 0,
    recent: 0,
    degradedSamples: 0,
    degradedTicks: 0,
    lastObsMs: atMs,
  };
}

/**
 * In-place update from one VM completion: `priorMs` is the profile's p50 for the variant on the
 * VM's type, `typeLogRatio` the selector's learned ln(p50 / prior) for the type (the reference when
 * the VM has no observed peer), `atMs` the completion time.
 */
export function observeVmService(
  state: InterferenceState,
  vmId: string,
  observedMs: number,
  priorMs: number,
  typeLogRatio = 0,
  atMs = 0,
): void {
  if (!(priorMs > 0) || !(observedMs > 0) || !Number.isFinite(observedMs)) return;
  const x = Math.log(Math.min(20, Math.max(0.05, observedMs / priorMs)));
  let h = state.byVm.get(vmId);
  if (!h) {
    h = newVmHealth(atMs, typeLogRatio);
    state.byVm.set(vmId, h);
  } else if (h.samples === 0) {
    // A record the tick made for a VM not yet observed: start it at its type's figure.
    h.logMean = typeLogRatio;
    h.refLog = typeLogRatio;
  }
  const a = state.alpha;
  const d = x - h.logMean;
  h.logMean += a * d;
  h.logVar = (1 - a) * (h.logVar + a * d * d);
  h.samples++;
  h.recent++;
  h.refLog = h.peerRefLog ?? typeLogRatio;
  if (Number.isFinite(atMs) && atMs > h.lastObsMs) h.lastObsMs = atMs;
  h.slowdown = significantSlowdown(state, h);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Per tick at `nowMs`: decay unobserved VMs' slowdowns toward 1, count degraded observed ticks,
 * forget VMs that are gone, and return the ids to replace. Returns a new state (new map, copied
 * records: the old state is unchanged).
 */
export function tickInterference(
  state: InterferenceState,
  vms: readonly VmView[],
  nowMs?: number,
): { replace: string[]; state: InterferenceState } {
  const byVm = new Map<string, VmHealth>();
  const replace: string[] = [];
  const dtMs = nowMs !== undefined && state.lastTickMs !== undefined ? Math.max(0, nowMs - state.lastTickMs) : 0;
  const keep = dtMs > 0 && state.decayHalfLifeMs > 0 ? 0.5 ** (dtMs / state.decayHalfLifeMs) : 1;
  // Peers: the observed VMs of each (type, variant).
  const groups = new Map<string, Array<{ id: string; logMean: number }>>();
  for (const vm of vms) {
    const h = state.byVm.get(vm.id);
    if (h === undefined || h.samples < state.minSamples || vm.state !== 'ready') continue;
    const k = `${vm.instanceType}|${vm.variant}`;
    const g = groups.get(k) ?? [];
    g.push({ id: vm.id, logMean: h.logMean });
    groups.set(k, g);
  }
  const peerRef = (vm: VmView): number | undefined => {
    const others = (groups.get(`${vm.instanceType}|${vm.variant}`) ?? []).filter((p) => p.id !== vm.id).map((p) => p.logMean);
    return others.length > 0 ? median(others) : undefined;
  };
  for (const vm of vms) {
    const old = state.byVm.get(vm.id);
    const reported = vm.slowdown || 1;
    const ready = vm.state === 'ready';
    if (old === undefined || old.samples < state.minSamples) {
      // Not enough of its own evidence: the world's report (if any) counts, every tick.
      const h: VmHealth = old ? { ...old, recent: 0 } : { ...newVmHealth(nowMs ?? 0), slowdown: reported };
      h.degradedTicks = ready && reported > state.threshold ? h.degradedTicks + 1 : 0;
      if (old === undefined) h.slowdown = reported;
      byVm.set(vm.id, h);
      if (h.degradedTicks >= state.ticks) replace.push(vm.id);
      continue;
    }
    const h: VmHealth = { ...old, recent: 0 };
    const peer = peerRef(vm);
    h.peerRefLog = peer;
    if (peer !== undefined) h.refLog = peer;
    if (old.recent === 0) {
      // No evidence this tick: trust decays back toward its type's; the run neither grows nor resets.
      h.logMean = h.refLog + (h.logMean - h.refLog) * keep;
    } else if (ready) {
      const m = h.logMean - h.refLog;
      const degraded = Math.exp(m) > state.threshold && m - state.z * standardError(state, h) > 0;
      if (degraded) {
        h.degradedTicks++;
        h.degradedSamples += old.recent;
      } else {
        h.degradedTicks = 0;
        h.degradedSamples = 0;
      }
    }
    h.slowdown = significantSlowdown(state, h);
    byVm.set(vm.id, h);
    if (h.degradedTicks >= state.ticks && h.degradedSamples >= state.replaceMinSamples) replace.push(vm.id);
  }
  return { replace, state: { ...state, byVm, lastTickMs: nowMs ?? state.lastTickMs } };
}
