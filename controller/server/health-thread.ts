/**
 * /healthz and /readyz on their own thread and port (SPILLWAY_HEALTH_PORT), for the load balancer's
 * health check. Under a flood the request event loop is saturated in bursts (bench:overload: up to
 * ~370 ms with 2,048 connections on one router; /healthz on the API port answered at p99 226 ms),
 * and a balancer that pulls an overloaded router empties the group. Here a worker thread owns
 * the health listener, so it answers in well under a millisecond whatever the request loop does.
 *
 * It still notices a stuck process: the main thread writes a heartbeat (Date.now(), every
 * 100 ms) into a SharedArrayBuffer, and the worker answers 503 `stalled` once the heartbeat is
 * older than stalledAfterMs (default 10 s: far longer than any burst, so only a hung loop trips
 * it). /readyz is 200 only while the main thread says ready (set false when draining starts).
 */
import { Worker } from 'node:worker_threads';

export interface HealthThreadOptions {
  host: string;
  /** 0 = ephemeral (the local cluster; the port is reported back). */
  port: number;
  /** Heartbeat age after which /healthz answers 503 stalled. @default 10_000 */
  stalledAfterMs?: number;
  /** Named in the answers. */
  service: string;
}

export interface HealthThread {
  readonly port: number;
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

const HEARTBEAT_MS = 100;

/** The worker's code (plain CommonJS: an eval'd worker needs no loader, from source or bundled). */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
const beat = new Float64Array(workerData.sab, 0, 1);
const ready = new Int32Array(workerData.sab, 8, 1);
const startedAt = Date.now();
const server = createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  const lagMs = Math.max(0, Date.now() - beat[0]);
  const stalled = lagMs > workerData.stalledAfterMs;
  let status = 404;
  let body = { error: { code: 'not_found', message: 'this port answers GET /healthz and /readyz only' } };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    status = 405;
    body = { error: { code: 'method_not_allowed', message: 'GET or HEAD' } };
  } else if (path === '/healthz') {
    status = stalled ? 503 : 200;
    body = { status: stalled ? 'stalled' : 'ok', service: workerData.service, loopLagMs: Math.round(lagMs), uptimeS: (Date.now() - startedAt) / 1000 };
  } else if (path === '/readyz') {
    const isReady = Atomics.load(ready, 0) === 1;
    status = isReady && !stalled ? 200 : 503;
    body = { status: stalled ? 'stalled' : isReady ? 'ready' : 'not-ready', service: workerData.service, loopLagMs: Math.round(lagMs) };
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
});
server.keepAliveTimeout = 65000;
server.on('error', (err) => parentPort.postMessage({ error: err.message }));
server.listen(workerData.port, workerData.host, () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => { if (m === 'close') server.close(() => process.exit(0)); server.closeAllConnections(); });
`;

export function startHealthThread(o: HealthThreadOptions): Promise<HealthThread> {
  const sab = new SharedArrayBuffer(16);
  const beat = new Float64Array(sab, 0, 1);
  const ready = new Int32Array(sab, 8, 1);
  beat[0] = Date.now();
  const timer = setInterval(() => {
    beat[0] = Date.now();
  }, HEARTBEAT_MS);
  timer.unref();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      sab,
      host: o.host,
      port: o.port,
      service: o.service,
      stalledAfterMs: o.stalledAfterMs ?? 10_000,
    },
  });
  worker.unref();
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: { port?: number; error?: string }) => {
      if (m.error !== undefined || m.port === undefined) {
        clearInterval(timer);
        void worker.terminate();
        reject(new Error(`health listener on ${o.host}:${o.port}: ${m.error ?? 'no port'}`));
        return;
      }
      resolve({
        port: m.port,
        setReady: (r) => Atomics.store(ready, 0, r ? 1 : 0),
        close: async () => {
          clearInterval(timer);
          Atomics.store(ready, 0, 0);
          const exited = new Promise<void>((r) => worker.once('exit', () => r()));
          worker.postMessage('close');
          const t = setTimeout(() => void worker.terminate(), 2_000);
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}

/** The health listener of a process whose config sets healthPort (the single stack and every router); undefined otherwise. */
export function healthThreadOf(
  config: { host: string; healthPort?: number | undefined },
  service: string,
): Promise<HealthThread | undefined> {
  if (config.healthPort === undefined) return Promise.resolve(undefined);
  return startHealthThread({ host: config.host, port: config.healthPort, service });
}
