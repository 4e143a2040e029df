/**
 * HttpVmClient: calls a VM inference server's POST /v1/infer. Used for local and EC2 VMs alike.
 * undici (the maintained HTTP/1.1 client Node's own fetch is built on) with one keep-alive pool per
 * VM and no validation of the reply beyond JSON parsing: the server is ours and validates what it
 * sends. Why undici and not node:http's request + Agent: the router's added latency budget is
 * <= 1 ms p99 and its throughput target 0.9x a bare proxy; measured with the stand-in backend
 * (8 KB bodies, wrk -c32, 2 cores), a forwarder on node:http's client spent ~300 us of CPU per
 * request, the same forwarder on undici ~200 us.
 *
 * Failure mapping (controller/errors.ts), so the router can decide the fallback:
 * - no answer within timeoutMs                       -> BackendTimeoutError
 * - connection refused / reset / closed mid-reply    -> BackendUnavailableError (safe to retry elsewhere)
 * - non-2xx status                                   -> BackendResponseError(status, parsed body)
 */
import { Agent, type Dispatcher } from 'undici';
import type { BackendInferRequestInput, BackendInferResponse } from '../../functions/engine/protocol.js';
import { INTERNAL_TOKEN_HEADER } from '../../functions/server/internal-token.js';
import { BackendResponseError, BackendTimeoutError, BackendUnavailableError } from '../errors.js';
import type { VmClientPort } from '../ports.js';
import { encodeBackendBody } from '../server/raw-image-input.js';

export interface HttpVmClientOptions {
  /** Connections kept per VM; beyond it requests queue in the pool. Default 64. */
  maxSocketsPerVm?: number;
  /** Idle keep-alive connections are closed after this (must be below the server's keepAliveTimeout, 5 s in Node). */
  freeSocketTimeoutMs?: number;
  /** Sent with every call (functions/server/internal-token.ts); the VMs of a local stack require it. */
  internalToken?: string;
}

export class HttpVmClient implements VmClientPort {
  readonly dispatcher: Agent;
  private readonly headers: Record<string, string>;
  /** `http://host:port` per endpoint as given (a fleet record's endpoint may carry a path or slash). */
  private readonly origins = new Map<string, string>();

  constructor(opts: HttpVmClientOptions = {}) {
    this.headers = {
      'content-type': 'application/json',
      ...(opts.internalToken ? { [INTERNAL_TOKEN_HEADER]: opts.internalToken } : {}),
    };
    this.dispatcher = new Agent({
      connections: opts.maxSocketsPerVm ?? 64,
      // Shorter than Node's default server keepAliveTimeout (5 s): we drop idle connections before
      // the server does, avoiding the race where a request is written on a socket the server just closed.
      keepAliveTimeout: opts.freeSocketTimeoutMs ?? 4_000,
      keepAliveMaxTimeout: opts.freeSocketTimeoutMs ?? 4_000,
      // Our own timer bounds the whole call (timeoutMs); undici's per-phase timers stay out of the way.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  private originOf(endpoint: string): string {
    let origin = this.origins.get(endpoint);
    if (origin === undefined) {
      const url = new URL(endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`unsupported protocol ${url.protocol}`);
      origin = url.origin;
      if (this.origins.size > 4_096) this.origins.clear(); // endpoints come and go with VMs
      this.origins.set(endpoint, origin);
    }
    return origin;
  }

  infer(endpoint: string, body: BackendInferRequestInput, timeoutMs: number): Promise<BackendInferResponse> {
    let origin: string;
    try {
      origin = this.originOf(endpoint);
    } catch (err) {
      return Promise.reject(new BackendUnavailableError(`invalid VM endpoint '${endpoint}'`, { cause: err }));
    }
    // The body's pieces (a forwarded image is its caller's bytes, raw-image-input.ts) in one buffer:
    // one write to the socket. The copy costs ~10 us for a 133 KB body.
    const pieces = encodeBackendBody(body);
    const payload = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    return new Promise<BackendInferResponse>((resolve, reject) => {
      const call = new VmCall(endpoint, timeoutMs, resolve, reject);
      this.dispatcher.dispatch(
        { origin, path: '/v1/infer', method: 'POST', headers: this.headers, body: payload },
        call as unknown as Dispatcher.DispatchHandler,
      );
    });
  }

  /** Close idle keep-alive connections (shutdown). */
  close(): void {
    void this.dispatcher.destroy();
  }
}

/**
 * One call as undici's dispatch handler (its own request() builds a stream and a promise on top of
 * this): the reply is small JSON, collected in chunks and parsed once. A class, not closures, so a
 * call allocates one object (the router makes one per request).
 */
class VmCall {
  private settled = false;
  private abortCall: ((reason: Error) => void) | undefined;
  private timedOut: Error | undefined;
  private status = 0;
  private readonly chunks: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly endpoint: string,
    private readonly timeoutMs: number,
    private readonly resolve: (r: BackendInferResponse) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.timer = setTimeout(VmCall.onTimeout, timeoutMs, this);
  }

  private static onTimeout(call: VmCall): void {
    call.timedOut = new BackendTimeoutError(`VM ${call.endpoint} did not answer within ${call.timeoutMs} ms`, call.timeoutMs);
    call.fail(call.timedOut);
    // The connection may carry a late reply: undici destroys it rather than reuse it.
    call.abortCall?.(call.timedOut);
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(err);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abortCall = abort;
    if (this.timedOut) abort(this.timedOut); // still queued in the pool when the timer fired
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    const { chunks, status, endpoint } = this;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch (err) {
      if (status < 300) {
        this.fail(new BackendResponseError(`VM ${endpoint} answered ${status} with invalid JSON`, status, text, { cause: err }));
        return;
      }
      parsed = text;
    }
    if (status >= 200 && status < 300) {
      this.settled = true;
      clearTimeout(this.timer);
      this.resolve(parsed as BackendInferResponse);
      return;
    }
    const msg = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? String(text).slice(0, 200);
    this.fail(new BackendResponseError(`VM ${endpoint} answered ${status}: ${msg}`, status, parsed));
  }

  onError(err: Error & { code?: string; cause?: { code?: string } }): void {
    // Refused, reset, closed mid-reply: the VM (or its process) is gone or going.
    this.fail(new BackendUnavailableError(`VM ${this.endpoint} unavailable: ${err.cause?.code ?? err.code ?? err.message}`, { cause: err }));
  }
}
