/**
 * Bounded request-body reader for node:http servers (the VM inference server and the controller's
 * public API). Fails fast with the caller's "too large" error (Content-Length first, then the
 * running size), and always settles: a client that hangs up mid-body may emit neither 'end' nor
 * 'error', only 'close', so that settles too and the chunks are released.
 * Errors come from the caller so each server keeps its own error classes and status mapping.
 */
import type { IncomingMessage } from 'node:http';

export interface BodyErrors {
  /** Body (declared or received) exceeds the limit: typically a 413. */
  tooLarge: (limitBytes: number) => Error;
  /** The stream failed or the client went away before the body was complete. */
  aborted: (cause: unknown) => Error;
}

export function readBodyLimited(
  req: IncomingMessage,
  limitBytes: number,
  errors: BodyErrors,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume(); // discard what arrives; the caller answers 413 and closes the connection
    return Promise.reject(errors.tooLarge(limitBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error) => {
      done = true;
      chunks.length = 0;
      reject(err);
    };
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limitBytes) {
        req.resume();
        fail(errors.tooLarge(limitBytes));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
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
