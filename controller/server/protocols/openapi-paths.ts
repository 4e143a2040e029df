/**
 * The foreign protocols' part of /openapi.json: the Open Inference Protocol (KServe v2 / Triton)
 * routes and SageMaker InvokeEndpoint, with their own request, response and error shapes. The
 * request schema is the one open-inference.ts validates with, so the document cannot drift from it.
 */
import { z } from 'zod';
import { OipInferRequestSchema } from './open-inference.js';
import { SAGEMAKER_IMAGE_TYPES, SageMakerJsonBodySchema } from './sagemaker.js';

const OipTensorSchema = z.object({
  name: z.string(),
  datatype: z.enum(['FP32', 'INT64', 'BYTES']),
  shape: z.array(z.number().int().nonnegative()),
  parameters: z.object({ binary_data_size: z.number().int().nonnegative().optional() }).optional(),
  /** Absent when the tensor travels as raw bytes after the JSON header (binary-tensor extension). */
  data: z.array(z.union([z.number(), z.string()])).optional(),
});

export const OipInferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  /** Spillway's own facts: which variants, backends and latency served the rows, SLO met or not. */
  parameters: z.object({
    served_models: z.string(),
    backends: z.string(),
    backend_ids: z.string(),
    weights: z.enum(['real', 'synthetic']),
    slo_ms: z.number(),
    slo_met: z.boolean(),
    total_ms: z.number(),
    request_ids: z.string(),
  }),
  outputs: z.array(OipTensorSchema),
});

const OipTensorMetadataSchema = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()),
});
export const OipModelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(OipTensorMetadataSchema),
  outputs: z.array(OipTensorMetadataSchema),
  parameters: z.record(z.string(), z.string()).optional(),
});
export const OipServerMetadataSchema = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});
/** OIP's error shape: one message naming the field. */
export const OipErrorSchema = z.object({ error: z.string() });
/** SageMaker's error body (the type is in the x-amzn-ErrorType header). */
export const SageMakerErrorSchema = z.object({
  message: z.string(),
  OriginalStatusCode: z.number().int().optional(),
  OriginalMessage: z.string().optional(),
});

/** The component schemas these paths refer to; openapi.ts renders them next to its own. */
export const PROTOCOL_COMPONENTS = {
  OipInferRequest: { schema: OipInferRequestSchema, io: 'input' },
  OipInferResponse: { schema: OipInferResponseSchema, io: 'output' },
  OipModelMetadata: { schema: OipModelMetadataSchema, io: 'output' },
  OipServerMetadata: { schema: OipServerMetadataSchema, io: 'output' },
  OipError: { schema: OipErrorSchema, io: 'output' },
  SageMakerJsonBody: { schema: SageMakerJsonBodySchema, io: 'input' },
  SageMakerError: { schema: SageMakerErrorSchema, io: 'output' },
} as const;

const ref = (name: keyof typeof PROTOCOL_COMPONENTS | 'InferResponse') => ({
  $ref: `#/components/schemas/${name}`,
});
const jsonOf = (name: Parameters<typeof ref>[0]) => ({ 'application/json': { schema: ref(name) } });
const oipError = (description: string) => ({ description, content: jsonOf('OipError') });
const sageMakerError = (description: string) => ({
  description,
  headers: { 'x-amzn-ErrorType': { schema: { type: 'string' } } },
  content: jsonOf('SageMakerError'),
});
const modelName = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'A served variant, or a task (model-less).',
  schema: { type: 'string' },
};
const modelVersion = { name: 'version', in: 'path', required: true, schema: { type: 'string', enum: ['1'] } };

function oipModelPaths(prefix: string, withVersion: boolean, security: unknown[]): Record<string, unknown> {
  const parameters = withVersion ? [modelName, modelVersion] : [modelName];
  const suffix = withVersion ? ' (version 1 is the only one)' : '';
  return {
    [prefix]: {
      get: {
        operationId: withVersion ? 'oipModelVersionMetadata' : 'oipModelMetadata',
        summary: `Open Inference Protocol model metadata${suffix}`,
        security,
        parameters,
        responses: {
          '200': {
            description: 'Inputs and outputs with OIP datatypes; batch dimension -1',
            content: jsonOf('OipModelMetadata'),
          },
          '401': oipError('Missing or wrong API key.'),
          '404': oipError('Unknown model or version; the message lists what is served.'),
        },
      },
    },
    [`${prefix}/ready`]: {
      get: {
        operationId: withVersion ? 'oipModelVersionReady' : 'oipModelReady',
        security,
        parameters,
        responses: {
          '200': { description: 'The model can take requests' },
          '401': oipError('Missing or wrong API key.'),
          '404': oipError('Unknown model.'),
        },
      },
    },
    [`${prefix}/infer`]: {
      post: {
        operationId: withVersion ? 'oipModelVersionInfer' : 'oipInfer',
        summary: `Open Inference Protocol inference${suffix}: typed tensors (JSON or the binary-tensor extension), or BYTES images`,
        description:
          'Each batch row is dispatched as its own request. Model-less extension: name a task as the model and give parameters slo_ms, min_accuracy, budget_ms, top_k.',
        security,
        parameters,
        requestBody: {
          required: true,
          content: {
            ...jsonOf('OipInferRequest'),
            'application/octet-stream': {
              description:
                'Binary-tensor extension: the JSON header (Inference-Header-Content-Length bytes), then raw tensor bytes.',
              schema: { type: 'string', format: 'binary' },
            },
          },
        },
        responses: {
          '200': {
            description: 'Outputs scores (FP32), classes (INT64), labels (BYTES), [N,k] each',
            content: jsonOf('OipInferResponse'),
          },
          '400': oipError(
            'Invalid request: the message names the field (inputs.0.shape, parameters.slo_ms, ...).',
          ),
          '401': oipError('Missing or wrong API key.'),
          '404': oipError('Unknown model; the message lists served models and tasks.'),
          '413': oipError('Body larger than the configured limit.'),
          '502': oipError('Every backend tried failed.'),
          '503': oipError('No backend can take the request now; retry after Retry-After seconds.'),
          '504': oipError('No backend answered within the budget.'),
        },
      },
    },
  };
}

/**
 * The /v2 and /endpoints paths; `keySecurity` is the document's API-key requirement. These routes
 * also take the key as `Authorization: Bearer` (api-key.ts), for clients that set no custom header.
 */
export function protocolPaths(keySecurity: unknown[]): Record<string, unknown> {
  const security = keySecurity.length > 0 ? [...keySecurity, { bearer: [] }] : [];
  const probe = (operationId: string, what: string) => ({
    get: {
      operationId,
      summary: `Open Inference Protocol ${what} probe (no key)`,
      responses: { '200': { description: what } },
    },
  });
  return {
    '/v2/health/live': probe('oipLive', 'liveness'),
    '/v2/health/ready': probe('oipReady', 'readiness'),
    '/v2': {
      get: {
        operationId: 'oipServerMetadata',
        security,
        responses: {
          '200': { description: 'Server name, version and extensions', content: jsonOf('OipServerMetadata') },
          '401': oipError('Missing or wrong API key.'),
        },
      },
    },
    ...oipModelPaths('/v2/models/{name}', false, security),
    ...oipModelPaths('/v2/models/{name}/versions/{version}', true, security),
    '/endpoints/{name}/invocations': {
      post: {
        operationId: 'sageMakerInvokeEndpoint',
        summary: 'SageMaker Runtime InvokeEndpoint: the endpoint name is a variant or a task',
        description:
          'X-Amzn-SageMaker-Custom-Attributes: slo_ms, min_accuracy, top_k, budget_ms (k=v, comma or semicolon separated). ' +
          'The API key goes in x-api-key or Authorization: Bearer.',
        security,
        parameters: [
          {
            name: 'name',
            in: 'path',
            required: true,
            description: 'EndpointName: a served variant, or a task (model-less).',
            schema: { type: 'string' },
          },
          {
            name: 'X-Amzn-SageMaker-Custom-Attributes',
            in: 'header',
            required: false,
            schema: { type: 'string' },
          },
        ],
        requestBody: {
          required: true,
          content: {
            ...Object.fromEntries(
              SAGEMAKER_IMAGE_TYPES.map((t) => [t, { schema: { type: 'string', format: 'binary' } }]),
            ),
            ...jsonOf('SageMakerJsonBody'),
          },
        },
        responses: {
          '200': {
            description:
              "Spillway's answer; x-Amzn-Invoked-Production-Variant names the variant that served it",
            headers: { 'x-Amzn-Invoked-Production-Variant': { schema: { type: 'string' } } },
            content: jsonOf('InferResponse'),
          },
          '400': sageMakerError(
            'ValidationError: the message names the field (Body, ContentType, Accept, the custom attribute).',
          ),
          '401': sageMakerError('AccessDeniedException: missing or wrong API key.'),
          '413': sageMakerError('ValidationError: body larger than the configured limit.'),
          '424': sageMakerError(
            'ModelError: every backend failed (OriginalStatusCode 502) or none answered in the budget (504).',
          ),
          '500': sageMakerError('InternalFailure.'),
          '503': sageMakerError(
            'ServiceUnavailable: no backend can take the request now; retry after Retry-After seconds.',
          ),
        },
      },
    },
  };
}
