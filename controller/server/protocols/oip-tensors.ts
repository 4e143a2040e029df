/**
 * Open Inference Protocol (KServe v2 / Triton) tensor encoding, pure: datatype names, the
 * binary-tensor extension's body layout (JSON header of `Inference-Header-Content-Length` bytes,
 * then each binary tensor's raw little-endian bytes in input order), BYTES elements (4-byte
 * little-endian length + bytes) and output tensors. No I/O here; open-inference.ts does the HTTP.
 */
import type { TensorDtype } from '../../../functions/engine/protocol.js';
import { ProtocolRequestError } from './protocol-error.js';

/** OIP datatype names Spillway models take, and the internal dtype each maps to. */
export const OIP_DATATYPE_OF: Readonly<Record<TensorDtype, string>> = {
  float32: 'FP32',
  uint8: 'UINT8',
  float16: 'FP16',
};
const DTYPE_OF_OIP: Readonly<Record<string, TensorDtype>> = {
  FP32: 'float32',
  UINT8: 'uint8',
  FP16: 'float16',
};
/** Every datatype name in the OIP spec: anything else is a typo, not merely unsupported. */
const KNOWN_OIP_DATATYPES = new Set([
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BF16',
  'BYTES',
]);
const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { FP32: 4, UINT8: 1, FP16: 2, INT64: 8 };

export function dtypeOfOip(datatype: string, field: string): TensorDtype | 'BYTES' {
  if (datatype === 'BYTES') return 'BYTES';
  const d = DTYPE_OF_OIP[datatype];
  if (d) return d;
  const why = KNOWN_OIP_DATATYPES.has(datatype) ? 'not supported' : 'not an Open Inference Protocol datatype';
  throw new ProtocolRequestError(
    400,
    `${field}: datatype '${datatype}' is ${why}; use FP32, UINT8 or FP16 (the model's own), or BYTES for encoded images`,
    field,
  );
}

/** Splits a body into its JSON header and the binary tail (binary-tensor extension). */
export function splitBinaryBody(
  body: Buffer,
  headerLength: string | undefined,
): { json: Buffer; binary: Buffer } {
  if (headerLength === undefined) return { json: body, binary: Buffer.alloc(0) };
  const n = Number(headerLength);
  if (!Number.isInteger(n) || n < 0 || n > body.length) {
    throw new ProtocolRequestError(
      400,
      `Inference-Header-Content-Length: must be an integer between 0 and the body length ${body.length}, got '${headerLength}'`,
      'Inference-Header-Content-Length',
    );
  }
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

/** BYTES elements on the wire: each a 4-byte little-endian length, then that many bytes. */
export function decodeBytesElements(raw: Buffer, field: string): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < raw.length) {
    if (at + 4 > raw.length)
      throw new ProtocolRequestError(400, `${field}: truncated BYTES element length at byte ${at}`, field);
    const len = raw.readUInt32LE(at);
    at += 4;
    if (at + len > raw.length) {
      throw new ProtocolRequestError(
        400,
        `${field}: BYTES element of ${len} bytes overruns the tensor's ${raw.length} bytes`,
        field,
      );
    }
    out.push(raw.subarray(at, at + len));
    at += len;
  }
  return out;
}

export function encodeBytesElements(items: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of items) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function bytesPerElement(datatype: string): number {
  return BYTES_PER_ELEMENT[datatype] ?? 0;
}

/** Flattens OIP JSON `data` (flat or nested row-major arrays) checking every leaf's type. */
export function flattenData(data: unknown, leaf: 'number' | 'string', field: string): Array<number | string> {
  const out: Array<number | string> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (typeof v !== leaf) {
      throw new ProtocolRequestError(
        400,
        `${field}: element ${out.length} must be a ${leaf}, got ${JSON.stringify(v)?.slice(0, 40)}`,
        field,
      );
    }
    out.push(v as number | string);
  };
  walk(data);
  return out;
}

export interface OipOutputTensor {
  name: string;
  datatype: 'FP32' | 'INT64' | 'BYTES';
  shape: number[];
  /** Row-major values. */
  values: number[] | string[];
}

/** Raw little-endian bytes of an output tensor (binary-tensor extension). */
export function encodeOutputBinary(t: OipOutputTensor): Buffer {
  if (t.datatype === 'BYTES') return encodeBytesElements(t.values as string[]);
  if (t.datatype === 'FP32') return Buffer.from(new Float32Array(t.values as number[]).buffer);
  const a = new BigInt64Array(t.values.length);
  for (let i = 0; i < a.length; i++) a[i] = BigInt(t.values[i] as number);
  return Buffer.from(a.buffer);
}

/**
 * The response body: plain JSON, or (when any output is binary) the JSON header followed by the
 * binary outputs in order, with the header's length for `Inference-Header-Content-Length`.
 */
export function encodeInferResponse(
  header: Record<string, unknown>,
  outputs: ReadonlyArray<{ tensor: OipOutputTensor; binary: boolean }>,
): { body: Buffer; headerLength?: number } {
  const blobs: Buffer[] = [];
  const json = outputs.map(({ tensor, binary }) => {
    const base = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape };
    if (!binary) return { ...base, data: tensor.values };
    const blob = encodeOutputBinary(tensor);
    blobs.push(blob);
    return { ...base, parameters: { binary_data_size: blob.length } };
  });
  const head = Buffer.from(JSON.stringify({ ...header, outputs: json }), 'utf8');
  if (blobs.length === 0) return { body: head };
  return { body: Buffer.concat([head, ...blobs]), headerLength: head.length };
}
