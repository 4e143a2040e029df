/**
 * SageMaker Runtime InvokeEndpoint wire format: POST /endpoints/{EndpointName}/invocations, the
 * body is the raw payload with its Content-Type, so boto3's `sagemaker-runtime` client and
 * `aws sagemaker-runtime invoke-endpoint --endpoint-url` work against Spillway.
 * - EndpointName: a served variant (pinned) or a task (model-less, default SLO).
 * - Content-Type: image/jpeg | image/png | image/webp | application/x-image (the image bytes), or
 *   application/json: Spillway's body ({"input": ..., "sloMs"?, "minAccuracy"?, "topK"?,
 *   "budgetMs"?}) or a bare tensor ({"dtype", "shape", "data" | "dataBase64"}).
 * - X-Amzn-SageMaker-Custom-Attributes: `slo_ms=200,min_accuracy=60,top_k=3,budget_ms=150,accept_late=1`.
 * - Answer: Spillway's InferResponse JSON (Accept: application/json or any), with
 *   x-Amzn-Invoked-Production-Variant = the variant that served it.
 * - Errors: x-amzn-ErrorType (ValidationError 400, ModelError 424 with OriginalStatusCode,
 *   ServiceUnavailable 503, InternalFailure 500) and {"message"}, which botocore turns into a
 *   ClientError naming the field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { LIMITS, TensorInputSchema } from '../../../functions/engine/protocol.js';
import { dispatch } from '../dispatch.js';
import { ApiError } from '../errors.js';
import { closeAfterAnswer, parseJsonBody, readBody } from '../http-util.js';
import { PublicInputSchema } from '../schemas.js';
import { requireApiKey } from './api-key.js';
import type { ProtocolDeps } from './open-inference.js';
import { ProtocolRequestError, withFieldRenamed } from './protocol-error.js';
import { decodePathSegment, resolveTarget } from './targets.js';

const ROUTE = /^\/endpoints\/([^/]+)\/invocations$/;
export const SAGEMAKER_IMAGE_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'application/x-image',
] as const;

/** application/json body: Spillway's own fields (no task: the endpoint name says it). */
export const SageMakerJsonBodySchema = z.strictObject({
  input: PublicInputSchema,
  sloMs: z.number().int().min(1).max(LIMITS.maxBudgetMs).optional(),
  minAccuracy: z.number().min(0).max(100).optional(),
  budgetMs: z.number().positive().max(LIMITS.maxBudgetMs).optional(),
  topK: z.number().int().min(1).max(LIMITS.maxTopK).optional(),
  acceptLate: z.boolean().optional(),
});
const JsonBodySchema = z.union([SageMakerJsonBodySchema, TensorInputSchema]);

export interface CustomAttributes {
  acceptLate?: number;
  sloMs?: number;
  minAccuracy?: number;
  topK?: number;
  budgetMs?: number;
}

const ATTRIBUTE_RULES: Record<
  string,
  { key: keyof CustomAttributes; min: number; max: number; int: boolean }
> = {
  slo_ms: { key: 'sloMs', min: 1, max: LIMITS.maxBudgetMs, int: true },
  min_accuracy: { key: 'minAccuracy', min: 0, max: 100, int: false },
  top_k: { key: 'topK', min: 1, max: LIMITS.maxTopK, int: true },
  budget_ms: { key: 'budgetMs', min: 1, max: LIMITS.maxBudgetMs, int: false },
  /** 1: late is better than nothing (wait past the budget, take a late cold start). */
  accept_late: { key: 'acceptLate', min: 0, max: 1, int: true },
};
const ATTR = 'X-Amzn-SageMaker-Custom-Attributes';

/** Parses `k=v` pairs separated by `,` or `;` (SageMaker passes the header through verbatim). */
export function parseCustomAttributes(header: string | undefined): CustomAttributes {
  const out: CustomAttributes = {};
  if (!header) return out;
  for (const part of header.split(/[,;]/)) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const k = (eq < 0 ? item : item.slice(0, eq)).trim();
    const rule = ATTRIBUTE_RULES[k];
    if (!rule) {
      throw new ProtocolRequestError(
        400,
        `${ATTR}: unknown attribute '${k.slice(0, 40)}'; known: ${Object.keys(ATTRIBUTE_RULES).join(', ')}`,
        `${ATTR}.${k.slice(0, 40)}`,
      );
    }
    const raw = eq < 0 ? '' : item.slice(eq + 1).trim();
    const v = Number(raw);
    if (
      raw === '' ||
      !Number.isFinite(v) ||
      v < rule.min ||
      v > rule.max ||
      (rule.int && !Number.isInteger(v))
    ) {
      throw new ProtocolRequestError(
        400,
        `${ATTR}: ${k} must be ${rule.int ? 'an integer' : 'a number'} in ${rule.min}..${rule.max}, got '${raw.slice(0, 40)}'`,
        `${ATTR}.${k}`,
      );
    }
    out[rule.key] = v;
  }
  return out;
}

/** SageMaker's error shape for a Spillway error. */
export function sageMakerError(e: ApiError): { status: number; type: string; body: Record<string, unknown> } {
  if (e.status === 401) return { status: 401, type: 'AccessDeniedException', body: { message: e.message } };
  if (e.status < 500)
    return { status: e.status === 413 ? 413 : 400, type: 'ValidationError', body: { message: e.message } };
  if (e.status === 503) return { status: 503, type: 'ServiceUnavailable', body: { message: e.message } };
  if (e.status === 500) return { status: 500, type: 'InternalFailure', body: { message: e.message } };
  // 502/504: the backends (the "model container") failed or did not answer in time.
  return {
    status: 424,
    type: 'ModelError',
    body: { message: e.message, OriginalStatusCode: e.status, OriginalMessage: e.message },
  };
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Routes /endpoints/{name}/invocations; answers every error in SageMaker's shape. */
export async function handleSageMaker(
  deps: ProtocolDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
  receivedAtMs: number,
  receivedPerfMs: number,
): Promise<boolean> {
  if (!path.startsWith('/endpoints/')) return false;
  try {
    requireApiKey(req, deps.apiKey);
    const m = ROUTE.exec(path);
    if (!m)
      throw new ProtocolRequestError(
        404,
        `no route ${method} ${path}; InvokeEndpoint is POST /endpoints/{EndpointName}/invocations`,
      );
    if (method !== 'POST')
      throw new ApiError(405, 'method_not_allowed', `method ${method} not allowed; use POST`);
    const name = decodePathSegment(m[1]!, 'EndpointName');
    const target = resolveTarget(deps.runtime.variants, name, 'endpoint', 'EndpointName');
    const accept = mediaType(req.headers.accept);
    if (accept && accept !== 'application/json' && accept !== '*/*') {
      throw new ProtocolRequestError(
        400,
        `Accept: Spillway answers application/json, got '${accept}'`,
        'Accept',
      );
    }
    const attrs = parseCustomAttributes(
      req.headers['x-amzn-sagemaker-custom-attributes'] as string | undefined,
    );
    const contentType = mediaType(req.headers['content-type']);
    const raw = await readBody(req, deps.maxBodyBytes, deps.bodyTimeoutMs);
    let fields: Omit<CustomAttributes, 'acceptLate'> & { input: z.infer<typeof PublicInputSchema>; acceptLate?: boolean };
    if ((SAGEMAKER_IMAGE_TYPES as readonly string[]).includes(contentType)) {
      if (raw.length === 0) throw new ProtocolRequestError(400, 'Body: empty image', 'Body');
      if (raw.length > LIMITS.maxImageBytes) {
        throw new ProtocolRequestError(
          400,
          `Body: image of ${raw.length} bytes exceeds ${LIMITS.maxImageBytes} bytes`,
          'Body',
        );
      }
      fields = { input: { image: raw.toString('base64') } };
    } else if (contentType === 'application/json') {
      const body = parseJsonBody(raw, JsonBodySchema);
      fields = 'input' in body ? body : { input: { tensor: body } };
    } else {
      throw new ProtocolRequestError(
        400,
        `ContentType: '${contentType || '(none)'}' is not supported; use ${SAGEMAKER_IMAGE_TYPES.join(', ')} or application/json`,
        'ContentType',
      );
    }
    const sloMs = attrs.sloMs ?? fields.sloMs ?? deps.runtime.env.sloMs;
    const budgetMs = attrs.budgetMs ?? fields.budgetMs;
    const topK = attrs.topK ?? fields.topK;
    const common = {
      input: fields.input,
      sloMs,
      ...(budgetMs !== undefined ? { budgetMs } : {}),
      ...(topK !== undefined ? { topK } : {}),
      ...(attrs.acceptLate !== undefined
        ? { acceptLate: attrs.acceptLate === 1 }
        : fields.acceptLate !== undefined
          ? { acceptLate: fields.acceptLate }
          : {}),
    };
    const answer = await dispatch(
      deps,
      target.kind === 'variant'
        ? { ...common, task: target.served.info.task, minAccuracy: 0, variant: target.served.variant.name }
        : { ...common, task: target.task, minAccuracy: attrs.minAccuracy ?? fields.minAccuracy ?? 0 },
      receivedAtMs,
      receivedPerfMs,
    ).catch((err: unknown) => {
      // The image is the whole body here; a tensor keeps its JSON field names.
      throw withFieldRenamed(err, (field) => (field.startsWith('input.image') ? 'Body' : field));
    });
    const text = JSON.stringify(answer);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-invoked-production-variant': answer.model,
      'x-amzn-requestid': answer.requestId,
    });
    res.end(text);
  } catch (err) {
    const e =
      err instanceof ApiError
        ? err
        : new ApiError(500, 'internal', 'internal error', undefined, undefined, { cause: err });
    if (e.status === 500) deps.log?.error({ err }, 'sagemaker route failed');
    closeAfterAnswer(req, res);
    const shaped = sageMakerError(e);
    const text = JSON.stringify(shaped.body);
    if (!res.headersSent) {
      res.writeHead(shaped.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'x-amzn-errortype': shaped.type,
        ...(e.retryAfterS !== undefined
          ? { 'retry-after': String(Math.max(0, Math.ceil(e.retryAfterS))) }
          : {}),
        ...(e.status === 405 ? { allow: 'POST' } : {}),
      });
      res.end(text);
    }
  }
  return true;
}
