/**
 * The local cluster's "EC2": the supervisor's LocalVmFleet behind a loopback HTTP API, so that VMs
 * outlive any planner (a successor adopts them by describing, as on AWS) and every launch and
 * terminate is checked against the planner lease: an action carrying a fence older than the
 * lease's current one, or sent after the lease expired, is refused with 409 and counted. That is
 * the local half of fencing; on AWS the fence rides in the launch's tags and client token
 * (controller/coord/) and the planner checks its lease before acting.
 *
 *   POST /launch    {fence, spec: LaunchSpec}  -> {records: VmRecord[]}
 *   POST /terminate {fence, ids: string[]}     -> {}
 *   GET  /describe                             -> {records: VmRecord[]}
 *   GET  /stats                                -> {launches: [{clientToken, fence, count}], refused}
 * Every route requires the start's internal token (functions/server/internal-token.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { INTERNAL_TOKEN_HEADER, sameToken } from '../../functions/server/internal-token.js';
import { describeIssues } from '../../functions/engine/zod-issues.js';
import type { CoordinationStore } from '../coord/coordination-port.js';
import type { VmFleetPort } from '../ports.js';
import { closeAfterAnswer, readBody, sendJson } from '../server/http-util.js';

const MAX_BODY_BYTES = 64 * 1024;
const BODY_TIMEOUT_MS = 5_000;

const LaunchBody = z.strictObject({
  fence: z.number().int().min(1),
  spec: z.strictObject({
    instanceType: z.string().min(1).max(64),
    variant: z.string().min(1).max(128),
    count: z.number().int().min(1).max(64),
    clientToken: z.string().min(1).max(64),
    fence: z.number().int().min(1).optional(),
  }),
});
const TerminateBody = z.strictObject({
  fence: z.number().int().min(1),
  ids: z.array(z.string().min(1).max(128)).max(1_000),
});

export interface FleetServiceStats {
  launches: Array<{ clientToken: string; fence: number; count: number }>;
  refused: number;
}

export interface FleetService {
  url: string;
  stats: FleetServiceStats;
  close(): Promise<void>;
}

export interface FleetServiceOptions {
  fleet: VmFleetPort;
  store: CoordinationStore;
  internalToken: string;
  now?: () => number;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function startFleetService(o: FleetServiceOptions): Promise<FleetService> {
  const now = o.now ?? Date.now;
  const stats: FleetServiceStats = { launches: [], refused: 0 };

  async function checkFence(fence: number): Promise<void> {
    const lease = await o.store.readLease();
    if (!lease || lease.fence !== fence || lease.expiresAtMs <= now()) {
      stats.refused++;
      throw new Refused(
        409,
        `stale planner: fence ${fence} is not the current lease's (${lease ? `fence ${lease.fence}, held by ${lease.holderId}, ${lease.expiresAtMs <= now() ? 'expired' : 'valid'}` : 'no lease'})`,
        'fence',
      );
    }
  }

  async function body<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
    const raw = await readBody(req, MAX_BODY_BYTES, BODY_TIMEOUT_MS);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new Refused(400, 'body is not JSON', 'body');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new Refused(400, describeIssues(parsed.error.issues), 'body');
    return parsed.data;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!sameToken(o.internalToken, req.headers[INTERNAL_TOKEN_HEADER])) {
      closeAfterAnswer(req, res);
      return sendJson(res, 401, { error: 'unauthorized', message: `missing or wrong ${INTERNAL_TOKEN_HEADER}` });
    }
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    if (route === 'GET /describe') return sendJson(res, 200, { records: await o.fleet.describe() });
    if (route === 'GET /stats') return sendJson(res, 200, stats);
    if (route === 'POST /launch') {
      const b = await body(req, LaunchBody);
      await checkFence(b.fence);
      const records = await o.fleet.launch(b.spec);
      stats.launches.push({ clientToken: b.spec.clientToken, fence: b.fence, count: records.length });
      return sendJson(res, 200, { records });
    }
    if (route === 'POST /terminate') {
      const b = await body(req, TerminateBody);
      await checkFence(b.fence);
      await o.fleet.terminate(b.ids);
      return sendJson(res, 200, {});
    }
    closeAfterAnswer(req, res);
    sendJson(res, 404, { error: 'not_found', message: `no route ${route}` });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof Refused ? err.status : ((err as { status?: number }).status ?? 500);
      const field = err instanceof Refused ? err.field : undefined;
      sendJson(res, status, { error: status === 409 ? 'stale_fence' : 'fleet_error', message: (err as Error).message, ...(field ? { field } : {}) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
