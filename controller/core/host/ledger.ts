/**
 * Dollars so far as the controller knows them: EC2 per VM from launch to end (per-second billing
 * with the 60 s minimum) and Lambda per completed invoke from its billed duration and memory.
 * Fed by FleetView's add/gone events and by completions; pure arithmetic in profiles/pricing.ts.
 */
import type { Catalog } from '../../../profiles/catalog.js';
import { lambdaCostPerRequest, vmBilledCostUsd } from '../../../profiles/pricing.js';

interface Bill {
  instanceType: string;
  launchedAtMs: number;
  endedAtMs?: number;
}

export class Ledger {
  private readonly bills = new Map<string, Bill>();
  lambdaUsd = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly lambdaArch: 'x86_64' | 'arm64',
  ) {}

  vmStarted(id: string, instanceType: string, launchedAtMs: number): void {
    if (!this.bills.has(id)) this.bills.set(id, { instanceType, launchedAtMs });
  }

  vmEnded(id: string, atMs: number): void {
    const b = this.bills.get(id);
    if (b && b.endedAtMs === undefined) b.endedAtMs = atMs;
  }

  lambdaInvoked(memoryMb: number, billedDurationMs: number): void {
    this.lambdaUsd += lambdaCostPerRequest(this.catalog, memoryMb, billedDurationMs, this.lambdaArch);
  }

  /** EC2 dollars so far; running VMs billed up to `nowMs`. */
  ec2(nowMs: number): { total: number; byInstanceType: Record<string, number> } {
    const byInstanceType: Record<string, number> = {};
    let total = 0;
    for (const b of this.bills.values()) {
      let usd: number;
      try {
        usd = vmBilledCostUsd(this.catalog, b.instanceType, (b.endedAtMs ?? nowMs) - b.launchedAtMs);
      } catch {
        continue; // instance type not in the catalog: nothing to price
      }
      byInstanceType[b.instanceType] = (byInstanceType[b.instanceType] ?? 0) + usd;
      total += usd;
    }
    return { total, byInstanceType };
  }
}
