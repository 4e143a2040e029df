/**
 * OpenAPI 3.1 document generated from the zod schemas in schemas.ts (z.toJSONSchema, draft
 * 2020-12, which is OpenAPI 3.1's dialect). Requests use the schemas' input side, responses the
 * output side, so optional-with-default fields are documented the way each direction sees them.
 */
import { z } from 'zod';
import { PROTOCOL_COMPONENTS, protocolPaths } from './protocols/openapi-paths.js';
import {
  ErrorBodySchema,
  HealthResponseSchema,
  HistoryResponseSchema,
  InferRequestSchema,
  InferResponseSchema,
  ModelInferRequestSchema,
  ModelsResponseSchema,
  ReclaimRequestSchema,
  ReclaimResponseSchema,
  StatusResponseSchema,
} from './schemas.js';

function component(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const errorResponse = (description: string) => ({ description, content: json('ErrorBody') });

function inferResponses(): Record<string, unknown> {
  return {
    '200': {
      description: 'Answered; says which variant and backend served it, with the latency breakdown.',
      content: json('InferResponse'),
    },
    '400': errorResponse('Invalid request: the message names the field and the limit.'),
    '401': errorResponse('Missing or wrong x-api-key.'),
    '404': errorResponse('Unknown task or model.'),
    '413': errorResponse('Request body larger than the configured limit.'),
    '415': errorResponse('Content-Type is not application/json.'),
    '422': errorResponse(
      'slo_unattainable: sloMs (or budgetMs) is below the fastest any backend can answer this task (p99 on an idle VM or warm Lambda instance); the message names the field and that figure. Not retryable.',
    ),
    '503': {
      description:
        'No backend can take the request within its budget now (Lambda throttled or at its concurrency, no VM fits, or only a cold start that would miss the deadline: one instance is then warmed without the request); retry after Retry-After seconds, or send acceptLate: true to take a late cold start.',
      headers: { 'Retry-After': { schema: { type: 'integer', minimum: 0 } } },
      content: json('ErrorBody'),
    },
    '502': errorResponse('Every backend tried failed (e.g. function errors); retry later.'),
    '504': errorResponse('No backend answered within the request\'s budget (sloMs, or the backend timeout with acceptLate); the backend call was abandoned.'),
  };
}

export function buildOpenApiDocument(opts: {
  serverUrl?: string;
  apiKeyRequired: boolean;
}): Record<string, unknown> {
  const security = opts.apiKeyRequired ? [{ apiKey: [] }] : [];
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Spillway inference API',
      version: '0.1.0',
      description:
        'Model-less inference: name a task, a latency SLO and a minimum accuracy; Spillway picks the variant and serves it on a VM or spills to Lambda.',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    paths: {
      '/v1/infer': {
        post: {
          operationId: 'infer',
          summary: 'Model-less inference',
          security,
          requestBody: { required: true, content: json('InferRequest') },
          responses: inferResponses(),
        },
      },
      '/v1/models/{name}/infer': {
        post: {
          operationId: 'inferModel',
          summary: 'Model-specific inference (variant pinned)',
          security,
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: json('ModelInferRequest') },
          responses: inferResponses(),
        },
      },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          security,
          responses: {
            '200': { description: 'Variants served', content: json('ModelsResponse') },
            '401': errorResponse('Missing or wrong x-api-key.'),
          },
        },
      },
      '/v1/status': {
        get: {
          operationId: 'status',
          security,
          responses: {
            '200': {
              description: 'Fleet, plan, traffic split, forecast, cost',
              content: json('StatusResponse'),
            },
            '401': errorResponse('Missing or wrong x-api-key.'),
          },
        },
      },
      '/v1/history': {
        get: {
          operationId: 'history',
          summary: 'The last hour, one sample per control tick, and the last decisions in plain words (what the dashboard at / draws)',
          security,
          parameters: [
            {
              name: 'since',
              in: 'query',
              required: false,
              description: 'Only samples and decisions after this time (ms since the epoch): poll with the last sample\'s atMs.',
              schema: { type: 'number' },
            },
          ],
          responses: {
            '200': { description: 'Samples oldest first, and decisions', content: json('HistoryResponse') },
            '400': errorResponse('since is not a number.'),
            '401': errorResponse('Missing or wrong x-api-key.'),
          },
        },
      },
      '/v1/vms/{id}/reclaim': {
        post: {
          operationId: 'reclaimVm',
          summary: "Local world: give a Spot VM EC2's interruption notice (it is killed noticeMs later; the router moves its share, the planner replaces it)",
          security,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: false, content: json('ReclaimRequest') },
          responses: {
            '200': { description: 'Notice given', content: json('ReclaimResponse') },
            '400': errorResponse('Invalid body: the message names the field and the limit.'),
            '401': errorResponse('Missing or wrong x-api-key.'),
            '404': errorResponse('No running VM with that id, or a world that injects no faults (AWS).'),
            '409': errorResponse('not_spot: the VM is on-demand.'),
          },
        },
      },
      '/': {
        get: {
          operationId: 'dashboard',
          summary: 'The live dashboard: one HTML page (no key needed to load it; its data calls need the key, which it asks for once per session)',
          responses: { '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      '/dashboard/echarts.min.js': {
        get: {
          operationId: 'dashboardCharts',
          summary: 'The charting library the dashboard draws with (echarts), served by the controller so the page needs no other host',
          responses: { '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } } },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          responses: { '200': { description: 'Alive', content: json('HealthResponse') } },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          responses: {
            '200': {
              description: 'Prometheus text format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: { operationId: 'openapi', responses: { '200': { description: 'This document' } } },
      },
      // Open Inference Protocol (KServe v2 / Triton) and SageMaker InvokeEndpoint, same key.
      ...protocolPaths(security),
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        InferRequest: component(InferRequestSchema, 'input'),
        ModelInferRequest: component(ModelInferRequestSchema, 'input'),
        InferResponse: component(InferResponseSchema, 'output'),
        ModelsResponse: component(ModelsResponseSchema, 'output'),
        StatusResponse: component(StatusResponseSchema, 'output'),
        HistoryResponse: component(HistoryResponseSchema, 'output'),
        HealthResponse: component(HealthResponseSchema, 'output'),
        ReclaimRequest: component(ReclaimRequestSchema, 'input'),
        ReclaimResponse: component(ReclaimResponseSchema, 'output'),
        ErrorBody: component(ErrorBodySchema, 'output'),
        ...Object.fromEntries(
          Object.entries(PROTOCOL_COMPONENTS).map(([name, c]) => [name, component(c.schema, c.io)]),
        ),
      },
    },
  };
}
