/**
 * The public API's request/response schemas. The zod objects are the single source of truth:
 * the server validates with them and /openapi.json is generated from them (z.toJSONSchema),
 * so the document cannot drift from what the server accepts.
 */
import { z } from 'zod';
import {
  ErrorBodySchema,
  LIMITS,
  PredictionSchema,
  TensorDtypeSchema,
  TensorInputSchema,
} from '../../functions/engine/protocol.js';
import { VerificationSummarySchema } from '../../profiles/lib/verify-store.js';

export { ErrorBodySchema };

/** Base64 of at most LIMITS.maxImageBytes decoded bytes: 4 MiB -> ceil(4 MiB / 3) * 4 chars. */
export const MAX_IMAGE_BASE64_CHARS = Math.ceil(LIMITS.maxImageBytes / 3) * 4;

export const PublicInputSchema = z
  .union([
    z.strictObject({
      image: z
        .string()
        .min(1)
        .max(MAX_IMAGE_BASE64_CHARS)
        .describe('Base64-encoded JPEG/PNG/WebP image (at most 4 MiB decoded).'),
    }),
    // Same tensor rules as the backends (protocol.ts): exactly one of `data` (JSON numbers) or
    // `dataBase64` (raw little-endian bytes, far cheaper to parse for large tensors).
    z.strictObject({ tensor: TensorInputSchema }),
  ])
  .describe('One input: an image or a raw tensor already in the model layout (no batch dimension).');

const sloMs = z.number().int().min(1).max(LIMITS.maxBudgetMs).describe('End-to-end latency SLO in ms.');
const budgetMs = z
  .number()
  .positive()
  .max(LIMITS.maxBudgetMs)
  .describe('Remaining latency budget in ms if the caller already spent part of the SLO (Sponge-style).');
const topK = z.number().int().min(1).max(LIMITS.maxTopK);
const acceptLate = z
  .boolean()
  .describe(
    'Late is better than nothing: wait up to the server backend timeout instead of answering 504 at the budget, and take a Lambda cold start that will miss it.',
  );

/** Model-less request: the caller names the task and targets; Spillway picks the variant. */
export const InferRequestSchema = z
  .strictObject({
    task: z.string().min(1).max(128),
    input: PublicInputSchema,
    sloMs,
    minAccuracy: z.number().min(0).max(100).describe('Minimum published top-1 accuracy in percent (0 = any).'),
    budgetMs: budgetMs.optional(),
    topK: topK.optional(),
    acceptLate: acceptLate.optional(),
  });
export type InferRequest = z.infer<typeof InferRequestSchema>;

/** Model-specific request (POST /v1/models/{name}/infer): the variant is pinned by the URL. */
export const ModelInferRequestSchema = z
  .strictObject({
    input: PublicInputSchema,
    sloMs: sloMs.optional(),
    budgetMs: budgetMs.optional(),
    topK: topK.optional(),
    acceptLate: acceptLate.optional(),
  });
export type ModelInferRequest = z.infer<typeof ModelInferRequestSchema>;

export const LatencyBreakdownSchema = z.strictObject({
  /** Time waiting in the backend's batch queue. */
  queueMs: z.number().nonnegative(),
  /** Time the router held the request for a busy Lambda instance to free up (0 if it did not wait). */
  waitMs: z.number().nonnegative(),
  /** Decode/resize (preprocessing) plus session.run. */
  inferenceMs: z.number().nonnegative(),
  /** A Lambda cold start's INIT phase (process start + model load), as the runtime reported it; 0 if warm or a VM. */
  coldStartMs: z.number().nonnegative(),
  /** Everything else between the router and the backend's own timers: network, (de)serialisation. */
  transportMs: z.number().nonnegative(),
  /** Router receipt to answer. */
  totalMs: z.number().nonnegative(),
});

export const InferResponseSchema = z
  .strictObject({
    requestId: z.string(),
    task: z.string(),
    model: z.string().describe('Variant that served the request.'),
    weights: z.enum(['real', 'synthetic']).describe("'synthetic': real latency, meaningless predictions."),
    accuracyTop1: z.number().nullable(),
    backend: z.strictObject({
      kind: z.enum(['vm', 'lambda']),
      id: z.string(),
      coldStart: z.boolean(),
    }),
    /** Top-k predictions, best first. */
    predictions: z.array(PredictionSchema),
    latency: LatencyBreakdownSchema,
    sloMs: z.number(),
    sloMet: z.boolean(),
    /** Backends tried before this one answered (VM killed, throttled, ...). */
    retries: z.number().int().nonnegative(),
  });
export type InferResponse = z.infer<typeof InferResponseSchema>;

export const ModelSummarySchema = z.strictObject({
  name: z.string(),
  task: z.string(),
  architecture: z.string(),
  weights: z.enum(['real', 'synthetic']),
  accuracy: z.strictObject({
    top1: z.number().nullable(),
    source: z.string(),
    appliesTo: z.enum(['these-weights', 'architecture', 'user']),
  }),
  input: z.strictObject({
    dtype: TensorDtypeSchema,
    shape: z.array(z.number().int().nullable()),
    layout: z.string(),
  }),
  profile: z
    .strictObject({
      measuredOn: z.string(),
      sessionLoadMs: z.number(),
      p50MsBatch1: z.number().nullable(),
      p99MsBatch1: z.number().nullable(),
      modelSizeBytes: z.number(),
      /** 'measured': profiles/*.json; 'default': no profile file, a placeholder prior is used. */
      source: z.enum(['measured', 'default']),
    })
    .nullable(),
  /** The last `spillway models verify` on this host: backends vs each other and vs the recorded reference. */
  verification: VerificationSummarySchema,
});
export const ModelsResponseSchema = z
  .strictObject({ models: z.array(ModelSummarySchema) });
export type ModelsResponse = z.infer<typeof ModelsResponseSchema>;

/** POST /v1/vms/{id}/reclaim (local world): the notice EC2 would give; default the configured one. */
export const ReclaimRequestSchema = z.strictObject({
  noticeMs: z.number().int().min(0).max(600_000).optional(),
});

export const ReclaimResponseSchema = z.strictObject({
  id: z.string(),
  /** When the VM is killed (ISO 8601): the instance-action's `time`. */
  time: z.string(),
  noticeMs: z.number(),
});
export type ReclaimResponse = z.infer<typeof ReclaimResponseSchema>;

export const HealthResponseSchema = z
  .strictObject({ status: z.literal('ok'), uptimeS: z.number() });

/** The figures the planner decided from this tick (core/policy-types.ts PlannerFacts). */
export const PlannerFactsSchema = z.strictObject({
  horizonMs: z.number(),
  headroom: z.number(),
  planRps: z.number(),
  holdWindowMs: z.number(),
  lambdaAbsorbRps: z.number(),
  vmCapacityRps: z.record(z.string(), z.number()),
  breakEven: z.array(
    z.strictObject({
      instanceType: z.string(),
      variant: z.string(),
      capacityRps: z.number(),
      pricePerHourUsd: z.number(),
      lambdaCostPerRequestUsd: z.number(),
      /** u*: the VM beats Lambda only above this utilisation; null = never (Lambda free). */
      utilisation: z.number().nullable(),
      newVmUtilisation: z.number().nullable(),
      /** A burst at full VM load must last this long for a new VM to pay off; null = never. */
      burstMs: z.number().nullable(),
      bootDelayMs: z.number(),
    }),
  ),
});

export const StatusResponseSchema = z
  .strictObject({
    nowMs: z.number(),
    policy: z.string(),
    fleet: z.array(
      z.strictObject({
        id: z.string(),
        instanceType: z.string(),
        variant: z.string(),
        state: z.enum(['booting', 'ready', 'draining']),
        launchedAtMs: z.number(),
        readyAtMs: z.number().nullable(),
        outstanding: z.number().int(),
        slots: z.number().int(),
        endpoint: z.string().nullable(),
      }),
    ),
    lambda: z.strictObject({
      memoryMbByVariant: z.record(z.string(), z.number()),
      warmIdleByVariant: z.record(z.string(), z.number()),
      inFlight: z.number().int(),
      concurrencyLimit: z.number().int(),
      throttledUntilMs: z.number().nullable(),
    }),
    plan: z
      .strictObject({
        atMs: z.number(),
        launch: z.array(z.strictObject({ instanceType: z.string(), variant: z.string(), count: z.number() })),
        terminate: z.array(z.string()),
        lambdaMemoryMb: z.record(z.string(), z.number()),
        variantShares: z.record(z.string(), z.number()),
        notes: z.array(z.string()),
        /** The decision in plain words (core/host/plain-words.ts). */
        summary: z.array(z.string()),
        facts: PlannerFactsSchema.nullable(),
      })
      .nullable(),
    forecastRps: z.number().nullable(),
    /**
     * Set while VM launches are held after the world refused them for a quota (EC2
     * VcpuLimitExceeded, InstanceLimitExceeded, ...): exponential backoff, core/launch-backoff.ts.
     */
    launchBackoff: z
      .strictObject({
        code: z.string(),
        message: z.string(),
        refusals: z.number().int(),
        sinceMs: z.number(),
        untilMs: z.number(),
      })
      .nullable(),
    traffic: z.strictObject({
      /** Requests answered per backend since start. */
      totals: z.strictObject({ arrivals: z.number(), vm: z.number(), lambda: z.number(), rejected: z.number(), failed: z.number(), warmUps: z.number() }),
      /** Share of the last window's answered requests served on Lambda (0..1). */
      recentLambdaShare: z.number(),
      recentWindowS: z.number(),
      recentByVariant: z.record(z.string(), z.number()),
      arrivalRps: z.number(),
    }),
    cost: z.strictObject({
      ec2Usd: z.number(),
      lambdaUsd: z.number(),
      totalUsd: z.number(),
      ec2ByInstanceType: z.record(z.string(), z.number()),
    }),
  });
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

const nullableNumber = z.number().nullable();

export const HistorySampleSchema = z.strictObject({
  atMs: z.number(),
  tick: z.number().int(),
  arrivalRps: z.number(),
  forecastRps: nullableNumber,
  forecastBaseRps: nullableNumber,
  vmReadyRps: z.number(),
  vmBootingRps: z.number(),
  lambdaInFlight: z.number().int(),
  lambdaConcurrencyLimit: z.number().int(),
  lambdaAbsorbRps: nullableNumber,
  fleet: z.array(
    z.strictObject({
      instanceType: z.string(),
      booting: z.number().int(),
      ready: z.number().int(),
      draining: z.number().int(),
      bootDelayMs: z.number(),
    }),
  ),
  answers: z.strictObject({
    vm: z.number().int(),
    lambda: z.number().int(),
    coldStarts: z.number().int(),
    rejected503: z.number().int(),
    timeouts504: z.number().int(),
    otherErrors: z.number().int(),
  }),
  sloAttainment: nullableNumber,
  p50Ms: nullableNumber,
  p99Ms: nullableNumber,
  sloMs: z.number(),
  cost: z.strictObject({ ec2UsdPerHour: z.number(), lambdaUsdPerHour: z.number(), ec2Usd: z.number(), lambdaUsd: z.number() }),
  breakEven: z
    .strictObject({ instanceType: z.string(), variant: z.string(), utilisation: nullableNumber, burstMs: nullableNumber })
    .nullable(),
  modelMix: z.record(z.string(), z.record(z.string(), z.number())),
  servedAccuracy: nullableNumber,
});

export const HistoryResponseSchema = z.strictObject({
  nowMs: z.number(),
  /** Changes when the controller restarts: a client holding older samples starts over. */
  runId: z.string(),
  tickIntervalMs: z.number(),
  sloMs: z.number(),
  /** Samples kept at most (an hour of ticks); 0 = this controller keeps no history. */
  capacity: z.number().int(),
  /** One per tick, oldest first; with ?since=, only those after it. */
  samples: z.array(HistorySampleSchema),
  /** Decisions in plain words (quiet ticks that say the same thing collapsed), oldest first. */
  decisions: z.array(
    z.strictObject({ atMs: z.number(), tick: z.number().int(), summary: z.array(z.string()), notes: z.array(z.string()) }),
  ),
});
export type HistoryResponse = z.infer<typeof HistoryResponseSchema>;
