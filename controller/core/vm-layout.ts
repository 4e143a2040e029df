/**
 * How a VM runs the inference server, the one rule every world uses (the EC2 fleet, the local
 * fleet, the launch template's systemd unit): ONE server process (functions/server/main.ts) with
 * SPILLWAY_INTRA_OP_THREADS = the VM's vCPUs, whose batcher runs one batch per variant at a time
 * (functions/server/vm-server.ts `concurrency` default 1). So a VM is one service slot whose batch
 * runs on all its cores, not one single-threaded slot per vCPU: a c5.xlarge (4 vCPU) is 1 slot x 4
 * threads. The router's queue estimate (core/router.ts: k = outstanding / slots) then counts the
 * requests ahead of this one on the server's only queue.
 */
import { ConfigError } from '../errors.js';

/** Server processes per VM (the launch template's systemd unit starts one). */
export const VM_SERVER_PROCESSES = 1;
/** Batches one server runs at once per variant (the batcher's default concurrency). */
export const VM_BATCHES_IN_FLIGHT = 1;

export interface VmServerLayout {
  /** SPILLWAY_INTRA_OP_THREADS of the one server. */
  intraOpThreads: number;
  /** VmRecord.slots: batches the VM serves at once. */
  slots: number;
}

/**
 * The layout for a VM with `vcpu` cores, threads capped at `maxThreads` (the local fleet on a
 * 2-core machine caps an 8-vCPU stand-in at what the host has). E.g. c5.large (2 vCPU) -> 2
 * threads, 1 slot; capped to 1 -> 1 thread, 1 slot.
 */
export function vmServerLayout(vcpu: number, maxThreads: number = Number.POSITIVE_INFINITY): VmServerLayout {
  if (!Number.isInteger(vcpu) || vcpu < 1) throw new ConfigError(`vmServerLayout vcpu must be an integer >= 1, got ${vcpu}`);
  if (!(maxThreads >= 1)) throw new ConfigError(`vmServerLayout maxThreads must be >= 1, got ${maxThreads}`);
  return { intraOpThreads: Math.min(vcpu, Math.floor(maxThreads)), slots: VM_SERVER_PROCESSES * VM_BATCHES_IN_FLIGHT };
}
