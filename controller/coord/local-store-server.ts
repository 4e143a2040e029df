/**
 * The local coordination store: a loopback HTTP service around a MemoryCoordinationStore (routes in
 * local-store-wire.ts). `npm start` (the supervisor) runs it in its own process, so the lease, the
 * plan and the learned state outlive any planner or router it starts and restarts; those reach it
 * with local-store-client.ts. Every route but /healthz requires the per-start internal token
 * (functions/server/internal-token.ts), like the VM servers and the local Lambda API. Request
 * bodies are bounded (MAX_LOCAL_STORE_REQUEST_BYTES, refused with 413 before they are read in full)
 * and validated strictly (400 naming the field).
 *
 * Each request's store call runs to completion on the event loop before the next one starts, so the
 * memory store's conditional semantics hold across processes exactly as in one.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { describeIssues } from '../../functions/engine/zod-issues.js';
import { INTERNAL_TOKEN_HEADER, newInternalToken, sameToken } from '../../functions/server/internal-token.js';
import { readBodyLimited } from '../../functions/server/read-body.js';
import { closeAfterAnswer, sendJson } from '../server/http-util.js';
import { CoordinationInputError, type CoordinationStore, StaleFenceError } from './coordination-port.js';
import {
  AcquireRequest,
  MAX_LOCAL_STORE_REQUEST_BYTES,
  ObservationRequest,
  PublishPlanRequest,
  ReadObservationsRequest,
  ReleaseRequest,
  SaveLearnedStateRequest,
  TrimObservationsRequest,
  type WireError,
  type WireErrorCode,
} from './local-store-wire.js';
import { MemoryCoordinationStore } from './memory-store.js';

/** A whole request body must arrive within this (loopback: a slow body is a stuck client). */
const BODY_TIMEOUT_MS = 10_000;

export interface LocalStoreServerOptions {
  /** The store served. @default a new MemoryCoordinationStore */
  store?: CoordinationStore;
  /** The shared secret callers send in `x-spillway-internal-token`. @default a fresh one (returned) */
  token?: string;
  /** @default 127.0.0.1 (loopback only) */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
}

export interface LocalStoreServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  token: string;
  store: CoordinationStore;
  close(): Promise<void>;
}

class WireFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, raw: Buffer, route: string): T {
  let json: unknown;
  try {
    json = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new WireFailure(
      400,
      'InvalidInput',
      `${route}: body is not valid JSON (${(cause as Error).message})`,
    );
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new WireFailure(400, 'InvalidInput', `${route}: ${describeIssues(r.error.issues)}`);
  return r.data;
}

/** Keyed by `METHOD /path`. */
type Route = { run: (body: () => Promise<Buffer>) => Promise<unknown> };

function routes(store: CoordinationStore): Record<string, Route> {
  return {
    'POST /lease/acquire': {
      run: async (body) => {
        const r = parse(AcquireRequest, await body(), 'POST /lease/acquire');
        return store.acquireOrRenewLease(r.holderId, r.nowMs, r.ttlMs);
      },
    },
    'POST /lease/release': {
      run: async (body) => {
        const r = parse(ReleaseRequest, await body(), 'POST /lease/release');
        await store.releaseLease(r.holderId, r.fence);
        return {};
      },
    },
    'GET /lease': { run: async () => ({ lease: (await store.readLease()) ?? null }) },
    'POST /plan': {
      run: async (body) => {
        const r = parse(PublishPlanRequest, await body(), 'POST /plan');
        return store.publishPlan(r.fence, r.atMs, r.body);
      },
    },
    'GET /plan': { run: async () => ({ plan: (await store.readPlan()) ?? null }) },
    'POST /observations': {
      run: async (body) => {
        const r = parse(ObservationRequest, await body(), 'POST /observations');
        await store.publishObservations(r);
        return {};
      },
    },
    'POST /observations/read': {
      run: async (body) => {
        const r = parse(ReadObservationsRequest, await body(), 'POST /observations/read');
        return { observations: await store.readObservations(r.after) };
      },
    },
    'POST /observations/trim': {
      run: async (body) => {
        const r = parse(TrimObservationsRequest, await body(), 'POST /observations/trim');
        await store.trimObservations(r.upTo, r.fence);
        return {};
      },
    },
    'POST /learned-state': {
      run: async (body) => {
        const r = parse(SaveLearnedStateRequest, await body(), 'POST /learned-state');
        await store.saveLearnedState(r.fence, r.atMs, r.body);
        return {};
      },
    },
    'GET /learned-state': { run: async () => ({ state: (await store.loadLearnedState()) ?? null }) },
  };
}

function sendFailure(
  res: ServerResponse,
  status: number,
  code: WireErrorCode,
  message: string,
  currentFence?: number,
): void {
  const body: WireError = {
    error: { code, message, ...(currentFence !== undefined ? { currentFence } : {}) },
  };
  sendJson(res, status, body);
}

/** Serves `store` on loopback; resolves once listening. */
export async function startLocalStoreServer(opts: LocalStoreServerOptions = {}): Promise<LocalStoreServer> {
  const store = opts.store ?? new MemoryCoordinationStore();
  const token = opts.token ?? newInternalToken();
  const table = routes(store);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { ok: true });
    if (!sameToken(token, req.headers[INTERNAL_TOKEN_HEADER])) {
      closeAfterAnswer(req, res);
      return sendFailure(res, 401, 'Unauthorized', `missing or wrong ${INTERNAL_TOKEN_HEADER} header`);
    }
    const route = Object.hasOwn(table, `${req.method} ${path}`) ? table[`${req.method} ${path}`] : undefined;
    if (!route) {
      closeAfterAnswer(req, res);
      const allowed = Object.keys(table)
        .filter((k) => k.endsWith(` ${path}`))
        .map((k) => k.split(' ')[0]);
      if (allowed.length > 0)
        return sendFailure(
          res,
          405,
          'MethodNotAllowed',
          `${path} takes ${allowed.join(' or ')}, not ${req.method}`,
        );
      return sendFailure(res, 404, 'NotFound', `no route ${req.method} ${path}`);
    }
    const body = () =>
      readBodyLimited(
        req,
        MAX_LOCAL_STORE_REQUEST_BYTES,
        {
          tooLarge: (limit) => new WireFailure(413, 'TooLarge', `request body exceeds ${limit} bytes`),
          aborted: () =>
            new WireFailure(
              400,
              'InvalidInput',
              'the connection closed before the request body was complete',
            ),
          timedOut: (ms) =>
            new WireFailure(400, 'InvalidInput', `request body not received in full within ${ms} ms`),
        },
        BODY_TIMEOUT_MS,
      );
    try {
      sendJson(res, 200, await route.run(body));
    } catch (err) {
      closeAfterAnswer(req, res);
      if (err instanceof WireFailure) return sendFailure(res, err.status, err.code, err.message);
      if (err instanceof StaleFenceError)
        return sendFailure(res, 409, 'StaleFence', err.message, err.currentFence);
      if (err instanceof CoordinationInputError) return sendFailure(res, 400, 'InvalidInput', err.message);
      return sendFailure(res, 503, 'Unavailable', `store failed: ${(err as Error).message}`);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendFailure(res, 503, 'Unavailable', String(err));
      else res.destroy();
    });
  });
  // Routers and the planner keep connections alive; a loopback peer idle for 30 s is gone.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    endpoint: `http://${host}:${addr.port}`,
    token,
    store,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
