/**
 * The input checks every CoordinationStore adapter applies before writing, so that the memory
 * store, the local HTTP store and DynamoDB refuse the same things with the same messages
 * (CoordinationInputError naming the field and the limit). Bodies are stored as JSON text: that is
 * what crosses the HTTP service and what DynamoDB holds, and it copies the value, so a caller that
 * mutates its object after publishing does not change what others read.
 */
import { CoordinationInputError, MAX_COORD_BODY_BYTES, type ObservationDoc } from './coordination-port.js';
import { checkTimeMs } from './lease.js';

/** Router ids go into DynamoDB sort keys (`obs#<routerId>#<seq>`): a safe, bounded alphabet. */
export const ROUTER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** JSON text of a body, refused when it is not JSON-encodable or exceeds MAX_COORD_BODY_BYTES. */
export function encodeBody(field: string, body: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (cause) {
    throw new CoordinationInputError(`${field}: must be JSON-encodable (${(cause as Error).message})`, {
      cause,
    });
  }
  if (text === undefined)
    throw new CoordinationInputError(`${field}: required (any JSON value; null is allowed)`);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_COORD_BODY_BYTES) {
    throw new CoordinationInputError(
      `${field}: ${bytes} bytes of JSON exceeds the limit of ${MAX_COORD_BODY_BYTES} bytes (DynamoDB's 400 KB item limit less 8 KB for the other attributes)`,
    );
  }
  return text;
}

export function checkObservation(doc: ObservationDoc): void {
  if (typeof doc.routerId !== 'string' || !ROUTER_ID_PATTERN.test(doc.routerId)) {
    throw new CoordinationInputError(
      `routerId: must match ${ROUTER_ID_PATTERN} (got ${JSON.stringify(doc.routerId)})`,
    );
  }
  if (!Number.isSafeInteger(doc.seq) || doc.seq < 1) {
    throw new CoordinationInputError(`seq: must be an integer >= 1 (got ${String(doc.seq)})`);
  }
  checkTimeMs('fromMs', doc.fromMs);
  checkTimeMs('toMs', doc.toMs);
  if (doc.toMs < doc.fromMs)
    throw new CoordinationInputError(`toMs: must be >= fromMs (${doc.toMs} < ${doc.fromMs})`);
}

/** A per-router cursor map: router id -> last seq consumed (0 = none). */
export function checkCursors(field: string, cursors: Readonly<Record<string, number>>): void {
  if (typeof cursors !== 'object' || cursors === null)
    throw new CoordinationInputError(`${field}: must be an object of routerId -> seq`);
  for (const [routerId, seq] of Object.entries(cursors)) {
    if (!ROUTER_ID_PATTERN.test(routerId))
      throw new CoordinationInputError(`${field}.${routerId}: router id must match ${ROUTER_ID_PATTERN}`);
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new CoordinationInputError(`${field}.${routerId}: must be an integer >= 0 (got ${String(seq)})`);
  }
}

/** Oldest first: by interval end, then router, then seq (a router's ticks end later as seq grows, so its docs stay in seq order). */
export function compareObservations(a: ObservationDoc, b: ObservationDoc): number {
  return a.toMs - b.toMs || (a.routerId < b.routerId ? -1 : a.routerId > b.routerId ? 1 : 0) || a.seq - b.seq;
}
