import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendResponseError } from '../../controller/errors.js';
import * as apiErrors from '../../controller/server/errors.js';
import { passThrough } from '../../controller/server/dispatch.js';
import { buildOpenApiDocument } from '../../controller/server/openapi.js';
import { ProtocolRequestError } from '../../controller/server/protocols/protocol-error.js';
import {
  ERROR_CODES,
  ERROR_CODE_NAMES,
  type ErrorCodeEntry,
  isErrorCode,
} from '../../functions/engine/error-codes.js';
import { ERROR_CODES_DOC_PATH, renderErrorCodesMarkdown } from '../../functions/engine/error-codes-doc.js';
import { ErrorBodySchema } from '../../functions/engine/protocol.js';
import { errorReply } from '../../functions/server/error-reply.js';
import * as servingErrors from '../../functions/server/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** Every folder whose code answers an HTTP client: the public API (+ protocols), VM server, Lambda handler. */
const SERVER_DIRS = ['controller/server', 'functions/server', 'functions/lambda'];

function sources(): Array<{ file: string; text: string }> {
  return SERVER_DIRS.flatMap((dir) =>
    (readdirSync(join(ROOT, dir), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(ROOT, dir, f), 'utf8') })),
  );
}

/** (status, code) pairs written literally: `new ApiError(503, 'x'`, `super(413, 'x'`, `new ClientFacingError(\n 499,\n 'x'`. */
function literalEmissions(): Array<{ file: string; status: number; code: string }> {
  const out: Array<{ file: string; status: number; code: string }> = [];
  for (const { file, text } of sources()) {
    for (const m of text.matchAll(
      /(?:new (?:ApiError|ClientFacingError)|super)\(\s*(\d{3}),\s*'([a-z_]+)'/g,
    )) {
      out.push({ file, status: Number(m[1]), code: m[2]! });
    }
    // InvalidRequestError's `code` option (always a 400) and the engine-error map in error-reply.ts.
    for (const m of text.matchAll(/new InvalidRequestError\([^;]*?\{[^}]*\bcode: '([a-z_]+)'/g)) {
      out.push({ file, status: 400, code: m[1]! });
    }
    for (const m of text.matchAll(/\{ status: (\d{3}), code: '([a-z_]+)' \}/g)) {
      out.push({ file, status: Number(m[1]), code: m[2]! });
    }
  }
  return out;
}

describe('error-code catalogue (functions/engine/error-codes.ts)', () => {
  it('docs/error-codes.md is the table generated from the catalogue (run `npm run docs:error-codes`)', () => {
    expect(readFileSync(ERROR_CODES_DOC_PATH, 'utf8')).toBe(renderErrorCodesMarkdown());
    for (const code of ERROR_CODE_NAMES) expect(renderErrorCodesMarkdown()).toContain(`| \`${code}\` |`);
  });

  it('every code the servers write literally is catalogued, with the catalogue status', () => {
    const found = literalEmissions();
    // 50 today: if the patterns stop matching the sources, fail instead of passing vacuously.
    expect(found.length).toBeGreaterThan(25);
    const wrong = found.filter((e) => !isErrorCode(e.code) || ERROR_CODES[e.code].status !== e.status);
    expect(wrong).toEqual([]);
  });

  it('every catalogued code is emitted somewhere in the server sources (no dead entries)', () => {
    const all = sources()
      .map((s) => s.text)
      .join('\n');
    expect(ERROR_CODE_NAMES.filter((c) => !all.includes(`'${c}'`))).toEqual([]);
  });

  it('the error classes send their catalogued status, and a Retry-After where the catalogue says', () => {
    const samples: Array<apiErrors.ApiError | servingErrors.ClientFacingError> = [
      new apiErrors.PayloadTooLargeError(1024),
      new apiErrors.BodyIncompleteError('slow'),
      new apiErrors.MethodNotAllowedError('PUT', ['POST']),
      new apiErrors.UnauthorizedError(),
      new apiErrors.NoCapacityError('busy', 3),
      new apiErrors.DeadlineError('late'),
      new apiErrors.ShuttingDownError(),
      new apiErrors.OverloadedError('full'),
      new ProtocolRequestError(400, 'bad'),
      new ProtocolRequestError(404, 'gone'),
      new servingErrors.InvalidRequestError('bad'),
      new servingErrors.InvalidRequestError('bad image', 'image', { code: 'invalid_image' }),
      new servingErrors.PayloadTooLargeError(1024),
      new servingErrors.UnsupportedMediaTypeError('text/plain'),
      new servingErrors.UnknownModelError('m', []),
      new servingErrors.QueueFullError(8, 2),
      new servingErrors.DrainingError(),
      new servingErrors.NotReadyError(),
      new servingErrors.DeadlineExceededError(100, 'queue'),
      new servingErrors.MethodNotAllowedError('PUT', 'POST'),
    ];
    for (const e of samples) {
      const entry: ErrorCodeEntry = ERROR_CODES[e.code];
      expect({ name: e.name, status: e.status }).toEqual({ name: e.name, status: entry.status });
      if (entry.retryAfterS === null) expect(e.retryAfterS, e.name).toBeUndefined();
      else if (entry.retryAfterS === 'varies') expect(e.retryAfterS, e.name).toBeGreaterThan(0);
      else expect(e.retryAfterS, e.name).toBe(entry.retryAfterS);
    }
  });

  it('engine errors and unexpected errors map to catalogued codes (VM server / Lambda reply mapper)', () => {
    const input = Object.assign(new Error('shape'), {
      name: 'InvalidInputError',
      field: 'inputs[0].tensor.shape',
    });
    const variant = Object.assign(new Error('no such'), { name: 'UnknownVariantError' });
    for (const err of [input, variant, new Error('boom')]) {
      const r = errorReply(err);
      expect(r.status).toBe(ERROR_CODES[ErrorBodySchema.parse(r.body).error.code].status);
    }
  });

  it("a backend's catalogued 4xx passes through; a foreign code (Lambda's own) becomes backend_rejected", () => {
    const ours = passThrough(
      new BackendResponseError('bad', 400, {
        error: { code: 'invalid_image', message: 'inputs.0.image: empty image', field: 'inputs.0.image' },
      }),
    );
    expect([ours.status, ours.code, ours.field, ours.message]).toEqual([
      400,
      'invalid_image',
      'input.image',
      'input.image: empty image',
    ]);
    const foreign = passThrough(
      new BackendResponseError('rejected', 413, {
        error: { code: 'RequestTooLargeException', message: 'Request must be smaller than 6291456 bytes' },
      }),
    );
    expect([foreign.status, foreign.code, foreign.message]).toEqual([
      413,
      'backend_rejected',
      'RequestTooLargeException: Request must be smaller than 6291456 bytes',
    ]);
  });

  it('the ErrorBody schema (and so /openapi.json) lists exactly the catalogued codes as an enum', () => {
    expect(ErrorBodySchema.safeParse({ error: { code: 'made_up', message: 'x' } }).success).toBe(false);
    const doc = buildOpenApiDocument({ apiKeyRequired: false }) as {
      components: {
        schemas: { ErrorBody: { properties: { error: { properties: { code: { enum: string[] } } } } } };
      };
    };
    expect(doc.components.schemas.ErrorBody.properties.error.properties.code.enum).toEqual(ERROR_CODE_NAMES);
  });
});
