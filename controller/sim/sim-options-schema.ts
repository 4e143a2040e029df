/**
 * The simulator's options, checked by one strict schema before a run: an unknown key or a value
 * out of range is a SimConfigError naming the field and the limit, never silently clamped (a
 * maxBatch of 500 used to run as 64, a bootJitter of 1.5 gave negative boot times). Ranges are what
 * the world model can carry out, e.g. maxBatch 1..64 because a VM slot's batch index shares its
 * event payload with the VM index (SLOT_SHIFT). Validation only: simulate() keeps the caller's
 * object (no copy of a million arrival times).
 */
import { z } from 'zod';
import { describeIssues, type SameKeys } from '../../functions/engine/zod-issues.js';
import { SimConfigError } from './errors.js';
import type { SimOptions } from './simulator.js';

/** Largest batch a VM slot takes (the event payload packs vmIdx * SLOT_SHIFT + slot). */
export const SIM_SLOT_SHIFT = 64;

const nonNeg = z.number().finite().min(0);
const positive = z.number().finite().positive();
const count = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const perName = (v: z.ZodType) => z.record(z.string().min(1), v);

const WorldSchema = z.strictObject({
  coldStart: z.strictObject({ runtimeInitMs: nonNeg, sessionLoadFactor: nonNeg, sigma: nonNeg.max(5) }).optional(),
  keepAlive: z
    .strictObject({ minFactor: nonNeg, maxFactor: nonNeg })
    .refine((k) => k.minFactor <= k.maxFactor, { message: 'minFactor must be <= maxFactor' })
    .optional(),
  boot: z.strictObject({ meanFactor: positive, cv: nonNeg.max(5) }).optional(),
  serviceTail: z.strictObject({ sigmaFactor: nonNeg, stallProbability: nonNeg.max(1), stallFactor: z.number().finite().min(1) }).optional(),
  transport: z
    .strictObject({ payloadBytes: nonNeg, vmBaseMs: nonNeg, vmBytesPerMs: positive, lambdaBaseMs: nonNeg, lambdaBytesPerMs: positive })
    .optional(),
});

const SpotEventSchema = z.strictObject({ atMs: nonNeg, instanceType: z.string().min(1), az: z.string().min(1) });

/**
 * A list of finite ms (an array or a typed array, checked in one pass: a million arrival times is
 * fine): `ascending` also wants each >= the one before and the first >= 0, `nonEmpty` at least one.
 */
const msList = (o: { ascending?: boolean; nonEmpty?: boolean }, message: string) =>
  z.custom<ArrayLike<number>>(
    (v) => {
      if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') return false;
      const a = v as ArrayLike<number>;
      if (o.nonEmpty && a.length === 0) return false;
      let prev = o.ascending ? 0 : Number.NEGATIVE_INFINITY;
      for (let i = 0; i < a.length; i++) {
        const t = a[i]!;
        if (!Number.isFinite(t) || t < prev) return false;
        if (o.ascending) prev = t;
      }
      return true;
    },
    { message },
  );
const ArrivalTimesSchema = msList({ ascending: true }, 'must be ascending finite times >= 0 (ms)');
/** Measured samples: at least one, every one finite. */
const SamplesSchema = msList({ nonEmpty: true }, 'must be a non-empty list of finite ms');


export const SimOptionsSchema = z.strictObject({
  seed: z.number().int(),
  task: z.string().min(1).optional(),
  minAccuracy: nonNeg.max(100),
  maxBatch: count(1, SIM_SLOT_SHIFT).optional(),
  queueLimit: count(1),
  vmOverheadMs: nonNeg,
  lambdaOverheadMs: nonNeg,
  bootDelayMs: perName(nonNeg).optional(),
  bootJitter: nonNeg.max(0.99),
  trueLatencyMultiplier: perName(positive).optional(),
  interference: z.strictObject({ probability: nonNeg.max(1), slowdown: z.number().finite().min(1) }).optional(),
  billLambdaInit: z.boolean(),
  seriesIntervalMs: z.number().finite().min(1_000),
  historyTicks: count(1),
  onProgress: z.function().optional(),
  prewarm: z.boolean(),
  preHistoryTicks: count(0),
  recordArrivalsPerSecond: z.boolean(),
  maxVms: count(0).optional(),
  deferMemoryDuringBursts: z.boolean(),
  arrivalTimesMs: ArrivalTimesSchema.optional(),
  vmSlots: count(1, 1_024).optional(),
  vmThreads: count(1, 1_024).optional(),
  extraServiceMs: z.strictObject({ vm: perName(z.number().finite()).optional(), lambda: perName(z.number().finite()).optional() }).optional(),
  extraServiceSamplesMs: z.strictObject({ vm: perName(SamplesSchema).optional(), lambda: perName(SamplesSchema).optional() }).optional(),
  lambdaColdStartMs: perName(nonNeg).optional(),
  lambdaKeepAliveMs: nonNeg.optional(),
  lambdaMemoryMb: count(128, 10_240).optional(),
  lambdaBilledOverheadMs: nonNeg.optional(),
  lambdaWarmAtStart: count(0).optional(),
  world: WorldSchema.optional(),
  spot: z
    .strictObject({
      replay: z.array(SpotEventSchema).optional(),
      capacityNotAvailableProbability: nonNeg.max(1).optional(),
      reclaimFraction: z.number().finite().gt(0).max(1).optional(),
    })
    .optional(),
});

// The schema and the documented interface list the same keys (a new option cannot skip the check).
const sameKeys: SameKeys<z.infer<typeof SimOptionsSchema>, SimOptions> = true;
void sameKeys;

/** Throws SimConfigError naming each bad field (`opts.maxBatch: ...`) and its limit. */
export function checkSimOptions(opts: unknown): void {
  const r = SimOptionsSchema.safeParse(opts);
  if (!r.success) {
    throw new SimConfigError(`invalid simulator options: ${describeIssues(r.error.issues, { max: 5, label: (path) => `opts.${path}` })}`, {
      cause: r.error,
    });
  }
}
