/**
 * Where one Spot launch goes, and what happens when Spot has no capacity (EC2's
 * InsufficientInstanceCapacity for a Spot request): the requested type in the AZ pool holding the
 * fewest of its VMs (so one reclaim takes as few as possible), then its other AZs, then other Spot
 * types the caller lists (in its order of preference), then the requested type on-demand. Pure: the
 * world (simulator, EC2 adapter) says which pools have capacity and carries the answer out.
 *
 * Example: c5.large:spot with VMs 2/1/1 in us-east-1a/b/c, b has no capacity -> us-east-1c (1 VM);
 * every c5.large pool and the listed c6g.large:spot pools full -> c5.large on-demand.
 */
export interface SpotPool {
  /** Planned Spot type, e.g. `c5.large:spot`. */
  instanceType: string;
  az: string;
  /** Live (booting or ready) VMs in this pool now. */
  liveVms: number;
  pricePerHourUsd: number;
}

export type SpotPlacement =
  | { kind: 'spot'; instanceType: string; az: string; fallback: 'none' | 'other-az' | 'other-type' }
  | { kind: 'on-demand'; instanceType: string; fallback: 'on-demand' };

/** Pools of one type, fewest live VMs first, then cheapest, then by AZ name (deterministic). */
export function poolOrder(pools: readonly SpotPool[]): SpotPool[] {
  return [...pools].sort((a, b) => a.liveVms - b.liveVms || a.pricePerHourUsd - b.pricePerHourUsd || a.az.localeCompare(b.az));
}

export function chooseSpotPlacement(
  requested: string,
  onDemandType: string,
  pools: readonly SpotPool[],
  alternatives: readonly string[],
  hasCapacity: (pool: SpotPool) => boolean,
): SpotPlacement {
  const own = poolOrder(pools.filter((p) => p.instanceType === requested));
  for (let i = 0; i < own.length; i++) {
    const p = own[i]!;
    if (hasCapacity(p)) return { kind: 'spot', instanceType: p.instanceType, az: p.az, fallback: i === 0 ? 'none' : 'other-az' };
  }
  for (const alt of alternatives) {
    if (alt === requested) continue;
    for (const p of poolOrder(pools.filter((x) => x.instanceType === alt))) {
      if (hasCapacity(p)) return { kind: 'spot', instanceType: p.instanceType, az: p.az, fallback: 'other-type' };
    }
  }
  return { kind: 'on-demand', instanceType: onDemandType, fallback: 'on-demand' };
}
