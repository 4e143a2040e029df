/**
 * SpillwayOptions (spillway-policy.ts) checked by one strict schema when the policy is made: an
 * unknown key or a value out of range is a ConfigError naming the field and the limit, never
 * clamped (an exploreShare of 0.5 used to run as 0.1, a scaleDownTicks of 2.7 as 2). The ranges are
 * what each knob means: a share is 0..1, a quantile is inside (0, 1), a count is an integer.
 */
import { z } from 'zod';
import { describeIssues, type SameKeys } from '../../functions/engine/zod-issues.js';
import { ConfigError } from '../errors.js';
import type { SpillwayOptions } from './spillway-policy.js';

const nonNeg = z.number().finite().min(0);
const share = nonNeg.max(1);
const openQuantile = z.number().gt(0).lt(1);

const InterferenceOptionsSchema = z.strictObject({
  alpha: z.number().gt(0).max(1).optional(),
  threshold: z.number().finite().min(1).optional(),
  ticks: z.number().int().min(1).optional(),
  minSamples: z.number().int().min(1).optional(),
  replaceMinSamples: z.number().int().min(1).optional(),
  z: nonNeg.optional(),
  decayHalfLifeMs: z.number().finite().positive().optional(),
  probeIntervalMs: nonNeg.optional(),
});

const SelectorOptionsSchema = z.strictObject({
  alpha: z.number().gt(0).max(1).optional(),
  decayPerIdleTick: share.optional(),
});

export const SpillwayOptionsSchema = z.strictObject({
  targetUtilisation: z.number().gt(0).max(1).optional(),
  scaleDownTicks: z.number().int().min(1).optional(),
  maxScaleDownWindowMs: nonNeg.optional(),
  /** Capped at 0.1: exploration is paid for with other variants' latency. */
  exploreShare: nonNeg.max(0.1).optional(),
  headroomQuantile: openQuantile.optional(),
  accuracyValueUsdPerMillionPerPct: nonNeg.optional(),
  minAccuracy: nonNeg.max(100).optional(),
  horizonMs: z.number().finite().positive().optional(),
  forecastSeasonMs: z.number().finite().positive().optional(),
  forecastBucketMs: z.number().finite().positive().optional(),
  coldSpill: z.enum(['serve', 'reject']).optional(),
  lambdaWait: z.boolean().optional(),
  /** 0 = no warm pool; 1 would keep an unbounded pool warm. */
  warmPoolQuantile: nonNeg.lt(1).optional(),
  vmOverheadMs: nonNeg.optional(),
  expectedVmLifetimeMs: z.number().finite().positive().optional(),
  switchMargin: nonNeg.optional(),
  spot: z.boolean().optional(),
  maxSpotShareOfOneReclaim: z.number().gt(0).max(1).optional(),
  spotDiscountBuysAccuracy: z.boolean().optional(),
  maxVms: z.number().int().min(0).optional(),
  interference: InterferenceOptionsSchema.optional(),
  selector: SelectorOptionsSchema.optional(),
});

// The schema and the documented interface list the same keys (a new option cannot skip the check).
const sameKeys: SameKeys<z.infer<typeof SpillwayOptionsSchema>, SpillwayOptions> = true;
void sameKeys;

/** Throws ConfigError naming each bad field (`createSpillwayPolicy option exploreShare: ...`). */
export function checkSpillwayOptions(opts: unknown): void {
  const r = SpillwayOptionsSchema.safeParse(opts);
  if (!r.success) {
    throw new ConfigError(`invalid Spillway policy options: ${describeIssues(r.error.issues, { max: 5, label: (path) => `createSpillwayPolicy option ${path}` })}`, {
      cause: r.error,
    });
  }
}
