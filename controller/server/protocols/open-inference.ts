/**
 * Open Inference Protocol (KServe v2 / Triton) over REST, mapped onto Spillway's own dispatch:
 *   GET  /v2/health/live, /v2/health/ready      (no key: probes, like /healthz)
 *   GET  /v2                                    server metadata
 *   GET  /v2/models/{name}[/versions/1]         model metadata
 *   GET  /v2/models/{name}[/versions/1]/ready
 *   POST /v2/models/{name}[/versions/1]/infer   typed tensors, JSON or the binary-tensor extension
 * {name} is a variant (pinned) or a task (model-less extension: parameters slo_ms, min_accuracy,
 * budget_ms, top_k, accept_late; the name `spillway` takes the task from parameters.task).
 * Inputs: one tensor in the model's layout with the batch dimension first (each batch row is
 * dispatched as its own request, so rows may land on different backends), or a BYTES tensor of
 * encoded images (raw bytes in binary, base64 strings in JSON). Outputs: `scores` (FP32 [N,k]),
 * `classes` (INT64 [N,k]), `labels` (BYTES [N,k]); the `classification` output parameter (also on
 * the model's own output name) returns Triton's "score:index:label" BYTES strings.
 * Errors: {"error": "<message naming the field>"} with the status of Spillway's own error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { type InferInput, LIMITS } from '../../../functions/engine/protocol.js';
import type { ModelVariant } from '../../../functions/engine/registry-schema.js';
import { type DispatchDeps, dispatch } from '../dispatch.js';
import { ApiError } from '../errors.js';
import { closeAfterAnswer, parseJsonBody, readBody } from '../http-util.js';
import type { InferResponse } from '../schemas.js';
import { requireApiKey } from './api-key.js';
import {
  OIP_DATATYPE_OF,
  type OipOutputTensor,
  bytesPerElement,
  decodeBytesElements,
  dtypeOfOip,
  elementCount,
  encodeInferResponse,
  flattenData,
  splitBinaryBody,
} from './oip-tensors.js';
import { ProtocolRequestError, withFieldRenamed } from './protocol-error.js';
import { type ProtocolTarget, decodePathSegment, resolveTarget, servedTasks } from './targets.js';

export interface ProtocolDeps extends DispatchDeps {
  /** The public API key (as on /v1); undefined = no key required. */
  apiKey: Buffer | undefined;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
}

/** The model name whose task comes from `parameters.task` (model-less without a task-named URL). */
export const MODELLESS_MODEL_NAME = 'spillway';
export const SERVER_VERSION = '0.1.0';
export const OIP_EXTENSIONS = ['binary_tensor_data', 'classification', 'spillway_modelless'] as const;
const DEFAULT_OUTPUTS = ['scores', 'classes', 'labels'] as const;

const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

export const OipInferRequestSchema = z.object({
  id: z.string().max(256).optional(),
  parameters: z
    .looseObject({
      task: z.string().min(1).max(128).optional(),
      slo_ms: z.number().int().min(1).max(LIMITS.maxBudgetMs).optional(),
      min_accuracy: z.number().min(0).max(100).optional(),
      budget_ms: z.number().positive().max(LIMITS.maxBudgetMs).optional(),
      top_k: z.number().int().min(1).max(LIMITS.maxTopK).optional(),
      accept_late: z.boolean().optional(),
      binary_data_output: z.boolean().optional(),
    })
    .optional(),
  inputs: z
    .array(
      z.object({
        name: z.string().min(1).max(256),
        shape: z.array(z.number().int().nonnegative()).min(1).max(8),
        datatype: z.string().min(1).max(16),
        parameters: z.looseObject({ binary_data_size: z.number().int().nonnegative().optional() }).optional(),
        data: z.unknown().optional(),
      }),
    )
    .min(1)
    .max(1, 'exactly one input tensor: Spillway models take one input'),
  outputs: z
    .array(
      z.object({
        name: z.string().min(1).max(256),
        parameters: z
          .looseObject({
            binary_data: z.boolean().optional(),
            classification: z.number().int().min(1).max(LIMITS.maxTopK).optional(),
          })
          .optional(),
      }),
    )
    .max(8)
    .optional(),
});
export type OipInferRequest = z.infer<typeof OipInferRequestSchema>;

/** Model metadata: shapes with -1 for dynamic dimensions, OIP datatype names. */
export function modelMetadata(target: ProtocolTarget, name: string) {
  const outputs = [
    { name: 'scores', datatype: 'FP32', shape: [-1, -1] },
    { name: 'classes', datatype: 'INT64', shape: [-1, -1] },
    { name: 'labels', datatype: 'BYTES', shape: [-1, -1] },
  ];
  if (target.kind === 'task') {
    return {
      name,
      versions: ['1'],
      platform: 'spillway_modelless',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [-1] }],
      outputs,
    };
  }
  const v = target.served.variant;
  return {
    name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    // Batch first, always -1: each row is dispatched as its own request, so any batch size 1..16 works
    // even for a model exported with a fixed batch of 1.
    inputs: [
      {
        name: v.input.name,
        datatype: OIP_DATATYPE_OF[v.input.dtype],
        shape: v.input.shape.map((d, i) => (i === 0 || d === null ? -1 : d)),
      },
    ],
    outputs,
  };
}

function sendOip(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Routes /v2 and /v2/*; answers every error in the OIP shape. Returns false for other paths. */
export async function handleOpenInference(
  deps: ProtocolDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
  receivedAtMs: number,
  receivedPerfMs: number,
): Promise<boolean> {
  if (path !== '/v2' && !path.startsWith('/v2/')) return false;
  try {
    await route(deps, req, res, path, method, receivedAtMs, receivedPerfMs);
  } catch (err) {
    const e =
      err instanceof ApiError
        ? err
        : new ApiError(500, 'internal', 'internal error', undefined, undefined, { cause: err });
    if (e.status === 500) deps.log?.error({ err }, 'open inference route failed');
    closeAfterAnswer(req, res);
    const headers: Record<string, string> = {};
    if (e.retryAfterS !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(e.retryAfterS)));
    if (e.status === 405) headers.allow = path.endsWith('/infer') ? 'POST' : 'GET';
    sendOip(res, e.status, { error: e.message }, headers);
  }
  return true;
}

async function route(
  deps: ProtocolDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
  receivedAtMs: number,
  receivedPerfMs: number,
): Promise<void> {
  const variants = deps.runtime.variants;
  const onlyGet = () => {
    if (method !== 'GET' && method !== 'HEAD')
      throw new ApiError(405, 'method_not_allowed', `method ${method} not allowed; use GET`);
  };
  if (path === '/v2/health/live') {
    onlyGet();
    sendOip(res, 200, { live: true });
    return;
  }
  if (path === '/v2/health/ready') {
    onlyGet();
    const ready = variants.size > 0;
    sendOip(res, ready ? 200 : 503, ready ? { ready } : { error: 'no model variant is served' });
    return;
  }
  requireApiKey(req, deps.apiKey);
  if (path === '/v2') {
    onlyGet();
    sendOip(res, 200, { name: 'spillway', version: SERVER_VERSION, extensions: [...OIP_EXTENSIONS] });
    return;
  }
  const m = MODEL_ROUTE.exec(path);
  if (!m) throw new ProtocolRequestError(404, `no route ${method} ${path}; see /openapi.json`);
  const name = decodePathSegment(m[1]!, 'model_name');
  const version = m[2] === undefined ? undefined : decodePathSegment(m[2], 'model_version');
  const target =
    name === MODELLESS_MODEL_NAME && !variants.has(name)
      ? undefined
      : resolveTarget(variants, name, 'model', 'model_name');
  if (version !== undefined && version !== '1') {
    throw new ProtocolRequestError(
      404,
      `model_version: '${name}' has only version '1', got '${version}'`,
      'model_version',
    );
  }
  const action = m[3];
  if (action === '/infer') {
    if (method !== 'POST')
      throw new ApiError(405, 'method_not_allowed', `method ${method} not allowed; use POST`);
    const raw = await readBody(req, deps.maxBodyBytes, deps.bodyTimeoutMs);
    const header = req.headers['inference-header-content-length'];
    const { json, binary } = splitBinaryBody(raw, typeof header === 'string' ? header : undefined);
    const body = parseJsonBody(json, OipInferRequestSchema);
    const answer = await infer(deps, target, name, body, binary, receivedAtMs, receivedPerfMs);
    res.writeHead(200, {
      'content-type': answer.headerLength === undefined ? 'application/json' : 'application/octet-stream',
      'content-length': answer.body.length,
      ...(answer.headerLength === undefined
        ? {}
        : { 'inference-header-content-length': String(answer.headerLength) }),
    });
    res.end(answer.body);
    return;
  }
  onlyGet();
  if (action === '/ready') {
    // A served variant can always take requests (a VM or Lambda); a task is ready if it has one.
    sendOip(res, 200, { name, ready: true });
    return;
  }
  if (!target) {
    sendOip(res, 200, {
      name,
      versions: ['1'],
      platform: 'spillway_modelless',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [-1] }],
      outputs: modelMetadata({ kind: 'task', task: '' }, name).outputs,
      parameters: { tasks: servedTasks(variants).join(',') },
    });
    return;
  }
  sendOip(res, 200, modelMetadata(target, name));
}

interface RowPlan {
  rows: InferInput[];
}

/** Turns the one OIP input tensor into one internal input per batch row. */
export function inputRows(body: OipInferRequest, binary: Buffer, variant: ModelVariant | undefined): RowPlan {
  const input = body.inputs[0]!;
  const f = 'inputs.0';
  const kind = dtypeOfOip(input.datatype, `${f}.datatype`);
  const shape = input.shape;
  const batch = shape[0]!;
  if (batch < 1 || batch > LIMITS.maxInputsPerRequest) {
    throw new ProtocolRequestError(
      400,
      `${f}.shape: batch dimension (first) must be 1..${LIMITS.maxInputsPerRequest}, got ${batch}`,
      `${f}.shape`,
    );
  }
  const binarySize = input.parameters?.binary_data_size;
  if (binarySize !== undefined && input.data !== undefined) {
    throw new ProtocolRequestError(400, `${f}: give either data or parameters.binary_data_size, not both`, f);
  }
  if (binarySize === undefined && input.data === undefined) {
    throw new ProtocolRequestError(
      400,
      `${f}.data: missing (or set parameters.binary_data_size for binary data)`,
      `${f}.data`,
    );
  }
  if (binarySize !== undefined && binarySize !== binary.length) {
    throw new ProtocolRequestError(
      400,
      `${f}.parameters.binary_data_size: ${binarySize} bytes declared, ${binary.length} bytes follow the JSON header`,
      `${f}.parameters.binary_data_size`,
    );
  }
  if (binarySize === undefined && binary.length > 0) {
    throw new ProtocolRequestError(
      400,
      `Inference-Header-Content-Length: ${binary.length} binary bytes but no input declares binary_data_size`,
      'Inference-Header-Content-Length',
    );
  }

  if (kind === 'BYTES') {
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
      throw new ProtocolRequestError(
        400,
        `${f}.shape: a BYTES image input is [N] or [N,1] (one encoded image per row), got [${shape.join(',')}]`,
        `${f}.shape`,
      );
    }
    const images =
      binarySize !== undefined
        ? decodeBytesElements(binary, `${f}.data`).map((b) => b.toString('base64'))
        : (flattenData(input.data, 'string', `${f}.data`) as string[]);
    if (images.length !== batch) {
      throw new ProtocolRequestError(
        400,
        `${f}.data: shape [${shape.join(',')}] needs ${batch} image(s), got ${images.length}`,
        `${f}.data`,
      );
    }
    return { rows: images.map((image) => ({ image })) };
  }

  if (variant) {
    if (input.name !== variant.input.name) {
      throw new ProtocolRequestError(
        400,
        `${f}.name: model '${variant.name}' has input '${variant.input.name}' (or a BYTES image input), got '${input.name}'`,
        `${f}.name`,
      );
    }
    if (kind !== variant.input.dtype) {
      throw new ProtocolRequestError(
        400,
        `${f}.datatype: model '${variant.name}' takes ${OIP_DATATYPE_OF[variant.input.dtype]}, got ${input.datatype}`,
        `${f}.datatype`,
      );
    }
    const want = variant.input.shape;
    const fits =
      want.length === shape.length && want.every((d, i) => i === 0 || d === null || d === shape[i]);
    if (!fits) {
      throw new ProtocolRequestError(
        400,
        `${f}.shape: model '${variant.name}' takes [${want.map((d, i) => (i === 0 || d === null ? -1 : d)).join(',')}] (batch first, any batch 1..${LIMITS.maxInputsPerRequest}), got [${shape.join(',')}]`,
        `${f}.shape`,
      );
    }
  } else if (shape.length < 2) {
    throw new ProtocolRequestError(
      400,
      `${f}.shape: a tensor input needs the batch dimension first and the model's layout after it, got [${shape.join(',')}]`,
      `${f}.shape`,
    );
  }
  const rowShape = shape.slice(1);
  const perRow = elementCount(rowShape);
  if (
    perRow * batch > LIMITS.maxTensorElements * LIMITS.maxInputsPerRequest ||
    perRow > LIMITS.maxTensorElements
  ) {
    throw new ProtocolRequestError(
      400,
      `${f}.shape: at most ${LIMITS.maxTensorElements} elements per row, got ${perRow}`,
      `${f}.shape`,
    );
  }
  if (binarySize !== undefined) {
    const rowBytes = perRow * bytesPerElement(input.datatype);
    if (binary.length !== rowBytes * batch) {
      throw new ProtocolRequestError(
        400,
        `${f}.parameters.binary_data_size: shape [${shape.join(',')}] ${input.datatype} is ${rowBytes * batch} bytes, got ${binary.length}`,
        `${f}.parameters.binary_data_size`,
      );
    }
    const rows: InferInput[] = [];
    for (let r = 0; r < batch; r++) {
      const dataBase64 = binary.subarray(r * rowBytes, (r + 1) * rowBytes).toString('base64');
      rows.push({ tensor: { dtype: kind, shape: rowShape, dataBase64 } });
    }
    return { rows };
  }
  const values = flattenData(input.data, 'number', `${f}.data`) as number[];
  if (values.length !== perRow * batch) {
    throw new ProtocolRequestError(
      400,
      `${f}.data: shape [${shape.join(',')}] needs ${perRow * batch} values, got ${values.length}`,
      `${f}.data`,
    );
  }
  const rows: InferInput[] = [];
  for (let r = 0; r < batch; r++)
    rows.push({ tensor: { dtype: kind, shape: rowShape, data: values.slice(r * perRow, (r + 1) * perRow) } });
  return { rows };
}

interface OutputRequest {
  name: string;
  binary: boolean;
  classification?: number;
}

function outputRequests(body: OipInferRequest, variant: ModelVariant | undefined): OutputRequest[] {
  const binaryDefault = body.parameters?.binary_data_output ?? false;
  if (!body.outputs || body.outputs.length === 0)
    return DEFAULT_OUTPUTS.map((name) => ({ name, binary: binaryDefault }));
  const known = new Set<string>(DEFAULT_OUTPUTS);
  return body.outputs.map((o, i) => {
    const classification = o.parameters?.classification;
    const isModelOutput = variant !== undefined && o.name === variant.output.name;
    if (!known.has(o.name) && !isModelOutput) {
      throw new ProtocolRequestError(
        400,
        `outputs.${i}.name: unknown output '${o.name}'; outputs: ${[...known].join(', ')}${variant ? ` (or '${variant.output.name}' with parameters.classification)` : ''}`,
        `outputs.${i}.name`,
      );
    }
    if (isModelOutput && !known.has(o.name) && classification === undefined) {
      throw new ProtocolRequestError(
        400,
        `outputs.${i}.parameters.classification: '${o.name}' is served as top-k classes only; set classification (1..${LIMITS.maxTopK}) or ask for scores/classes/labels`,
        `outputs.${i}.parameters.classification`,
      );
    }
    return {
      name: o.name,
      binary: o.parameters?.binary_data ?? binaryDefault,
      ...(classification !== undefined ? { classification } : {}),
    };
  });
}

function outputTensor(req: OutputRequest, answers: readonly InferResponse[], k: number): OipOutputTensor {
  const n = answers.length;
  if (req.classification !== undefined) {
    const c = Math.min(req.classification, k);
    const values = answers.flatMap((a) =>
      a.predictions.slice(0, c).map((p) => `${p.score.toFixed(6)}:${p.index}:${p.label}`),
    );
    return { name: req.name, datatype: 'BYTES', shape: [n, c], values };
  }
  const top = answers.map((a) => a.predictions.slice(0, k));
  if (req.name === 'scores')
    return {
      name: req.name,
      datatype: 'FP32',
      shape: [n, k],
      values: top.flatMap((p) => p.map((x) => x.score)),
    };
  if (req.name === 'classes')
    return {
      name: req.name,
      datatype: 'INT64',
      shape: [n, k],
      values: top.flatMap((p) => p.map((x) => x.index)),
    };
  return {
    name: req.name,
    datatype: 'BYTES',
    shape: [n, k],
    values: top.flatMap((p) => p.map((x) => x.label)),
  };
}

async function infer(
  deps: ProtocolDeps,
  target: ProtocolTarget | undefined,
  name: string,
  body: OipInferRequest,
  binary: Buffer,
  receivedAtMs: number,
  receivedPerfMs: number,
): Promise<{ body: Buffer; headerLength?: number }> {
  const p = body.parameters ?? {};
  let resolved = target;
  if (!resolved) {
    if (p.task === undefined) {
      throw new ProtocolRequestError(
        400,
        `parameters.task: model '${MODELLESS_MODEL_NAME}' is model-less and needs a task; served: ${servedTasks(deps.runtime.variants).join(', ')}`,
        'parameters.task',
      );
    }
    resolved = { kind: 'task', task: p.task };
  }
  const variant = resolved.kind === 'variant' ? resolved.served.variant : undefined;
  const outputs = outputRequests(body, variant);
  const { rows } = inputRows(body, binary, variant);
  const wantK = Math.max(p.top_k ?? 0, ...outputs.map((o) => o.classification ?? 0)) || 5;
  const base = {
    sloMs: p.slo_ms ?? deps.runtime.env.sloMs,
    ...(p.budget_ms !== undefined ? { budgetMs: p.budget_ms } : {}),
    topK: wantK,
    ...(p.accept_late !== undefined ? { acceptLate: p.accept_late } : {}),
  };
  const answers = await Promise.all(
    rows.map((input) =>
      dispatch(
        deps,
        resolved.kind === 'variant'
          ? {
              ...base,
              task: resolved.served.info.task,
              input,
              minAccuracy: 0,
              variant: resolved.served.variant.name,
            }
          : { ...base, task: resolved.task, input, minAccuracy: p.min_accuracy ?? 0 },
        receivedAtMs,
        receivedPerfMs,
      ).catch((err: unknown) => {
        throw withFieldRenamed(err, (field) => field.replace(/^input(\.tensor|\.image)?/, 'inputs.0'));
      }),
    ),
  );
  const k = Math.min(...answers.map((a) => a.predictions.length));
  const uniq = (xs: string[]) => [...new Set(xs)].join(',');
  const header = {
    model_name: name,
    model_version: '1',
    ...(body.id !== undefined ? { id: body.id } : {}),
    parameters: {
      served_models: uniq(answers.map((a) => a.model)),
      backends: uniq(answers.map((a) => a.backend.kind)),
      backend_ids: uniq(answers.map((a) => a.backend.id)),
      weights: answers.some((a) => a.weights === 'synthetic') ? 'synthetic' : 'real',
      slo_ms: base.sloMs,
      slo_met: answers.every((a) => a.sloMet),
      total_ms: Math.max(...answers.map((a) => a.latency.totalMs)),
      request_ids: uniq(answers.map((a) => a.requestId)),
    },
  };
  return encodeInferResponse(
    header,
    outputs.map((o) => ({ tensor: outputTensor(o, answers, k), binary: o.binary })),
  );
}
