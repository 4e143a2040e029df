/**
 * The router's raw-image fast path (controller/server/raw-image-input.ts) must accept exactly
 * what the slow path (JSON.parse + the schema) accepts, with the same values, and forward the
 * image bytes so the VM parses the same string. Hand-picked edge cases, then randomised bodies
 * (whitespace, key order, extra keys, escapes, duplicates, truncation, byte flips).
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../controller/server/errors.js';
import { parseJsonBody } from '../../controller/server/http-util.js';
import {
  RawImageInput,
  encodeBackendBody,
  parseWithRawImage,
} from '../../controller/server/raw-image-input.js';
import {
  InferRequestSchema,
  MAX_IMAGE_BASE64_CHARS,
  ModelInferRequestSchema,
} from '../../controller/server/schemas.js';

const b64 = Buffer.from('a small not-really-jpeg payload for the fast path').toString('base64');

function slow(
  buf: Buffer,
  schema = InferRequestSchema as typeof InferRequestSchema | typeof ModelInferRequestSchema,
) {
  try {
    return { ok: true as const, value: JSON.parse(JSON.stringify(parseJsonBody(buf, schema))) };
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return { ok: false as const, err: err as ApiError };
  }
}

/** Fast path taken -> same value as the slow path; slow path refuses -> fast path not taken. */
function agrees(
  text: string | Buffer,
  schema = InferRequestSchema as typeof InferRequestSchema | typeof ModelInferRequestSchema,
): boolean {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const fast = parseWithRawImage(buf, schema);
  const s = slow(buf, schema);
  if (fast === undefined) return false;
  expect(s.ok, `fast path accepted a body the slow path refuses: ${buf.toString().slice(0, 120)}`).toBe(true);
  expect(JSON.parse(JSON.stringify(fast))).toEqual(s.ok ? s.value : undefined);
  expect(fast.input).toBeInstanceOf(RawImageInput);
  return true;
}

const good = (image = b64) =>
  JSON.stringify({ task: 'image-classification', input: { image }, sloMs: 200, minAccuracy: 0 });

describe('parseWithRawImage', () => {
  it('takes the fast path for the common body, with or without whitespace and in any key order', () => {
    expect(agrees(good())).toBe(true);
    expect(
      agrees(
        `  {\n "sloMs" : 200 ,"input":\t{ "image" :"${b64}" } , "task":"t", "minAccuracy":0, "topK": 3}\n`,
      ),
    ).toBe(true);
    expect(agrees(`{"input":{"image":"${b64}"},"sloMs":200}`, ModelInferRequestSchema)).toBe(true);
  });

  it('leaves everything unusual to the slow path', () => {
    const cases = [
      `{"task":"t","input":{"image":"a\\/b"},"sloMs":200,"minAccuracy":0}`, // escape in the image
      `{"task":"t","in\\u0070ut":{"image":"${b64}"},"sloMs":200,"minAccuracy":0}`, // escaped key
      `{"task":"t","input":{"image":"x"},"input":{"image":"${b64}"},"sloMs":200,"minAccuracy":0}`, // duplicate
      `{"task":"t","input":{"image":"${b64}","extra":1},"sloMs":200,"minAccuracy":0}`, // extra input key
      `{"task":"t","input":{"tensor":{"dtype":"uint8","shape":[1],"data":[1]}},"sloMs":200,"minAccuracy":0}`,
      `{"task":"t","input":{"image":""},"sloMs":200,"minAccuracy":0}`, // min(1)
      `{"task":"t","input":{"image":"${b64}"},"sloMs":-1,"minAccuracy":0}`, // schema error elsewhere
      `{"task":"t","input":{"image":"${b64}"},"sloMs":200,"minAccuracy":0`, // truncated
      `{"task":"t","input":{"image":"${b64}"},"sloMs":200,"minAccuracy":0}x`, // trailing garbage
      `[{"task":"t"}]`,
      `{"task":"t","input":{"image":"${b64}"},"sloMs":2e2,"minAccuracy":0,"bad":}`,
    ];
    for (const c of cases) expect(agrees(c), c.slice(0, 80)).toBe(false);
  });

  it('sends a too-long image to the slow path, which names the limit', () => {
    const long = good('A'.repeat(MAX_IMAGE_BASE64_CHARS + 4));
    expect(parseWithRawImage(Buffer.from(long), InferRequestSchema)).toBeUndefined();
    const s = slow(Buffer.from(long));
    expect(s.ok).toBe(false);
    expect(s.ok ? '' : s.err.field).toBe('input.image');
  });

  it('agrees with the slow path on randomised bodies (2,000 draws)', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    // Mostly the valid choice (first), so valid common bodies are frequent and variants of them probe the edges.
    const likely = <T>(xs: readonly T[]): T => (rnd() < 0.75 ? xs[0]! : pick(xs));
    const ws = () => pick(['', ' ', '\n', '\t ', '  ']);
    let fastTaken = 0;
    let refused = 0;
    for (let n = 0; n < 2000; n++) {
      const fields: string[] = [
        `"task"${ws()}:${ws()}${likely(['"image-classification"', '""', '7', 'null'])}`,
        `"input"${ws()}:${ws()}${likely([
          `{${ws()}"image"${ws()}:${ws()}"${b64}"${ws()}}`,
          `{"image":"${b64.slice(0, 1 + Math.floor(rnd() * b64.length))}"}`,
          `{"image":"a\\"b"}`,
          `{"image":7}`,
          `{"tensor":{"dtype":"uint8","shape":[2],"dataBase64":"AAA="}}`,
          `{"image":"${b64}","image":"x"}`,
        ])}`,
        `"sloMs"${ws()}:${ws()}${likely(['200', '0', '1.5', '"200"', '60000'])}`,
        `"minAccuracy":${likely(['0', '65', '101'])}`,
      ];
      if (rnd() < 0.3) fields.push(`"topK":${pick(['1', '5', '0', '1e1'])}`);
      if (rnd() < 0.1) fields.push(`"acceptLate":${pick(['true', 'false', '1'])}`);
      if (rnd() < 0.1) fields.push(`"extra":{"image":"${b64}"}`);
      if (rnd() < 0.1) fields.push(fields[0]!); // duplicate key
      fields.sort(() => rnd() - 0.5);
      let text = `${ws()}{${ws()}${fields.join(`${ws()},${ws()}`)}${ws()}}${ws()}`;
      const r = rnd();
      if (r < 0.08)
        text = text.slice(0, Math.floor(rnd() * text.length)); // truncated
      else if (r < 0.16) {
        const i = Math.floor(rnd() * text.length);
        text = text.slice(0, i) + pick(['{', '}', '"', ',', ':', '\\', ']']) + text.slice(i + 1); // one byte flipped
      }
      if (agrees(text)) fastTaken++;
      else if (!slow(Buffer.from(text)).ok) refused++;
    }
    // The generator makes plenty of valid common bodies: the fast path must actually be exercised.
    expect(fastTaken).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});

describe('encodeBackendBody', () => {
  it('writes the caller bytes and parses back to the same body', () => {
    const fast = parseWithRawImage(Buffer.from(good()), InferRequestSchema)!;
    const body = { model: 'm', inputs: [fast.input, { image: 'QUJD' }], topK: 2, budgetMs: 12.5 };
    const pieces = encodeBackendBody(body);
    expect(pieces).toContain(fast.input.json);
    const text = Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString();
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(body)));
    expect(JSON.parse(text).inputs[0]).toEqual({ image: b64 });
  });

  it('is JSON.stringify when nothing is raw, and a body of inputs alone still parses', () => {
    const body = { model: 'm', inputs: [{ image: 'QUJD' }] };
    expect(encodeBackendBody(body)).toEqual([JSON.stringify(body)]);
    const fast = parseWithRawImage(Buffer.from(good()), InferRequestSchema)!;
    const only = encodeBackendBody({ inputs: [fast.input] });
    expect(JSON.parse(only.map(String).join(''))).toEqual({ inputs: [{ image: b64 }] });
  });
});
