/**
 * The router's fast path for the common request, `{"task": ..., "input": {"image": "<base64>"}, ...}`:
 * the image is forwarded to the VM as the bytes the caller sent, never decoded into a JS string,
 * parsed or re-serialised. Measured on a 100 KB image (133 KB body): buf.toString 134 us,
 * JSON.parse 154 us, JSON.stringify of the backend body 181 us, its UTF-8 encoding for the socket
 * 70 us: ~540 us of the router's CPU per request that a bare proxy does not spend (it spends
 * ~300 us in all), so the router ran at 0.39x the bare proxy. Here the top-level keys are scanned
 * (strings are skipped with Buffer.indexOf, i.e. memchr), the input's byte range is cut out, and
 * JSON.parse only sees the rest (~100 bytes).
 *
 * Exactness: the fast path is taken only when the top-level `input` is exactly
 * `{"image": "<string without backslashes>"}` (whitespace allowed), every top-level key is
 * escape-free and appears once, and the string's byte length is within the schema's limits (a
 * UTF-8 string has at least as many bytes as UTF-16 code units, so `bytes <= max` implies
 * `length <= max`; longer ones take the slow path, which names the limit). Without backslashes the
 * bytes are the JSON string's content, so the VM's JSON.parse of the forwarded body yields the
 * same string the router's own would have. Anything else, including any body the rest-parse
 * rejects, goes through plain JSON.parse + the schema, so errors are the slow path's. One
 * difference: raw control characters inside the image (invalid JSON) are found by the VM's
 * JSON.parse rather than the router's, so the caller gets the VM's 400 invalid_json.
 */
import type { z } from 'zod';
import { MAX_IMAGE_BASE64_CHARS } from './schemas.js';

/** A request's `{"image": ...}` input held as the caller's JSON bytes. */
export class RawImageInput {
  /** The input object's JSON text exactly as sent: `{"image":"..."}`. */
  readonly json: Buffer;
  private readonly strStart: number;
  private readonly strEnd: number;
  private decoded: string | undefined;

  constructor(json: Buffer, strStart: number, strEnd: number) {
    this.json = json;
    this.strStart = strStart;
    this.strEnd = strEnd;
  }

  /** The base64 text; decoded on first use only (VM calls never need it; a Lambda call does). */
  get image(): string {
    this.decoded ??= this.json.toString('utf8', this.strStart, this.strEnd);
    return this.decoded;
  }

  /** JSON.stringify (Lambda payloads, logs) sees a plain `{image}`: the same JSON, re-encoded. */
  toJSON(): { image: string } {
    return { image: this.image };
  }
}

/** JSON whitespace: space, \n, \r, \t. */
const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipWs(b: Buffer, i: number): number {
  while (i < b.length && isWs(b[i])) i++;
  return i;
}

/** Index just past the closing quote of the string opening at b[i] === '"'; -1 if unterminated. */
function skipString(b: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, j);
    if (q < 0) return -1;
    let bs = 0;
    while (b[q - 1 - bs] === BACKSLASH) bs++;
    if (bs % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the JSON value starting at b[i]; -1 if malformed (the slow path then reports it). */
function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    let j = i;
    while (j < b.length) {
      const d = b[j]!;
      if (d === QUOTE) {
        j = skipString(b, j);
        if (j < 0) return -1;
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  // Number or literal: up to the next delimiter.
  let j = i;
  while (j < b.length && !isWs(b[j]) && b[j] !== 0x2c && b[j] !== 0x7d && b[j] !== 0x5d) j++;
  return j > i ? j : -1;
}

/** The byte ranges of each top-level key's value; undefined when the body is not a plain object of escape-free, unique keys. */
function topLevelValues(b: Buffer): Map<string, { start: number; end: number }> | undefined {
  const out = new Map<string, { start: number; end: number }>();
  let i = skipWs(b, 0);
  if (b[i] !== 0x7b) return undefined;
  i = skipWs(b, i + 1);
  if (b[i] === 0x7d) return skipWs(b, i + 1) === b.length ? out : undefined;
  for (;;) {
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = skipString(b, i);
    if (keyEnd < 0) return undefined;
    if (b.subarray(i + 1, keyEnd - 1).includes(BACKSLASH)) return undefined;
    const key = b.toString('utf8', i + 1, keyEnd - 1);
    if (out.has(key)) return undefined;
    i = skipWs(b, keyEnd);
    if (b[i] !== 0x3a) return undefined;
    const start = skipWs(b, i + 1);
    const end = skipValue(b, start);
    if (end < 0) return undefined;
    out.set(key, { start, end });
    i = skipWs(b, end);
    if (b[i] === 0x7d) return skipWs(b, i + 1) === b.length ? out : undefined;
    if (b[i] !== 0x2c) return undefined;
    i = skipWs(b, i + 1);
  }
}

/** `{"image": "..."}` at b[start, end): the string's content range, else undefined. */
function imageObject(
  b: Buffer,
  start: number,
  end: number,
): { strStart: number; strEnd: number } | undefined {
  let i = skipWs(b, start + 1);
  const key = '"image"';
  if (b.toString('latin1', i, i + key.length) !== key) return undefined;
  i = skipWs(b, i + key.length);
  if (b[i] !== 0x3a) return undefined;
  i = skipWs(b, i + 1);
  if (b[i] !== QUOTE) return undefined;
  const strEnd = b.indexOf(QUOTE, i + 1);
  if (strEnd < 0 || strEnd >= end) return undefined;
  if (b.subarray(i + 1, strEnd).includes(BACKSLASH)) return undefined;
  if (skipWs(b, strEnd + 1) !== end - 1 || b[end - 1] !== 0x7d) return undefined;
  return { strStart: i + 1, strEnd };
}

/**
 * Parses a public request body whose `input` may be an image: on the fast path `input` is a
 * RawImageInput; otherwise `undefined` is returned and the caller parses the body as before.
 * `schema` validates the rest (with a one-character stand-in image, which is always valid when the
 * real one passed the checks above, so the first schema issue is the slow path's first issue).
 */
export function parseWithRawImage<T extends z.ZodType>(
  buf: Buffer,
  schema: T,
): (z.infer<T> & { input: RawImageInput }) | undefined {
  const values = topLevelValues(buf);
  const range = values?.get('input');
  if (!range || buf[range.start] !== 0x7b) return undefined;
  const img = imageObject(buf, range.start, range.end);
  if (!img) return undefined;
  const bytes = img.strEnd - img.strStart;
  if (bytes < 1 || bytes > MAX_IMAGE_BASE64_CHARS) return undefined;
  let rest: unknown;
  try {
    const head = buf.toString('utf8', 0, range.start);
    const tail = buf.toString('utf8', range.end);
    rest = JSON.parse(`${head}{"image":"A"}${tail}`);
  } catch {
    return undefined;
  }
  const r = schema.safeParse(rest);
  if (!r.success) return undefined;
  const input = new RawImageInput(
    buf.subarray(range.start, range.end),
    img.strStart - range.start,
    img.strEnd - range.start,
  );
  return { ...(r.data as object), input } as z.infer<T> & { input: RawImageInput };
}

/**
 * A backend request body as the pieces to write: a RawImageInput goes out as its own bytes (no
 * copy: the pieces are written to the socket one after the other), everything else through
 * JSON.stringify. Without a RawImageInput this is exactly JSON.stringify(body).
 */
export function encodeBackendBody(body: { inputs: readonly unknown[] }): (string | Buffer)[] {
  if (!body.inputs.some((i) => i instanceof RawImageInput)) return [JSON.stringify(body)];
  const { inputs, ...rest } = body;
  const head = JSON.stringify(rest);
  const parts: (string | Buffer)[] = [head === '{}' ? '{"inputs":[' : `${head.slice(0, -1)},"inputs":[`];
  inputs.forEach((inp, k) => {
    if (k > 0) parts.push(',');
    parts.push(inp instanceof RawImageInput ? inp.json : JSON.stringify(inp));
  });
  parts.push(']}');
  return parts;
}
