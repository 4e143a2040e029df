/**
 * CoordinationStore over the local store's HTTP service (local-store-server.ts): what the planner
 * and router processes `npm start` launches use to reach the store the supervisor owns. Maps the
 * service's answers back onto the port's errors: 409 -> StaleFenceError (with the current fence),
 * 400/413 -> CoordinationInputError, anything else (refused, timeout, 5xx) ->
 * CoordinationUnavailableError with the cause. No retries here: a planner that cannot renew keeps
 * trying on its next tick, and a lost renewal only ever costs the lease, never safety.
 */
import { INTERNAL_TOKEN_HEADER } from '../../functions/server/internal-token.js';
import {
  CoordinationInputError,
  type CoordinationStore,
  CoordinationUnavailableError,
  type Lease,
  type LeaseResult,
  type ObservationDoc,
  type PlanDoc,
  StaleFenceError,
} from './coordination-port.js';
import type { WireError } from './local-store-wire.js';

export interface LocalStoreClientOptions {
  /** `http://127.0.0.1:<port>` as startLocalStoreServer returned it. */
  endpoint: string;
  token: string;
  /** Per-call timeout. @default 5000 */
  timeoutMs?: number;
}

export class LocalStoreClient implements CoordinationStore {
  private readonly endpoint: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: LocalStoreClientOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  acquireOrRenewLease(holderId: string, nowMs: number, ttlMs: number): Promise<LeaseResult> {
    return this.call('POST', '/lease/acquire', { holderId, nowMs, ttlMs });
  }

  async releaseLease(holderId: string, fence: number): Promise<void> {
    await this.call('POST', '/lease/release', { holderId, fence });
  }

  async readLease(): Promise<Lease | undefined> {
    return (await this.call<{ lease: Lease | null }>('GET', '/lease')).lease ?? undefined;
  }

  publishPlan(fence: number, atMs: number, body: unknown): Promise<PlanDoc> {
    return this.call('POST', '/plan', { fence, atMs, body });
  }

  async readPlan(): Promise<PlanDoc | undefined> {
    return (await this.call<{ plan: PlanDoc | null }>('GET', '/plan')).plan ?? undefined;
  }

  async publishObservations(doc: ObservationDoc): Promise<void> {
    await this.call('POST', '/observations', {
      routerId: doc.routerId,
      seq: doc.seq,
      fromMs: doc.fromMs,
      toMs: doc.toMs,
      body: doc.body,
    });
  }

  async readObservations(after: Readonly<Record<string, number>>): Promise<ObservationDoc[]> {
    return (await this.call<{ observations: ObservationDoc[] }>('POST', '/observations/read', { after }))
      .observations;
  }

  async trimObservations(upTo: Readonly<Record<string, number>>, fence: number): Promise<void> {
    await this.call('POST', '/observations/trim', { upTo, fence });
  }

  async saveLearnedState(fence: number, atMs: number, body: unknown): Promise<void> {
    await this.call('POST', '/learned-state', { fence, atMs, body });
  }

  async loadLearnedState(): Promise<{ fence: number; atMs: number; body: unknown } | undefined> {
    return (
      (
        await this.call<{ state: { fence: number; atMs: number; body: unknown } | null }>(
          'GET',
          '/learned-state',
        )
      ).state ?? undefined
    );
  }

  /** The service belongs to the supervisor: closing a client closes nothing but the client. */
  async close(): Promise<void> {}

  private async call<T>(method: 'GET' | 'POST', path: string, payload?: unknown): Promise<T> {
    let text: string | undefined;
    if (payload !== undefined) {
      try {
        text = JSON.stringify(payload);
      } catch (cause) {
        throw new CoordinationInputError(`body: must be JSON-encodable (${(cause as Error).message})`, {
          cause,
        });
      }
    }
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}${path}`, {
        method,
        headers: {
          [INTERNAL_TOKEN_HEADER]: this.opts.token,
          ...(text !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: text,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new CoordinationUnavailableError(
        `local store ${method} ${path} at ${this.endpoint} failed: ${(cause as Error).message}`,
        { cause },
      );
    }
    const raw = await res.text().catch((cause: unknown) => {
      throw new CoordinationUnavailableError(`local store ${method} ${path}: answer cut off`, { cause });
    });
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (cause) {
      throw new CoordinationUnavailableError(
        `local store ${method} ${path}: answer ${res.status} is not JSON: ${raw.slice(0, 200)}`,
        { cause },
      );
    }
    if (res.ok) return json as T;
    const err = (json as Partial<WireError>).error;
    const message = err?.message ?? `HTTP ${res.status}`;
    if (res.status === 409 && err?.code === 'StaleFence')
      throw new StaleFenceError(message, err.currentFence ?? 0);
    if (res.status === 400 || res.status === 413) throw new CoordinationInputError(message);
    throw new CoordinationUnavailableError(`local store ${method} ${path}: ${res.status} ${message}`);
  }
}
