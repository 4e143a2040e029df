/**
 * Profile files (profiles/<variant>.json): what the profiler measured for one variant on one
 * machine, and the per-resource estimates it derived. Read by the controller core (selector
 * priors, planner), the simulator (service times) and the CDK stacks (Lambda memory).
 *
 * CONTRACT: other modules code against this schema; change it only compatibly.
 */
import { z } from 'zod';

export const MachineSchema = z.strictObject({
  cpuModel: z.string(),
  cores: z.number().int().positive(),
  memoryGib: z.number().positive(),
  arch: z.string(),
  os: z.string(),
  node: z.string(),
  onnxruntime: z.string(),
  measuredAt: z.string(), // ISO-8601
  /** 1-minute load average when measuring started (> cores means a busy, noisy machine). */
  loadAverage1m: z.number().nonnegative().optional(),
  /**
   * CPU instruction-set class, `isaKey()` of functions/engine/cpu-isa.ts (e.g. 'x86_64/avx2'):
   * int8 latency and answers depend on it. Absent in profiles measured before it was recorded.
   */
  isa: z.string().optional(),
});

export const MeasurementSchema = z.strictObject({
  batchSize: z.number().int().positive(),
  intraOpThreads: z.number().int().positive(),
  samples: z.number().int().positive(),
  p50Ms: z.number().nonnegative(),
  p95Ms: z.number().nonnegative(),
  p99Ms: z.number().nonnegative(),
  meanMs: z.number().nonnegative(),
});

/**
 * Sponge's latency model, l(b,c) = gamma*b/c + delta*b + epsilon/c + eta, in ms, with b the batch
 * size and c the vCPUs (intra-op threads). Fitted by least squares over the p50 measurements.
 */
export const LatencyModelSchema = z.strictObject({
  gammaMs: z.number(),
  deltaMs: z.number(),
  epsilonMs: z.number(),
  etaMs: z.number(),
  /** Mean absolute percentage error of the fit over the measurements. */
  fitMapePct: z.number().nonnegative(),
  /** Ratio p99/p50 observed across measurements (median), to turn predicted p50 into p99. */
  p99OverP50: z.number().positive(),
});

export const LambdaEstimateSchema = z.strictObject({
  memoryMb: z.number().int().min(128).max(10240),
  /** vCPU share = min(memoryMb / 1769, 6). */
  vcpu: z.number().positive(),
  p50Ms: z.number().positive(),
  p99Ms: z.number().positive(),
  /** Cold start = runtime init + session load (+ model fetch when not packaged). */
  coldStartMs: z.number().positive(),
  /** Compute + request fee for one warm batch-1 request at p50 duration (x86 price). */
  costPerRequestUsd: z.number().nonnegative(),
});

export const InstanceEstimateSchema = z.strictObject({
  instanceType: z.string(),
  vcpu: z.number().int().positive(),
  /** Replicas (server processes) x threads each = vcpu. */
  replicas: z.number().int().positive(),
  intraOpThreads: z.number().int().positive(),
  /** Batch size at which the estimate was made (the largest meeting p99 <= the reference SLO). */
  batchSize: z.number().int().positive(),
  /** Sustainable throughput of the whole instance at that batch size. */
  throughputRps: z.number().positive(),
  p99Ms: z.number().positive(),
  /** Dollars per million requests at full utilisation. */
  costPerMillionUsd: z.number().nonnegative(),
});

export const VariantProfileSchema = z.strictObject({
  schemaVersion: z.literal(1),
  variant: z.string(),
  task: z.string(),
  weights: z.enum(['real', 'synthetic']),
  /** Copied from the registry; null when not published. See registry accuracy.appliesTo. */
  accuracyTop1: z.number().nullable(),
  machine: MachineSchema,
  modelSizeBytes: z.number().int().positive(),
  sessionLoadMs: z.number().nonnegative(),
  peakRssMb: z.number().positive(),
  measurements: z.array(MeasurementSchema).min(1),
  /** Measurement grid used: 'full' (~2 s/cell), 'quick' (~0.3 s/cell), 'add' (reduced). */
  grid: z.enum(['full', 'quick', 'add']).optional(),
  latencyModel: LatencyModelSchema,
  /** Reference SLO used for the derived estimates below. */
  referenceSloMs: z.number().positive(),
  lambda: z.array(LambdaEstimateSchema),
  instances: z.array(InstanceEstimateSchema),
});
export type VariantProfile = z.infer<typeof VariantProfileSchema>;
export type LatencyModel = z.infer<typeof LatencyModelSchema>;
export type Measurement = z.infer<typeof MeasurementSchema>;

/**
 * A profile's estimate for an instance type; a Spot type (`c5.large:spot`) is the same machine as
 * its on-demand type, so it has the same estimate. (The suffix is catalog.ts's SPOT_SUFFIX; it is
 * not imported to keep this contract file free of the catalog.)
 */
export function instanceEstimate<E extends { instanceType: string }>(profile: { instances: readonly E[] }, instanceType: string): E | undefined {
  const base = instanceType.endsWith(':spot') ? instanceType.slice(0, -':spot'.length) : instanceType;
  return profile.instances.find((i) => i.instanceType === base);
}

/** Predicted p50 service time (ms) for batch b on c vCPUs, from the fitted model. */
export function predictLatencyMs(m: LatencyModel, batchSize: number, vcpu: number): number {
  const c = Math.max(vcpu, 0.0625);
  return Math.max(0.01, (m.gammaMs * batchSize) / c + m.deltaMs * batchSize + m.epsilonMs / c + m.etaMs);
}
