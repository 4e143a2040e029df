/**
 * The public API key, as the protocol routes accept it: `x-api-key` (as on /v1) or
 * `Authorization: Bearer <key>` (clients that can set a bearer token but no custom header).
 * A SigV4 `Authorization` header (boto3, AWS CLI) is not a key: those clients add `x-api-key`
 * with an event hook (see controller/README.md).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.js';

function same(got: string | undefined, key: Buffer): boolean {
  if (got === undefined) return false;
  const b = Buffer.from(got);
  return b.length === key.length && timingSafeEqual(b, key);
}

/** Throws 401 unless the request carries the key; no-op when no key is configured. */
export function requireApiKey(req: IncomingMessage, key: Buffer | undefined): void {
  if (!key) return;
  const header = req.headers['x-api-key'];
  if (same(typeof header === 'string' ? header : undefined, key)) return;
  const auth = req.headers.authorization;
  const bearer = auth && /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  if (same(bearer || undefined, key)) return;
  throw new ApiError(
    401,
    'unauthorized',
    'missing or invalid API key: send x-api-key (or Authorization: Bearer <key>)',
  );
}
