/**
 * The server's fast tensor-body parser must be indistinguishable from JSON.parse: same values
 * (bit for bit, -0 included), same acceptance, an error exactly when JSON.parse throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../functions/server/fast-json.js';

/** JSON.parse result with typed arrays turned into plain arrays, for deep comparison. */
function normalise(v: unknown): unknown {
  if (v instanceof Float64Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

function sameAsJsonParse(text: string): void {
  let expected: unknown;
  let expectedErr = false;
  try {
    expected = JSON.parse(text);
  } catch {
    expectedErr = true;
  }
  if (expectedErr) {
    expect(() => parseJsonBody(Buffer.from(text), { minFastBytes: 0 })).toThrow(SyntaxError);
    return;
  }
  const got = normalise(parseJsonBody(Buffer.from(text), { minFastBytes: 0 }));
  expect(got).toEqual(expected);
  // toEqual treats -0 and 0 alike; check bit patterns of every number too.
  const flat = (x: unknown): number[] =>
    typeof x === 'number' ? [x] : Array.isArray(x) ? x.flatMap(flat) : x && typeof x === 'object' ? Object.values(x).flatMap(flat) : [];
  expect(flat(got).map((n) => Object.is(n, -0))).toEqual(flat(expected).map((n) => Object.is(n, -0)));
}

const body = (data: string, extra = '') =>
  `{"model":"m","inputs":[{"tensor":{"dtype":"float32","shape":[3],"data":${data}}}${extra}],"topK":5}`;

describe('parseJsonBody (fast tensor path)', () => {
  it('equals JSON.parse on stringified doubles (fast-check, 2,000 arrays)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 40 }), (xs) => {
        sameAsJsonParse(body(JSON.stringify(xs)));
      }),
      { numRuns: 2000 },
    );
  });

  it('equals JSON.parse on hand-written decimals: short, long, exponents, whitespace', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('', '-'),
            fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,20}$/)),
            fc.option(fc.stringMatching(/^[0-9]{1,22}$/)),
            fc.option(fc.stringMatching(/^[eE][+-]?[0-9]{1,3}$/)),
            fc.constantFrom('', ' ', '\n', '\t '),
          ),
          { maxLength: 30 },
        ),
        (parts) => {
          const nums = parts.map(([s, i, f, e, ws]) => `${ws}${s}${i}${f ? `.${f}` : ''}${e ?? ''}${ws}`);
          sameAsJsonParse(body(`[${nums.join(',')}]`));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('falls back to JSON.parse semantics for non-JSON numbers and odd placements', () => {
    const cases = [
      '[01]', '[1.]', '[.5]', '[-]', '[1,]', '[,1]', '[1 2]', '[1e]', '[1e999]', '[-0, 0, -0.0]', '[]', '[ ]',
      '["1"]', '[[1]]', '[1, null]', '[Infinity]', '[NaN]', '[0x10]', '[+1]', '[1', '[1,2', '[1]]',
    ];
    for (const c of cases) sameAsJsonParse(body(c));
    // "data" keys elsewhere, duplicated, or inside strings.
    sameAsJsonParse('{"data":[1,2],"inputs":[]}');
    sameAsJsonParse('{"inputs":[{"tensor":{"data":[1],"data":[2,3]}}]}');
    sameAsJsonParse('{"model":"\\"data\\":[1]","inputs":[{"tensor":{"data":[4]}}]}');
    sameAsJsonParse(body('[1,2,3]', ',{"tensor":{"dtype":"uint8","shape":[2],"data":[7, 8]}}'));
    expect(() => parseJsonBody(Buffer.from('{"inputs":[{"tensor":{"data":[1,'), { minFastBytes: 0 })).toThrow(SyntaxError);
  });

  it('returns tensor data as Float64Array on the fast path and plain JSON below the size threshold', () => {
    const text = body('[1.5,-2,3.25]');
    const fast = parseJsonBody(Buffer.from(text), { minFastBytes: 0 }) as { inputs: { tensor: { data: unknown } }[] };
    expect(fast.inputs[0]!.tensor.data).toBeInstanceOf(Float64Array);
    const plain = parseJsonBody(Buffer.from(text)) as { inputs: { tensor: { data: unknown } }[] };
    expect(Array.isArray(plain.inputs[0]!.tensor.data)).toBe(true);
  });
});
