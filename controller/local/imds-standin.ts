/**
 * ImdsStandIn: a loopback stand-in for EC2's instance metadata service (IMDSv2), one per local
 * Spot VM, speaking just the two routes the VM server's Spot watcher uses
 * (functions/server/spot-notice.ts):
 *   PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds 1-21600 -> 200 token text
 *       (header missing or out of range -> 400, as EC2 answers)
 *   GET /latest/meta-data/spot/instance-action with a live X-aws-ec2-metadata-token
 *       -> 404 until a reclaim is set, then 200 {"action":"terminate","time":"..."}
 *       (token missing, unknown or expired -> 401)
 * Anything else: 404. A real HTTP server, so the watcher runs exactly as it would on EC2.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  IMDS_INSTANCE_ACTION_PATH,
  IMDS_MAX_TOKEN_TTL_S,
  IMDS_TOKEN_HEADER,
  IMDS_TOKEN_PATH,
  IMDS_TTL_HEADER,
  type SpotNotice,
} from '../../functions/server/spot-notice.js';

export interface ImdsStandIn {
  /** Base URL, e.g. http://127.0.0.1:41234 (what SPILLWAY_IMDS_ENDPOINT gets). */
  readonly endpoint: string;
  /** EC2 schedules a reclaim: instance-action answers 200 with it from now on. */
  setInstanceAction(action: Pick<SpotNotice, 'action' | 'time'>): void;
  /** Tests: answer instance-action with this status and raw body instead (malformed answers). */
  setRawInstanceAction(status: number, body: string): void;
  /** Tests: forget every token (as an IMDS restart does), so the next GET gets 401. */
  expireTokens(): void;
  /** Counts of what was asked, for tests. */
  readonly counts: { tokens: number; instanceAction: number; unauthorized: number };
  close(): Promise<void>;
}

export async function startImdsStandIn(
  opts: { host?: string; now?: () => number } = {},
): Promise<ImdsStandIn> {
  const now = opts.now ?? Date.now;
  const tokens = new Map<string, number>(); // token -> expiry (ms)
  let answer: { status: number; body: string } = { status: 404, body: 'Not Found' };
  const counts = { tokens: 0, instanceAction: 0, unauthorized: 0 };

  const server: Server = createServer((req, res) => {
    req.resume();
    const reply = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === IMDS_TOKEN_PATH && req.method === 'PUT') {
      const ttlS = Number(req.headers[IMDS_TTL_HEADER]);
      if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > IMDS_MAX_TOKEN_TTL_S) {
        reply(400, `${IMDS_TTL_HEADER} must be an integer 1-${IMDS_MAX_TOKEN_TTL_S}`);
        return;
      }
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, now() + ttlS * 1000);
      counts.tokens++;
      reply(200, token);
      return;
    }
    if (path === IMDS_INSTANCE_ACTION_PATH && req.method === 'GET') {
      counts.instanceAction++;
      const token = req.headers[IMDS_TOKEN_HEADER];
      const expiresAtMs = typeof token === 'string' ? tokens.get(token) : undefined;
      if (expiresAtMs === undefined || expiresAtMs <= now()) {
        counts.unauthorized++;
        reply(401, 'Unauthorized');
        return;
      }
      reply(answer.status, answer.body, answer.status === 200 ? 'application/json' : 'text/plain');
      return;
    }
    reply(404, 'Not Found');
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    counts,
    setInstanceAction(a) {
      answer = { status: 200, body: JSON.stringify({ action: a.action, time: a.time }) };
    },
    setRawInstanceAction(status, body) {
      answer = { status, body };
    },
    expireTokens() {
      tokens.clear();
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
