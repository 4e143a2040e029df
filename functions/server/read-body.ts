/**
 * Bounded request-body reader for node:http servers (the VM inference server and the controller's
 * public API). Fails fast with the caller's "too large" error (Content-Length first, then the
 * running size), fails with its "timed out" error when the whole body has not arrived within
 * `timeoutMs` (a slow or truncated upload must not hold the connection until some later deadline),
 * and always settles: a client that hangs up mid-body may emit neither 'end' nor 'error', only
 * 'close', so that settles too and the chunks are released.
 * It never drains a refused body: the caller answers with `Connection: close` and the socket is
 * closed after the answer, so a 50 MB upload is not read to its end (see closeAfterAnswer).
 * Errors come from the caller so each server keeps its own error classes and status mapping.
 */
import type { IncomingMessage } from 'node:http';

export interface BodyErrors {
  /** Body (declared or received) exceeds the limit: typically a 413. */
  tooLarge: (limitBytes: number) => Error;
  /** The stream failed or the client went away before the body was complete. */
  aborted: (cause: unknown) => Error;
  /** The body did not arrive completely within `timeoutMs`. */
  timedOut?: (timeoutMs: number) => Error;
}

export function readBodyLimited(
  req: IncomingMessage,
  limitBytes: number,
  errors: BodyErrors,
  timeoutMs?: number,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    // Not read at all: the caller answers 413 with `Connection: close`.
    return Promise.reject(errors.tooLarge(limitBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer =
      timeoutMs !== undefined && errors.timedOut
        ? setTimeout(() => {
            if (!done) fail(errors.timedOut!(timeoutMs));
          }, timeoutMs)
        : undefined;
    timer?.unref();
    const fail = (err: Error) => {
      done = true;
      clearTimeout(timer);
      chunks.length = 0;
      req.pause(); // stop pulling bytes off the socket; the caller closes it after answering
      reject(err);
    };
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limitBytes) {
        fail(errors.tooLarge(limitBytes));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (cause) => {
      if (!done) fail(errors.aborted(cause));
    });
    req.on('close', () => {
      if (!done) fail(errors.aborted(undefined));
    });
  });
}
