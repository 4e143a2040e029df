/**
 * Wire protocol shared by the VM inference server (POST /v1/infer), the Lambda handler
 * (HTTP events and direct Invoke payloads) and the controller's backend clients.
 *
 * CONTRACT: other modules code against these schemas; change them only compatibly.
 */
import { z } from 'zod';

/** Hard limits, named so error messages can quote them. */
export const LIMITS = {
  /** Max inputs in one request (the engine batches them in one session.run). */
  maxInputsPerRequest: 16,
  /** Max decoded image size. 4 MiB keeps a request well inside Lambda's 6 MB sync payload. */
  maxImageBytes: 4 * 1024 * 1024,
  /** Max elements in a raw tensor input (3x224x224 = 150,528; allow 4x headroom). */
  maxTensorElements: 602_112,
  maxTopK: 20,
  /** Deadline budgets beyond 5 minutes are certainly a unit mistake (s vs ms). */
  maxBudgetMs: 300_000,
} as const;

export const TensorDtypeSchema = z.enum(['float32', 'uint8', 'float16']);
export type TensorDtype = z.infer<typeof TensorDtypeSchema>;

/** One input: a base64-encoded image (JPEG/PNG/WebP) or a raw tensor already in the model's layout. */
export const InferInputSchema = z.union([
  z.strictObject({ image: z.string().min(1) }),
  z.strictObject({
    tensor: z.strictObject({
      dtype: TensorDtypeSchema,
      shape: z.array(z.number().int().positive()).min(1).max(8),
      data: z.array(z.number()).max(LIMITS.maxTensorElements),
    }),
  }),
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
  /** Which backend produced it: 'vm' server or 'lambda' handler; coldStart only for lambda. */
  backend: z.object({ kind: z.enum(['vm', 'lambda']), id: z.string(), coldStart: z.boolean().optional() }),
});
export type BackendInferResponse = z.infer<typeof BackendInferResponseSchema>;

/** Every error reply, from every HTTP surface in Spillway. */
export const ErrorBodySchema = z.object({
  error: z.object({
    /** Stable machine-readable code, e.g. 'invalid_request', 'queue_full', 'deadline_exceeded'. */
    code: z.string(),
    /** Human message naming the field and the limit; never internals on 5xx. */
    message: z.string(),
    /** Dotted path of the offending field, when there is one. */
    field: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
