/**
 * HAProxy (Debian's `haproxy` package) in front of the local cluster's routers: what the ALB is on
 * AWS. Least-connections balancing; routers health-checked on /healthz (on each router's health
 * thread and port, health-thread.ts, so the check answers under overload) every 500 ms (down after 2
 * misses, up after 1); a request whose connection to a router failed is sent to another one
 * (`retry-on conn-failure`: it never reached a router, so resending cannot run it twice); a
 * request in flight on a router that dies is answered 502 with a JSON error, never retried.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

export interface Haproxy {
  port: number;
  close(): Promise<void>;
}

export function haproxyAvailable(): boolean {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
}

function jsonError(status: number, error: string, message: string): string {
  const body = JSON.stringify({ error, message });
  return `  http-error status ${status} content-type application/json string '${body}'`;
}

export function haproxyConfig(o: { host: string; port: number; backends: ReadonlyArray<{ name: string; port: number; healthPort?: number }>; timeoutMs: number }): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    `  timeout client ${o.timeoutMs}ms`,
    `  timeout server ${o.timeoutMs}ms`,
    '  retries 2',
    '  option redispatch',
    '  retry-on conn-failure',
    // A fresh router connection per request: a request never rides a connection the router has
    // already closed, and a router's death answers exactly its own requests (502 below).
    '  http-reuse never',
    jsonError(502, 'router_failed', 'the router serving this request stopped before it answered; the request may not have run; retry'),
    jsonError(503, 'no_router', 'no router is up; retry'),
    jsonError(504, 'router_timeout', 'the router did not answer in time'),
    'frontend api',
    `  bind ${o.host}:${o.port}`,
    '  default_backend routers',
    'backend routers',
    '  balance leastconn',
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 1',
    // The check goes to the router's health thread when it has one (health-thread.ts): it answers under overload.
    ...o.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check${b.healthPort !== undefined ? ` port ${b.healthPort}` : ''}`),
    '',
  ].join('\n');
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startHaproxy(o: {
  host: string;
  port: number;
  backends: ReadonlyArray<{ name: string; port: number; healthPort?: number }>;
  timeoutMs: number;
}): Promise<Haproxy> {
  if (!haproxyAvailable()) {
    throw new ConfigError('--routers > 1 needs HAProxy in front of the routers: install Debian\'s package (apt-get install haproxy)');
  }
  const port = o.port === 0 ? await freePort(o.host) : o.port;
  const dir = mkdtempSync(join(tmpdir(), 'spillway-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig({ ...o, port }));
  const child: ChildProcess = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not answer /healthz on port ${port} within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
