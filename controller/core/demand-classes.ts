/**
 * Demand classes: which variants the arriving requests may be served by. The plan must be made for
 * the requests that arrive, not for an accuracy floor configured beside them: a caller asking for
 * >= 65 % top-1 cannot be served by a 54.9 % variant however cheap its VMs are, so VMs and warm
 * Lambda instances bought for that variant serve nobody.
 *
 * A class is the set of variants a request may use. Requests that name a minimum accuracy m fall
 * into the class of their task whose floor is the lowest published accuracy >= m (65 and 66 both
 * admit {shufflenet 66.1, mobilenet-v2 68.3}: one class, floor 66.1), so a task has at most
 * (variants + 1) classes whatever floats callers send. m = 0 is the class "any" (floor -Infinity,
 * which also admits variants without a published accuracy). A pinned request (model-specific route)
 * is the class of its one variant.
 */
import type { VariantInfo } from './policy-types.js';

export interface DemandClass {
  key: string;
  task: string;
  /** Lowest accuracy admitted: -Infinity for "any"; for a pinned class, its variant's accuracy. */
  floor: number;
  /** Set for a model-specific (pinned) class. */
  pinned?: string;
  /** Variant names the class may use. */
  variants: readonly string[];
}

/** Arrivals of one tick for one (task, minAccuracy | pinned variant), as the policy host counts them. */
export interface DemandCount {
  task: string;
  /** Requested minimum top-1 % (0 = any), rounded to 0.1. */
  minAccuracy: number;
  /** Model-specific request: the variant it named. */
  variant?: string;
  count: number;
}

/** The class a request falls into, or undefined when no variant can serve it (it is answered 4xx). */
export function demandClassOf(
  variants: readonly Pick<VariantInfo, 'name' | 'task' | 'accuracyTop1'>[],
  d: Pick<DemandCount, 'task' | 'minAccuracy' | 'variant'>,
): DemandClass | undefined {
  if (d.variant !== undefined) {
    const v = variants.find((x) => x.name === d.variant);
    if (!v) return undefined;
    return { key: `${v.task}@=${v.name}`, task: v.task, floor: v.accuracyTop1 ?? -1, pinned: v.name, variants: [v.name] };
  }
  const ofTask = variants.filter((v) => v.task === d.task);
  if (!(d.minAccuracy > 0)) {
    if (ofTask.length === 0) return undefined;
    return { key: `${d.task}@any`, task: d.task, floor: Number.NEGATIVE_INFINITY, variants: ofTask.map((v) => v.name) };
  }
  const admitted = ofTask.filter((v) => v.accuracyTop1 !== null && v.accuracyTop1 >= d.minAccuracy);
  if (admitted.length === 0) return undefined;
  const floor = Math.min(...admitted.map((v) => v.accuracyTop1!));
  return { key: `${d.task}@${floor}`, task: d.task, floor, variants: admitted.map((v) => v.name) };
}

/** Before anything is observed: one "any" class per task, the task's share split evenly. */
export interface DemandMix {
  classes: Readonly<Record<string, DemandClass>>;
  shares: Readonly<Record<string, number>>;
  /** False while the mix is the prior: the first observed tick replaces it outright. */
  observed: boolean;
}

export function initialDemand(variants: readonly Pick<VariantInfo, 'name' | 'task' | 'accuracyTop1'>[]): DemandMix {
  const tasks = [...new Set(variants.map((v) => v.task))];
  const classes: Record<string, DemandClass> = {};
  const shares: Record<string, number> = {};
  for (const task of tasks) {
    const c = demandClassOf(variants, { task, minAccuracy: 0 });
    if (!c) continue;
    classes[c.key] = c;
    shares[c.key] = 1 / tasks.length;
  }
  return { classes, shares, observed: false };
}

/**
 * EWMA of the class shares (the prior is replaced by the first tick with arrivals): each tick with arrivals moves every share `alpha` of the way to this
 * tick's mix (0.2 per 5 s tick: a new class reaches 67 % of its share in 5 ticks, 25 s). A class
 * whose share has decayed below `dropBelow` is forgotten (its VMs age out through the normal
 * scale-in), so the class set stays as small as the demand. Ticks without arrivals keep the mix.
 */
export function updateDemand(
  variants: readonly Pick<VariantInfo, 'name' | 'task' | 'accuracyTop1'>[],
  prev: DemandMix,
  counts: readonly DemandCount[],
  alphaObserved = 0.2,
  dropBelow = 0.002,
): DemandMix {
  const alpha = prev.observed ? alphaObserved : 1;
  const byKey = new Map<string, number>();
  const classes: Record<string, DemandClass> = { ...prev.classes };
  let total = 0;
  for (const d of counts) {
    if (!(d.count > 0)) continue;
    const c = demandClassOf(variants, d);
    if (!c) continue;
    classes[c.key] ??= c;
    byKey.set(c.key, (byKey.get(c.key) ?? 0) + d.count);
    total += d.count;
  }
  if (total === 0) return prev;
  const shares: Record<string, number> = {};
  for (const key of Object.keys(classes)) {
    const s = (1 - alpha) * (prev.shares[key] ?? 0) + alpha * ((byKey.get(key) ?? 0) / total);
    if (s >= dropBelow) shares[key] = s;
    else delete classes[key];
  }
  // Renormalise (dropping a class leaves the rest slightly short of 1).
  const sum = Object.values(shares).reduce((a, b) => a + b, 0);
  for (const k of Object.keys(shares)) shares[k] = shares[k]! / sum;
  return { classes, shares, observed: true };
}
