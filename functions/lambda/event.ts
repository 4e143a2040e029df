/**
 * Tolerant event reader: API Gateway v1 (REST), v2 (HTTP API), Function URL (v2 shape, often
 * isBase64Encoded) or a direct Invoke payload that IS the BackendInferRequest. Decide-only:
 * returns the raw JSON value to validate, or throws a ClientFacingError (405/413/415/400).
 */
import { InvalidRequestError, MethodNotAllowedError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

export type EventKind = 'apigw-v1' | 'apigw-v2' | 'invoke';

export interface ReadEvent {
  kind: EventKind;
  payload: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function eventKind(event: unknown): EventKind {
  if (!isObj(event)) return 'invoke';
  const rc = event['requestContext'];
  if (event['version'] === '2.0' || (isObj(rc) && isObj(rc['http']))) return 'apigw-v2';
  if (typeof event['httpMethod'] === 'string' || (isObj(rc) && 'resourceId' in rc)) return 'apigw-v1';
  return 'invoke';
}

function header(event: Obj, name: string): string | undefined {
  const h = event['headers'];
  if (!isObj(h)) return undefined;
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name && typeof v === 'string') return v;
  return undefined;
}

export function readEvent(event: unknown, maxBodyBytes: number): ReadEvent {
  const kind = eventKind(event);
  if (kind === 'invoke') {
    // A direct Invoke payload arrives already parsed; a JSON string payload is parsed once more.
    if (typeof event === 'string') return { kind, payload: parseJson(event) };
    return { kind, payload: event };
  }
  const e = event as Obj;
  const rc = isObj(e['requestContext']) ? e['requestContext'] : {};
  const method = kind === 'apigw-v2' ? (isObj(rc['http']) ? rc['http']['method'] : undefined) : e['httpMethod'];
  if (typeof method === 'string' && method.toUpperCase() !== 'POST') throw new MethodNotAllowedError(method, 'POST');
  const ct = header(e, 'content-type');
  if (ct && !/json/i.test(ct)) throw new UnsupportedMediaTypeError(ct);
  const body = e['body'];
  if (body === undefined || body === null || body === '') throw new InvalidRequestError('body: required (JSON BackendInferRequest)', 'body');
  if (typeof body !== 'string') throw new InvalidRequestError('body: must be a JSON string', 'body');
  // base64 inflates 3 bytes to 4 chars: 8 MB of base64 is 6 MB decoded.
  const decodedBytes = e['isBase64Encoded'] === true ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
  if (decodedBytes > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
  const text = e['isBase64Encoded'] === true ? Buffer.from(body, 'base64').toString('utf8') : body;
  return { kind, payload: parseJson(text) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InvalidRequestError('body: not valid JSON', 'body', { cause, code: 'invalid_json' });
  }
}
