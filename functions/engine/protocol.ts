/**
 * Wire protocol shared by the VM inference server (POST /v1/infer), the Lambda handler
 * (HTTP events and direct Invoke payloads) and the controller's backend clients.
 *
 * CONTRACT: other modules code against these schemas; change them only compatibly.
 */
import { z } from 'zod';
import { ERROR_CODE_NAMES } from './error-codes.js';

/** Hard limits, named so error messages can quote them. */
export const LIMITS = {
  /** Max inputs in one request (the engine batches them in one session.run). */
  maxInputsPerRequest: 16,
  /** Max decoded image size. 4 MiB keeps a request well inside Lambda's 6 MB sync payload. */
  maxImageBytes: 4 * 1024 * 1024,
  /** Max elements in a raw tensor input (3x224x224 = 150,528; allow 4x headroom). */
  maxTensorElements: 602_112,
  /**
   * Max length of a tensor's `dataBase64`: maxTensorElements float32 values
   * (4 bytes each) in base64, 4 chars per 3 bytes: 602,112 x 4 = 2,408,448 bytes -> 3,211,264 chars.
   */
  maxTensorBase64Chars: 3_211_264,
  maxTopK: 20,
  /** Deadline budgets beyond 5 minutes are certainly a unit mistake (s vs ms). */
  maxBudgetMs: 300_000,
} as const;

export const TensorDtypeSchema = z.enum(['float32', 'uint8', 'float16']);
export type TensorDtype = z.infer<typeof TensorDtypeSchema>;

/** Bytes per element of each dtype on the wire (`dataBase64`); float16 travels as IEEE half bits. */
export const TENSOR_DTYPE_BYTES: Readonly<Record<TensorDtype, number>> = { float32: 4, uint8: 1, float16: 2 };

/**
 * A raw tensor in the model's layout. Exactly one of:
 * - `data`: the values as a JSON number array (readable; ~7 bytes and a number parse per value);
 * - `dataBase64` (optional): the little-endian raw bytes of the dtype in base64
 *   (float16 as IEEE half bits); its decoded length must be product(shape) x dtype size, e.g.
 *   3x224x224 float32 = 602,112 bytes = 802,816 base64 chars, vs ~1 MB of JSON numbers that cost
 *   as much to parse as a 6 ms model.
 */
export const TensorInputSchema = z
  .strictObject({
    dtype: TensorDtypeSchema,
    shape: z.array(z.number().int().positive()).min(1).max(8),
    data: z.array(z.number()).max(LIMITS.maxTensorElements).optional(),
    dataBase64: z.string().max(LIMITS.maxTensorBase64Chars).optional(),
  })
  .refine((t) => (t.data === undefined) !== (t.dataBase64 === undefined), {
    message: 'exactly one of data (number array) or dataBase64 (raw little-endian bytes) must be present',
  });
export type TensorInput = z.infer<typeof TensorInputSchema>;

/** One input: a base64-encoded image (JPEG/PNG/WebP) or a raw tensor already in the model's layout. */
export const InferInputSchema = z.union([
  z.strictObject({ image: z.string().min(1) }),
  z.strictObject({ tensor: TensorInputSchema }),
]);
export type InferInput = z.infer<typeof InferInputSchema>;

/** Request body for a backend (VM server or Lambda function): the variant is already chosen. */
export const BackendInferRequestSchema = z.strictObject({
  /** Variant name from the registry. */
  model: z.string().min(1).max(128),
  inputs: z.array(InferInputSchema).min(1).max(LIMITS.maxInputsPerRequest),
  topK: z.number().int().min(1).max(LIMITS.maxTopK).default(5),
  /** Remaining latency budget for this request in ms; the server drops it (504) rather than hold it past this. */
  budgetMs: z.number().positive().max(LIMITS.maxBudgetMs).optional(),
});
export type BackendInferRequest = z.infer<typeof BackendInferRequestSchema>;

/**
 * The event a Lambda function answers without inference: the controller sends it to start an
 * instance ahead of requests (a cold start no request waits on). The handler replies 200
 * `{ warm: true, coldStart }` once its init (model load) is done.
 */
export const WARM_UP_EVENT = { spillwayWarmUp: true } as const;
export function isWarmUpEvent(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as Record<string, unknown>)['spillwayWarmUp'] === true;
}
export type BackendInferRequestInput = z.input<typeof BackendInferRequestSchema>;

export const PredictionSchema = z.object({
  index: z.number().int(),
  label: z.string(),
  score: z.number(),
});
export type Prediction = z.infer<typeof PredictionSchema>;

export const BackendInferResponseSchema = z.object({
  model: z.string(),
  /** 'synthetic' = seeded random weights: real latency, meaningless predictions. */
  weights: z.enum(['real', 'synthetic']),
  /** One entry per input, top-k predictions best first. */
  outputs: z.array(z.object({ top: z.array(PredictionSchema) })),
  timings: z.object({
    queueMs: z.number(),
    preprocessMs: z.number(),
    inferenceMs: z.number(),
    /** Inputs in the session.run batch this request rode in (>= its own input count). */
    batchSize: z.number().int(),
  }),
  /**
   * Which backend produced it: 'vm' server or 'lambda' handler; coldStart only for lambda. isa: the
   * CPU instruction-set class it ran on (isaKey() of engine/cpu-isa.ts): int8 answers depend on it.
   */
  backend: z.object({
    kind: z.enum(['vm', 'lambda']),
    id: z.string(),
    coldStart: z.boolean().optional(),
    isa: z.string().optional(),
  }),
  /**
   * The VM server's load when it wrote this answer: requests it had accepted and not yet answered,
   * this one included. Cluster routers read it to see the other routers' share of the VM's queue
   * (core/router.ts, VmView.othersOutstanding). Lambda answers leave it out.
   */
  load: z.object({ outstanding: z.number().int().min(0) }).optional(),
});
export type BackendInferResponse = z.infer<typeof BackendInferResponseSchema>;

/** Every error reply, from every HTTP surface in Spillway. */
export const ErrorBodySchema = z.object({
  error: z.object({
    /** Stable machine-readable code, one of error-codes.ts (e.g. 'invalid_request', 'queue_full'). */
    code: z.enum(ERROR_CODE_NAMES),
    /** Human message naming the field and the limit; never internals on 5xx. */
    message: z.string(),
    /** Dotted path of the offending field, when there is one. */
    field: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
