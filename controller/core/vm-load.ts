/**
 * How busy a VM is, as one router sees it: the one place routing (core/router.ts) and the fallback
 * pick (host/fleet-view.ts) read a VM's queue from.
 *
 * A single process (and the simulator) sends every request itself, so its own outstanding count
 * is the VM's whole queue. Cluster routers share VMs: each VM reports its load on every answer
 * (BackendInferResponse.load), and a router adds the other routers' part of it (othersOutstanding)
 * to its own count while that report is fresh; with no fresh report it keeps to its share of the
 * slots (slotsWithoutReport, set from the plan), so N routers never queue N times what a VM takes.
 */
import type { VmView } from './policy-types.js';

/**
 * A report older than this no longer describes the VM's queue. Worked number: a VM serving
 * 100 rps answers some router every 10 ms, so in 1 s its queue has turned over ~100 times; a router
 * that got no answer for that long sees the VM only through its own count and its slot share.
 */
export const LOAD_REPORT_FRESH_MS = 1_000;

export interface VmQueue {
  /** Requests ahead of a new one (own + others' when known). */
  outstanding: number;
  /** Slots those requests share (the whole VM's, or this router's share without a report). */
  slots: number;
}

export function vmQueue(vm: VmView, nowMs: number): VmQueue {
  const slots = vm.slots > 0 ? vm.slots : 1;
  if (vm.othersReportedAtMs !== undefined && nowMs - vm.othersReportedAtMs <= LOAD_REPORT_FRESH_MS) {
    return { outstanding: vm.outstanding + (vm.othersOutstanding ?? 0), slots };
  }
  return {
    outstanding: vm.outstanding,
    slots: vm.slotsWithoutReport !== undefined ? Math.max(1, vm.slotsWithoutReport) : slots,
  };
}
