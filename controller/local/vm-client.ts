/**
 * HttpVmClient: calls a VM inference server's POST /v1/infer. Used for local and EC2 VMs alike.
 * node:http with one keep-alive agent (no per-request TCP handshake; the router's added latency
 * budget is <= 1 ms p99) and no validation of the reply beyond JSON parsing: the server is ours
 * and validates what it sends.
 *
 * Failure mapping (controller/errors.ts), so the router can decide the fallback:
 * - no answer within timeoutMs                       -> BackendTimeoutError
 * - ECONNREFUSED / ECONNRESET / socket hang up / EPIPE -> BackendUnavailableError (safe to retry elsewhere)
 * - non-2xx status                                    -> BackendResponseError(status, parsed body)
 */
import { Agent, request } from 'node:http';
import type { BackendInferRequestInput, BackendInferResponse } from '../../functions/engine/protocol.js';
import { INTERNAL_TOKEN_HEADER } from '../../functions/server/internal-token.js';
import { BackendResponseError, BackendTimeoutError, BackendUnavailableError } from '../errors.js';
import type { VmClientPort } from '../ports.js';
import { encodeBackendBody } from '../server/raw-image-input.js';

export interface HttpVmClientOptions {
  /** Sockets kept per VM; beyond it requests queue in the agent. Default 64. */
  maxSocketsPerVm?: number;
  /** Idle keep-alive sockets are closed after this (must be below the server's keepAliveTimeout, 5 s in Node). */
  freeSocketTimeoutMs?: number;
  /** Sent with every call (functions/server/internal-token.ts); the VMs of a local stack require it. */
  internalToken?: string;
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export class HttpVmClient implements VmClientPort {
  readonly agent: Agent;
  private readonly tokenHeader: Record<string, string>;

  constructor(opts: HttpVmClientOptions = {}) {
    this.tokenHeader = opts.internalToken ? { [INTERNAL_TOKEN_HEADER]: opts.internalToken } : {};
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: opts.maxSocketsPerVm ?? 64,
      // Shorter than Node's default server keepAliveTimeout (5 s): we drop idle sockets before the
      // server does, avoiding the race where a request is written on a socket the server just closed.
      timeout: opts.freeSocketTimeoutMs ?? 4_000,
      scheduling: 'lifo',
    });
  }

  infer(endpoint: string, body: BackendInferRequestInput, timeoutMs: number): Promise<BackendInferResponse> {
    // The body's pieces (a forwarded image is its caller's bytes, raw-image-input.ts), written in turn.
    const pieces = encodeBackendBody(body);
    let contentLength = 0;
    for (const p of pieces) contentLength += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
    return new Promise<BackendInferResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      let url: URL;
      try {
        url = new URL('/v1/infer', endpoint);
      } catch (err) {
        reject(new BackendUnavailableError(`invalid VM endpoint '${endpoint}'`, { cause: err }));
        return;
      }
      const req = request(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': contentLength, ...this.tokenHeader },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => fail(new BackendUnavailableError(`VM ${endpoint} reset the reply: ${err.message}`, { cause: err })));
          res.on('end', () => {
            if (settled) return;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch (err) {
              parsed = text;
              if ((res.statusCode ?? 0) < 300) {
                fail(new BackendResponseError(`VM ${endpoint} answered ${res.statusCode} with invalid JSON`, res.statusCode ?? 0, text, { cause: err }));
                return;
              }
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              settled = true;
              clearTimeout(timer);
              resolve(parsed as BackendInferResponse);
            } else {
              const msg = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? String(text).slice(0, 200);
              fail(new BackendResponseError(`VM ${endpoint} answered ${status}: ${msg}`, status, parsed));
            }
          });
        },
      );
      const timer = setTimeout(() => {
        fail(new BackendTimeoutError(`VM ${endpoint} did not answer within ${timeoutMs} ms`, timeoutMs));
        // The socket may carry a late reply; destroy it rather than return it to the pool.
        req.destroy();
      }, timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        if ((err.code && UNAVAILABLE_CODES.has(err.code)) || err.message === 'socket hang up') {
          fail(new BackendUnavailableError(`VM ${endpoint} unavailable: ${err.code ?? err.message}`, { cause: err }));
        } else {
          fail(new BackendUnavailableError(`VM ${endpoint} request failed: ${err.message}`, { cause: err }));
        }
      });
      for (let k = 0; k < pieces.length - 1; k++) req.write(pieces[k]!);
      req.end(pieces[pieces.length - 1]);
    });
  }

  /** Close idle keep-alive sockets (shutdown). */
  close(): void {
    this.agent.destroy();
  }
}
