/**
 * IRIS-style interference tracking per VM. A co-located noisy neighbour shows up as service times
 * above what the same variant does on the same instance type elsewhere:
 *   slowdown = EWMA(observed service / expected service), alpha 0.2, clipped to [0.5, 10].
 * The router (router.ts) multiplies a VM's expected wait and service by its slowdown, so shortest
 * expected delay sends a slowed VM less traffic, and none once its slowed p99 misses the budget.
 * A VM whose slowdown stays above `threshold` (1.5) for `ticks` (3) consecutive ticks, with at least
 * `minSamples` observations, is replaced: stopped and re-launched (cloud placement usually moves it).
 * All of it is data in state.
 */
import type { VmView } from './policy-types.js';

export interface VmHealth {
  slowdown: number;
  samples: number;
  degradedTicks: number;
}

export interface InterferenceOptions {
  alpha?: number;
  threshold?: number;
  ticks?: number;
  minSamples?: number;
}

export interface InterferenceState {
  readonly byVm: Map<string, VmHealth>;
  readonly alpha: number;
  readonly threshold: number;
  readonly ticks: number;
  readonly minSamples: number;
}

export function initInterference(opts: InterferenceOptions = {}): InterferenceState {
  return {
    byVm: new Map(),
    alpha: opts.alpha ?? 0.2,
    threshold: opts.threshold ?? 1.5,
    ticks: opts.ticks ?? 3,
    minSamples: opts.minSamples ?? 5,
  };
}

/** In-place update from one VM completion. */
export function observeVmService(state: InterferenceState, vmId: string, observedMs: number, expectedMs: number): void {
  if (!(expectedMs > 0) || !Number.isFinite(observedMs)) return;
  const r = Math.min(10, Math.max(0.5, observedMs / expectedMs));
  const h = state.byVm.get(vmId);
  if (!h) {
    state.byVm.set(vmId, { slowdown: r, samples: 1, degradedTicks: 0 });
    return;
  }
  h.slowdown = (1 - state.alpha) * h.slowdown + state.alpha * r;
  h.samples++;
}

/**
 * Per tick: count consecutive degraded ticks, forget VMs that are gone, and return the ids to
 * replace. Returns a new state (the map is rebuilt, so the old state is unchanged).
 */
export function tickInterference(
  state: InterferenceState,
  vms: readonly VmView[],
): { replace: string[]; state: InterferenceState } {
  const byVm = new Map<string, VmHealth>();
  const replace: string[] = [];
  for (const vm of vms) {
    const h = state.byVm.get(vm.id);
    const reported = vm.slowdown || 1;
    const sd = h && h.samples >= state.minSamples ? h.slowdown : reported;
    const prevTicks = h?.degradedTicks ?? 0;
    const degradedTicks = vm.state === 'ready' && sd > state.threshold ? prevTicks + 1 : 0;
    byVm.set(vm.id, { slowdown: h?.slowdown ?? reported, samples: h?.samples ?? 0, degradedTicks });
    if (degradedTicks >= state.ticks) replace.push(vm.id);
  }
  return { replace, state: { ...state, byVm } };
}
