/**
 * Strict validation of a BackendInferRequest against the protocol schema AND the served variant:
 * unknown fields rejected, limits named in messages, base64 images decoded and sniffed, tensors
 * checked for dtype / shape / element count. Decide-only: returns engine inputs or throws a
 * ClientFacingError naming the field; does no inference.
 */
import sharp, { type Metadata } from 'sharp';
import type { z } from 'zod';
import type { EngineInput } from '../engine/engine-types.js';
import { type BackendInferRequest, BackendInferRequestSchema, LIMITS, TENSOR_DTYPE_BYTES, type TensorDtype } from '../engine/protocol.js';
import type { ModelVariant } from '../engine/registry-schema.js';
import { InvalidRequestError, UnknownModelError } from './errors.js';
import { SERVING_LIMITS } from './limits.js';
import { bytesToValues, decodeBase64Strict } from './tensor-base64.js';

export interface ValidatedRequest {
  request: BackendInferRequest;
  inputs: EngineInput[];
}

/** Where each limit lives, so a too_big message says which named limit was hit. */
const LIMIT_NAMES: Record<string, string> = {
  inputs: 'LIMITS.maxInputsPerRequest',
  topK: 'LIMITS.maxTopK',
  budgetMs: 'LIMITS.maxBudgetMs',
  data: 'LIMITS.maxTensorElements',
  dataBase64: 'LIMITS.maxTensorBase64Chars',
};

/** Max decoded bytes of a dataBase64 (3 bytes per 4 chars of LIMITS.maxTensorBase64Chars). */
const MAX_TENSOR_BASE64_BYTES = (LIMITS.maxTensorBase64Chars / 4) * 3;

/** A tensor's `dataBase64` after lifting: still text, or already decoded by fast-json.ts (raw bytes). */
type Base64Payload = string | Uint8Array;

type Issue = z.core.$ZodIssue;

function fieldOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** For the image|tensor union, report the branch the caller evidently meant (the key they used). */
function pickUnionIssue(issue: Issue & { code: 'invalid_union' }, root: unknown): Issue | undefined {
  const value = valueAt(root, issue.path);
  const branch = value !== null && typeof value === 'object' && 'tensor' in value ? 1 : 0;
  const candidates = issue.errors[branch] ?? issue.errors[0];
  if (!value || typeof value !== 'object' || (!('image' in value) && !('tensor' in value))) {
    return undefined; // neither key: say so plainly below
  }
  const first = candidates?.[0];
  return first ? { ...first, path: [...issue.path, ...first.path] } : undefined;
}

function describeIssue(issue: Issue, root: unknown): { field: string; message: string } {
  if (issue.code === 'invalid_union') {
    const inner = pickUnionIssue(issue as Issue & { code: 'invalid_union' }, root);
    if (inner) return describeIssue(inner, root);
    const field = fieldOf(issue.path);
    return {
      field,
      message: `${field || 'body'}: each input must be {"image": base64} or {"tensor": {dtype, shape, data | dataBase64}}`,
    };
  }
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (issue.path.length ? `${fieldOf(issue.path)}.${k}` : k));
    return { field: keys[0] ?? fieldOf(issue.path), message: `unknown field(s): ${keys.join(', ')}` };
  }
  const field = fieldOf(issue.path);
  const name = field || 'body';
  if (issue.code === 'too_big' || issue.code === 'too_small') {
    const last = String(issue.path[issue.path.length - 1] ?? '');
    const bound = issue.code === 'too_big' ? `at most ${issue.maximum}` : `at least ${issue.minimum}`;
    const unit = issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : '';
    const limitName = issue.code === 'too_big' && LIMIT_NAMES[last] ? ` (${LIMIT_NAMES[last]})` : '';
    return { field, message: `${name}: must be ${bound}${unit}${limitName}` };
  }
  if (issue.code === 'invalid_type') {
    return { field, message: `${name}: expected ${issue.expected}` };
  }
  return { field, message: `${name}: ${issue.message}` };
}

/**
 * zod checks a 150,528-number tensor array element by element with full issue bookkeeping: tens of
 * ms per request, more than the model itself (MobileNetV2 int8 is ~6 ms). So big `data` arrays are
 * taken out, checked here with one tight loop (finite numbers, at most LIMITS.maxTensorElements),
 * and put back after zod has checked everything else. Same rules, same field names in errors.
 */
function liftTensorData(raw: unknown): {
  rest: unknown;
  lifted: Map<number, ArrayLike<number>>;
  liftedB64: Map<number, Base64Payload>;
} {
  const lifted = new Map<number, ArrayLike<number>>();
  const liftedB64 = new Map<number, Base64Payload>();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { rest: raw, lifted, liftedB64 };
  const inputs = (raw as Record<string, unknown>)['inputs'];
  if (!Array.isArray(inputs) || inputs.length > LIMITS.maxInputsPerRequest) return { rest: raw, lifted, liftedB64 };
  const copy = inputs.map((inp, i) => {
    if (inp === null || typeof inp !== 'object') return inp;
    const tensor = (inp as Record<string, unknown>)['tensor'];
    if (tensor === null || typeof tensor !== 'object') return inp;
    inp = liftBase64(inp as Record<string, unknown>, tensor as Record<string, unknown>, i, liftedB64);
    const data = (tensor as Record<string, unknown>)['data'];
    // Float64Array: the server's fast body parser (fast-json.ts) already read the numbers.
    if (!Array.isArray(data) && !(data instanceof Float64Array)) return inp;
    const field = `inputs.${i}.tensor.data`;
    if (data.length > LIMITS.maxTensorElements) {
      throw new InvalidRequestError(`${field}: must be at most ${LIMITS.maxTensorElements} items (LIMITS.maxTensorElements)`, field);
    }
    for (let j = 0; j < data.length; j++) {
      const v = data[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new InvalidRequestError(`${field}.${j}: expected a finite number`, `${field}.${j}`);
      }
    }
    lifted.set(i, data as ArrayLike<number>);
    const t = (inp as Record<string, unknown>)['tensor'] as object;
    return { ...(inp as object), tensor: { ...t, data: [] } };
  });
  return { rest: { ...(raw as object), inputs: copy }, lifted, liftedB64 };
}

/**
 * Takes a (large) `dataBase64` out of zod's way too: zod would only check it is a string of at
 * most LIMITS.maxTensorBase64Chars, done here; the bytes are decoded and checked against dtype
 * and shape in checkTensor. fast-json.ts may already have decoded it (a Uint8Array).
 */
function liftBase64(
  inp: Record<string, unknown>,
  tensor: Record<string, unknown>,
  i: number,
  out: Map<number, Base64Payload>,
): Record<string, unknown> {
  const b64 = tensor['dataBase64'];
  const isBytes = b64 instanceof Uint8Array;
  if (typeof b64 !== 'string' && !isBytes) return inp;
  const field = `inputs.${i}.tensor.dataBase64`;
  if (isBytes ? b64.length > MAX_TENSOR_BASE64_BYTES : b64.length > LIMITS.maxTensorBase64Chars) {
    throw new InvalidRequestError(
      `${field}: must be at most ${LIMITS.maxTensorBase64Chars} characters (LIMITS.maxTensorBase64Chars)`,
      field,
    );
  }
  out.set(i, b64);
  return { ...inp, tensor: { ...tensor, dataBase64: '' } };
}

/** Schema check only (sync). Throws InvalidRequestError naming the first offending field. */
export function parseRequestShape(raw: unknown): BackendInferRequest {
  return parseRequestShapeLifted(raw).request;
}

/** parseRequestShape, plus each tensor's dataBase64 as lifted (text, or bytes from fast-json.ts). */
function parseRequestShapeLifted(raw: unknown): { request: BackendInferRequest; base64: Map<number, Base64Payload> } {
  const { rest, lifted, liftedB64 } = liftTensorData(raw);
  const parsed = BackendInferRequestSchema.safeParse(rest);
  if (parsed.success) {
    for (const [i, data] of lifted) {
      const inp = parsed.data.inputs[i];
      // Typed arrays are kept as they are (no copy); everything downstream reads ArrayLike<number>.
      if (inp && 'tensor' in inp) inp.tensor.data = data as number[];
    }
    for (const [i, b64] of liftedB64) {
      const inp = parsed.data.inputs[i];
      // The public field is a string; bytes pre-decoded by fast-json are re-encoded only if asked for.
      if (inp && 'tensor' in inp && typeof b64 === 'string') inp.tensor.dataBase64 = b64;
    }
    return { request: parsed.data, base64: liftedB64 };
  }
  const first = parsed.error.issues[0];
  if (!first) throw new InvalidRequestError('body: invalid request');
  const { field, message } = describeIssue(first, raw);
  throw new InvalidRequestError(message, field || undefined);
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;

function sniffImage(buf: Buffer): 'jpeg' | 'png' | 'webp' | undefined {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'png';
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP')
    return 'webp';
  return undefined;
}

export async function decodeImage(b64: string, field: string): Promise<Buffer> {
  if (b64.length > SERVING_LIMITS.maxImageBase64Chars) {
    throw new InvalidRequestError(
      `${field}: image is larger than ${LIMITS.maxImageBytes} bytes (LIMITS.maxImageBytes)`,
      field,
    );
  }
  const std = BASE64_RE.test(b64) && b64.length % 4 === 0;
  if (!std && !BASE64URL_RE.test(b64)) {
    throw new InvalidRequestError(`${field}: not valid base64`, field, { code: 'invalid_image' });
  }
  const buf = Buffer.from(b64, std ? 'base64' : 'base64url');
  if (buf.length === 0) throw new InvalidRequestError(`${field}: empty image`, field, { code: 'invalid_image' });
  if (buf.length > LIMITS.maxImageBytes) {
    throw new InvalidRequestError(`${field}: image is larger than ${LIMITS.maxImageBytes} bytes (LIMITS.maxImageBytes)`, field);
  }
  if (!sniffImage(buf)) {
    throw new InvalidRequestError(`${field}: not a JPEG, PNG or WebP image`, field, { code: 'invalid_image' });
  }
  let meta: Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: SERVING_LIMITS.maxImagePixels }).metadata();
  } catch (cause) {
    throw new InvalidRequestError(`${field}: image header cannot be decoded`, field, { cause, code: 'invalid_image' });
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels <= 0) throw new InvalidRequestError(`${field}: image has no pixels`, field, { code: 'invalid_image' });
  if (pixels > SERVING_LIMITS.maxImagePixels) {
    throw new InvalidRequestError(
      `${field}: image has ${pixels} pixels, more than ${SERVING_LIMITS.maxImagePixels} (SERVING_LIMITS.maxImagePixels)`,
      field,
    );
  }
  return buf;
}

/** Expected per-item tensor shape: the variant's input shape without the batch dimension (null = any). */
export function itemShape(variant: ModelVariant): readonly (number | null)[] {
  return variant.input.shape.slice(1);
}

function checkTensor(
  t: { dtype: TensorDtype; shape: number[]; data?: number[] | undefined },
  b64: Base64Payload | undefined,
  variant: ModelVariant,
  field: string,
): EngineInput {
  if (t.dtype !== variant.input.dtype) {
    throw new InvalidRequestError(
      `${field}.dtype: model '${variant.name}' takes ${variant.input.dtype}, got ${t.dtype}`,
      `${field}.dtype`,
    );
  }
  const want = itemShape(variant);
  const ok = t.shape.length === want.length && t.shape.every((d, i) => want[i] === null || want[i] === d);
  if (!ok) {
    const w = `[${want.map((d) => (d === null ? '?' : d)).join(',')}]`;
    throw new InvalidRequestError(
      `${field}.shape: model '${variant.name}' takes one item of shape ${w} (no batch dimension), got [${t.shape.join(',')}]`,
      `${field}.shape`,
    );
  }
  let count = 1;
  for (const d of t.shape) count *= d;
  if (count > LIMITS.maxTensorElements) {
    throw new InvalidRequestError(
      `${field}.shape: ${count} elements exceeds ${LIMITS.maxTensorElements} (LIMITS.maxTensorElements)`,
      `${field}.shape`,
    );
  }
  if (b64 !== undefined) return { tensor: { dtype: t.dtype, shape: t.shape, data: decodeTensor(b64, t.dtype, t.shape, count, field) } };
  if (!t.data) throw new InvalidRequestError(`${field}: exactly one of data or dataBase64 must be present`, field);
  if (t.data.length !== count) {
    throw new InvalidRequestError(
      `${field}.data: shape [${t.shape.join(',')}] needs ${count} elements, got ${t.data.length}`,
      `${field}.data`,
    );
  }
  if (t.dtype === 'uint8') {
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i]!;
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        throw new InvalidRequestError(`${field}.data.${i}: uint8 values must be integers 0..255`, `${field}.data.${i}`);
      }
    }
  }
  return { tensor: { dtype: t.dtype, shape: t.shape, data: t.data } };
}

/** dataBase64 -> typed values (no copy beyond the decode itself), or a 400 naming the field and the expected length. */
function decodeTensor(b64: Base64Payload, dtype: TensorDtype, shape: number[], count: number, field: string): Float32Array | Uint8Array {
  const f = `${field}.dataBase64`;
  const size = TENSOR_DTYPE_BYTES[dtype];
  const want = count * size;
  const bytes = typeof b64 === 'string' ? decodeBase64Strict(b64) : b64;
  if (!bytes) {
    throw new InvalidRequestError(`${f}: not valid base64 (alphabet A-Z a-z 0-9 + / or - _, '=' padded to a multiple of 4 chars)`, f);
  }
  if (bytes.length !== want) {
    throw new InvalidRequestError(
      `${f}: shape [${shape.join(',')}] ${dtype} needs ${want} bytes (${count} elements x ${size} bytes, little-endian), got ${bytes.length}`,
      f,
    );
  }
  const r = bytesToValues(bytes, dtype);
  if ('nonFiniteAt' in r) {
    throw new InvalidRequestError(`${f}: element ${r.nonFiniteAt} is NaN or infinite; finite numbers expected`, f);
  }
  return r.values;
}

/**
 * Full validation against the served variants. `variants` maps served names to their registry
 * entries; a model not in it is a 404 naming what is served.
 */
export async function validateInferRequest(
  raw: unknown,
  variants: ReadonlyMap<string, ModelVariant>,
): Promise<ValidatedRequest & { variant: ModelVariant }> {
  const { request, base64 } = parseRequestShapeLifted(raw);
  const variant = variants.get(request.model);
  if (!variant) throw new UnknownModelError(request.model, [...variants.keys()]);
  const inputs: EngineInput[] = [];
  for (let i = 0; i < request.inputs.length; i++) {
    const input = request.inputs[i]!;
    const field = `inputs.${i}`;
    if ('image' in input) {
      if (variant.preprocessing.kind !== 'image') {
        throw new InvalidRequestError(
          `${field}.image: model '${variant.name}' takes raw tensors only (no image preprocessing)`,
          `${field}.image`,
        );
      }
      inputs.push({ image: await decodeImage(input.image, `${field}.image`) });
    } else {
      inputs.push(checkTensor(input.tensor, base64.get(i), variant, `${field}.tensor`));
    }
  }
  return { request, inputs, variant };
}
