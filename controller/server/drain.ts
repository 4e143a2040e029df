/**
 * Graceful shutdown for the public API server: every request the server accepted gets a complete
 * answer. drain(): stop listening (new connections are refused), close idle keep-alive sockets,
 * mark in-flight answers `Connection: close`, answer any request that still arrives on an open
 * connection with 503 shutting_down + `Connection: close`, and wait until the in-flight ones
 * finished or `timeoutMs` passed; then close every remaining connection. The caller stops the
 * backends (VMs, Lambda instances) only after drain() resolves, so in-flight requests keep them.
 *
 * It wraps the server's 'request' listeners instead of living in app.ts: draining is a
 * server-lifecycle concern, the same for any handler.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ShuttingDownError } from './errors.js';
import { closeAfterAnswer, sendError } from './http-util.js';

/**
 * How long idle keep-alive connections stay open after the in-flight requests finished: a client in
 * a request loop sends its next request within this (a loopback round trip is ~0.1 ms; 250 ms
 * covers a busy event loop) and gets a 503 + close instead of a reset.
 */
export const DRAIN_LINGER_MS = 250;

export interface DrainResult {
  /** Requests in flight when the drain began. */
  inFlightAtStart: number;
  /** Requests still unanswered when the bound ran out (their connections were closed). */
  abandoned: number;
  /** Requests refused with 503 during the drain (they arrived on an already-open connection). */
  refused: number;
  drainMs: number;
}

export interface DrainableServer {
  /** Requests accepted and not yet answered. */
  inFlight(): number;
  drain(timeoutMs: number, lingerMs?: number): Promise<DrainResult>;
}

/** Call after the request handlers are attached (createApiServer), before listen(). */
export function makeDrainable(server: Server): DrainableServer {
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  const open = new Set<ServerResponse>();
  let draining = false;
  let refused = 0;
  let onIdle: (() => void) | undefined;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (draining) {
      refused++;
      closeAfterAnswer(req, res);
      // Also when the request was read whole: the client must not reuse this connection.
      if (!res.headersSent) res.setHeader('connection', 'close');
      sendError(res, new ShuttingDownError());
      return;
    }
    open.add(res);
    // 'close' fires after the answer was flushed and also when the client went away first.
    res.once('close', () => {
      open.delete(res);
      if (open.size === 0) onIdle?.();
    });
    for (const h of handlers) h.call(server, req, res);
  });

  return {
    inFlight: () => open.size,
    drain(timeoutMs: number, lingerMs = DRAIN_LINGER_MS): Promise<DrainResult> {
      const t0 = performance.now();
      draining = true;
      const inFlightAtStart = open.size;
      // Answers not yet started tell the client this connection ends with them.
      for (const res of open) if (!res.headersSent) res.setHeader('connection', 'close');
      // Stop listening, but without the close of idle keep-alive sockets that server.close() does
      // (Node >= 19): a client writing its next request into such a socket at that instant gets a
      // reset, not an answer. Idle sockets stay open for lingerMs instead; a request arriving on one
      // gets 503 shutting_down + Connection: close, a complete answer the client can act on.
      const closeIdle = server.closeIdleConnections;
      server.closeIdleConnections = () => {};
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections = closeIdle;
      return new Promise<DrainResult>((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(bound);
          onIdle = undefined;
          const abandoned = open.size;
          server.closeAllConnections();
          void closed.then(() =>
            resolve({ inFlightAtStart, abandoned, refused, drainMs: Math.round(performance.now() - t0) }),
          );
        };
        const linger = () => {
          onIdle = undefined;
          setTimeout(() => {
            if (open.size === 0) finish();
            else onIdle = finish;
          }, Math.min(lingerMs, timeoutMs));
        };
        const bound = setTimeout(finish, timeoutMs);
        if (open.size === 0) linger();
        else onIdle = linger;
      });
    },
  };
}
