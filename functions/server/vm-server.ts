/**
 * The VM inference server: node:http + the engine + one dynamic batcher per variant.
 * POST /v1/infer, GET /healthz, GET /readyz (200 once every model is loaded), GET /metrics.
 * drain() implements graceful shutdown: new requests get 503 'draining', requests already
 * accepted (headers received) and everything queued still finish, then the listener closes.
 * spotNotice() (EC2's Spot interruption notice, spot-notice.ts) is the same drain without closing
 * the listener: new /v1/infer get 503 'spot_reclaim', /readyz turns 503 'spot-notice' with the
 * termination time, and /readyz and /healthz report it (`spotNotice`) until EC2 takes the VM, so
 * the controller, which reads /readyz, sees it and moves this VM's share elsewhere.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { cpuIsa, isaKey } from '../engine/cpu-isa.js';
import type { InferenceEngine } from '../engine/engine-types.js';
import type { BackendInferResponse } from '../engine/protocol.js';
import type { ModelVariant } from '../engine/registry-schema.js';
import { Batcher, type Clock, realClock } from './batcher.js';
import { errorReply } from './error-reply.js';
import {
  ClientFacingError,
  DrainingError,
  InvalidRequestError,
  SpotReclaimError,
  NotReadyError,
  PayloadTooLargeError,
  ServingConfigError,
  UnsupportedMediaTypeError,
} from './errors.js';
import { parseJsonBody } from './fast-json.js';
import { readBodyLimited } from './read-body.js';
import { AdmissionGate, type Refusal, refusalText } from './admission-gate.js';
import { SERVING_LIMITS } from './limits.js';
import { type ServerMetrics, createServerMetrics } from './metrics.js';
import { validateInferRequest } from './validate.js';
import { describeIssues } from '../engine/zod-issues.js';
import { INTERNAL_TOKEN_HEADER, sameToken } from './internal-token.js';
import { warmUp } from '../engine/warm-up.js';
import type { SpotNotice } from './spot-notice.js';

export const VmServerOptionsSchema = z.strictObject({
  engine: z.custom<InferenceEngine>((v) => typeof v === 'object' && v !== null && 'predict' in v, {
    message: 'must be an InferenceEngine',
  }),
  variants: z.array(z.string().min(1)).min(1),
  maxBatch: z.number().int().min(1).max(1024).default(8),
  maxWaitMs: z.number().min(0).max(10_000).default(2),
  queueLimit: z.number().int().min(1).max(1_000_000).default(256),
  maxBodyBytes: z.number().int().min(1024).default(SERVING_LIMITS.serverMaxBodyBytes),
  /**
   * Max /v1/infer requests held at once (reading, validating, queued or running). Bounds memory:
   * each holds at most maxBodyBytes. Default: queueLimit per variant + 2 full batches per variant.
   */
  maxInFlight: z.number().int().min(1).optional(),
  /**
   * Max body bytes those requests hold at once (their declared Content-Length): beyond it a request
   * is refused 503 queue_full before its body is read (admission-gate.ts). 256 MiB: a c7a.medium's
   * 4 GB holds that and its parsed copies beside the models.
   */
  maxInFlightBodyBytes: z
    .number()
    .int()
    .min(1024)
    .default(256 * 1024 * 1024),
  /** Batches in flight per variant. */
  concurrency: z.number().int().min(1).max(64).default(1),
  instanceId: z.string().min(1).default(`${hostname()}:${process.pid}`),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && 'info' in v).optional(),
  clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && 'now' in v).optional(),
  /** Also export Node process metrics on /metrics. */
  defaultMetrics: z.boolean().default(false),
  /**
   * Per-start shared secret (internal-token.ts): every route but /healthz and /readyz then needs it
   * in the x-spillway-internal-token header. @default none (any caller; on AWS the security group
   * admits only the controller)
   */
  internalToken: z.string().min(16).optional(),
  /** Run one inference per model in load(), before ready (functions/engine/warm-up.ts). @default true */
  warmUp: z.boolean().default(true),
});
export type VmServerOptions = z.input<typeof VmServerOptionsSchema>;

export interface VmServer {
  readonly metrics: ServerMetrics;
  /** Load every variant; /readyz turns 200 when this resolves. */
  load(): Promise<void>;
  isReady(): boolean;
  listen(port?: number, host?: string): Promise<{ host: string; port: number }>;
  /** Graceful: refuse new requests (503 'draining'), finish accepted and queued ones, close. */
  drain(opts?: { forceAfterMs?: number }): Promise<void>;
  /** EC2 will reclaim this VM: refuse new work (503 'spot_reclaim'), finish what was accepted. Idempotent. */
  spotNotice(notice: SpotNotice): void;
  /** What /readyz and /healthz report as `spotNotice` (undefined: no notice). */
  spotReport(): SpotNoticeReport | undefined;
  readonly http: Server;
}

/** The `spotNotice` field of /readyz and /healthz. */
export interface SpotNoticeReport {
  action: SpotNotice['action'];
  /** EC2's termination time (ISO 8601, as IMDS gave it). */
  time: string;
  /** When this server saw the notice (ISO 8601). */
  noticedAt: string;
  /** Accepted /v1/infer requests not yet answered. */
  acceptedInFlight: number;
  /** Every request accepted before the notice has been answered. */
  drained: boolean;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The client hung up mid-body. 499 (nginx's "client closed request") only reaches the metrics: nobody is listening. */
const clientClosed = (cause: unknown) =>
  new ClientFacingError(
    499,
    'client_closed_request',
    'connection closed before the body was complete',
    'body',
    { cause },
  );

const SETTING = { maxInFlight: 'maxInFlight', maxInFlightBodyBytes: 'maxInFlightBodyBytes' } as const;
const queueFull = (r: Refusal) =>
  new ClientFacingError(
    503,
    'queue_full',
    `server ${refusalText(r, 'requests', (l) => SETTING[l])}`,
    undefined,
    { retryAfterS: 1 },
  );

/**
 * Bodies up to this are discarded after a refusal (the connection, the router's keep-alive socket,
 * stays open: reading 100 KB costs less than a new connection); larger ones or chunked ones are not
 * read at all: the connection closes after the 503.
 */
const DISCARD_MAX_BYTES = 1024 * 1024;

/** A refused request's body is never buffered: small ones are discarded, large ones not read. */
function refuseUnread(req: IncomingMessage, res: ServerResponse): void {
  const declared = Number(req.headers['content-length']);
  if (req.headers['content-length'] !== undefined && declared <= DISCARD_MAX_BYTES) {
    req.resume();
    return;
  }
  res.setHeader('connection', 'close');
  res.on('finish', () => req.socket.destroy());
}

const BODY_ERRORS = { tooLarge: (limit: number) => new PayloadTooLargeError(limit), aborted: clientClosed };

export function createVmServer(options: VmServerOptions): VmServer {
  const parsed = VmServerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ServingConfigError(`createVmServer option ${describeIssues(parsed.error.issues)}`);
  }
  const opts = parsed.data;
  const log = opts.logger ?? pino({ level: 'info' });
  const clock = opts.clock ?? realClock;
  const metrics = createServerMetrics({ defaultMetrics: opts.defaultMetrics });
  const variants = new Map<string, ModelVariant>();
  // Reported on /readyz and in every answer: which int8 kernels (and so which exact scores) it runs.
  const isa = isaKey(cpuIsa());
  const batchers = new Map<string, Batcher>();
  let ready = false;
  let draining = false;
  let spot: { notice: SpotNotice; noticedAtMs: number; drainedAtMs?: number } | undefined;
  let inFlight = 0;
  const maxInFlight =
    opts.maxInFlight ?? opts.variants.length * (opts.queueLimit + 2 * opts.maxBatch * opts.concurrency);
  const gate = new AdmissionGate({
    maxInFlight,
    maxInFlightBodyBytes: opts.maxInFlightBodyBytes,
    maxBodyBytes: opts.maxBodyBytes,
  });
  let inFlightZero: (() => void)[] = [];

  for (const name of opts.variants) {
    const variant = opts.engine.registry.get(name); // throws UnknownVariantError naming known variants
    variants.set(name, variant);
    // A fixed batch dimension of 1 means every input is its own session.run: no point holding inputs.
    const fixedBatch = variant.input.shape[0] === 1;
    batchers.set(
      name,
      new Batcher({
        maxBatch: fixedBatch ? 1 : opts.maxBatch,
        maxWaitMs: fixedBatch ? 0 : opts.maxWaitMs,
        queueLimit: opts.queueLimit,
        concurrency: opts.concurrency,
        clock,
        run: (inputs, o) => opts.engine.predict(name, inputs, o),
        onBatch: (size) => metrics.batchSize.observe({ model: name }, size),
      }),
    );
  }

  const updateDepth = (name: string) =>
    metrics.queueDepth.set({ model: name }, batchers.get(name)?.depth() ?? 0);

  function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
    if (res.headersSent || res.destroyed) return;
    const h: Record<string, string> = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    if (draining) h['connection'] = 'close';
    res.writeHead(status, h);
    res.end(body);
  }

  function sendError(res: ServerResponse, err: unknown): number {
    const r = errorReply(err, log);
    send(res, r.status, r.headers, JSON.stringify(r.body));
    return r.status;
  }

  /** /v1/infer requests accepted and not yet answered: reported in every answer (BackendInferResponse.load). */
  let inferOutstanding = 0;

  async function handleInfer(req: IncomingMessage, res: ServerResponse, arrivalMs: number): Promise<void> {
    let modelLabel = 'other';
    let status = 500;
    inferOutstanding++;
    try {
      const ct = req.headers['content-type'];
      if (ct && !/json/i.test(ct)) throw new UnsupportedMediaTypeError(ct);
      let body: Buffer;
      try {
        body = await readBodyLimited(req, opts.maxBodyBytes, BODY_ERRORS);
      } catch (e) {
        res.setHeader('connection', 'close'); // stop reading an oversized body
        throw e;
      }
      let raw: unknown;
      try {
        raw = parseJsonBody(body);
      } catch (cause) {
        throw new InvalidRequestError('body: not valid JSON', 'body', { cause, code: 'invalid_json' });
      }
      const v = await validateInferRequest(raw, variants);
      modelLabel = v.variant.name;
      const batcher = batchers.get(v.variant.name)!;
      const resultP = batcher.submit({
        inputs: v.inputs,
        topK: v.request.topK,
        arrivalMs,
        budgetMs: v.request.budgetMs,
      });
      updateDepth(v.variant.name);
      const result = await resultP.finally(() => updateDepth(v.variant.name));
      const reply: BackendInferResponse = {
        model: v.variant.name,
        weights: v.variant.weights,
        outputs: result.outputs.map((top) => ({ top })),
        timings: {
          queueMs: result.queueMs,
          preprocessMs: result.preprocessMs,
          inferenceMs: result.inferenceMs,
          batchSize: result.batchSize,
        },
        backend: { kind: 'vm', id: opts.instanceId, isa },
        load: { outstanding: inferOutstanding },
      };
      status = 200;
      send(res, 200, JSON_HEADERS, JSON.stringify(reply));
    } catch (err) {
      status = sendError(res, err);
    } finally {
      inferOutstanding--;
      metrics.requests.inc({ status: String(status), model: modelLabel });
      metrics.latency.observe({ model: modelLabel }, (clock.now() - arrivalMs) / 1000);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivalMs = clock.now();
    const path = (req.url ?? '/').split('?')[0];
    if (
      opts.internalToken &&
      path !== '/healthz' &&
      path !== '/readyz' &&
      !sameToken(opts.internalToken, req.headers[INTERNAL_TOKEN_HEADER])
    ) {
      // Not read: the body of a caller without the token is none of our business (close, do not drain).
      res.setHeader('connection', 'close');
      res.on('finish', () => req.socket.destroy());
      sendError(
        res,
        new ClientFacingError(
          401,
          'unauthorized',
          `${path}: missing or wrong ${INTERNAL_TOKEN_HEADER} (this VM serves only the controller that started it)`,
        ),
      );
      return;
    }
    if (path === '/v1/infer') {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        sendError(
          res,
          new ClientFacingError(
            405,
            'method_not_allowed',
            `${req.method} not allowed on /v1/infer; use POST`,
          ),
        );
        req.resume();
        return;
      }
      if (draining) {
        metrics.requests.inc({ status: '503', model: 'other' });
        sendError(res, new DrainingError());
        req.resume();
        return;
      }
      if (spot) {
        metrics.requests.inc({ status: '503', model: 'other' });
        sendError(res, new SpotReclaimError(spot.notice.action, spot.notice.time));
        req.resume();
        return;
      }
      if (!ready) {
        metrics.requests.inc({ status: '503', model: 'other' });
        sendError(res, new NotReadyError());
        req.resume();
        return;
      }
      const release = gate.admit(req.headers);
      if (typeof release !== 'function') {
        metrics.requests.inc({ status: '503', model: 'other' });
        refuseUnread(req, res);
        sendError(res, queueFull(release));
        return;
      }
      try {
        await handleInfer(req, res, arrivalMs);
      } finally {
        release();
        if (spot) checkSpotDrained();
      }
      return;
    }
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET');
      sendError(
        res,
        new ClientFacingError(405, 'method_not_allowed', `${req.method} not allowed on ${path}; use GET`),
      );
      return;
    }
    if (path === '/healthz') {
      const report = spotReport();
      send(res, 200, JSON_HEADERS, JSON.stringify({ status: 'ok', draining, ...(report ? { spotNotice: report } : {}) }));
    } else if (path === '/readyz') {
      const ok = ready && !draining && !spot;
      const report = spotReport();
      send(
        res,
        ok ? 200 : 503,
        JSON_HEADERS,
        JSON.stringify({
          status: ok ? 'ready' : draining ? 'draining' : spot ? 'spot-notice' : 'loading',
          variants: [...variants.keys()],
          isa,
          // The same load every answer carries: a cheap way to see the queue without a request.
          load: { outstanding: inferOutstanding },
          ...(report ? { spotNotice: report } : {}),
        }),
      );
    } else if (path === '/metrics') {
      for (const name of batchers.keys()) updateDepth(name);
      const text = await metrics.registry.metrics();
      send(res, 200, { 'content-type': metrics.registry.contentType }, text);
    } else {
      sendError(res, new ClientFacingError(404, 'not_found', `no route ${path}; try POST /v1/infer`));
    }
  }

  const http = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (inFlight === 0 && inFlightZero.length) {
        const w = inFlightZero;
        inFlightZero = [];
        for (const r of w) r();
      }
    });
    route(req, res).catch((err) => {
      sendError(res, err);
    });
  });
  http.on('clientError', (_err, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  function spotReport(): SpotNoticeReport | undefined {
    if (!spot) return undefined;
    const acceptedInFlight = gate.snapshot().inFlight;
    return {
      action: spot.notice.action,
      time: spot.notice.time,
      noticedAt: new Date(spot.noticedAtMs).toISOString(),
      acceptedInFlight,
      drained: spot.drainedAtMs !== undefined,
    };
  }

  function checkSpotDrained(): void {
    if (!spot || spot.drainedAtMs !== undefined || gate.snapshot().inFlight > 0) return;
    spot.drainedAtMs = Date.now();
    log.warn(
      { spotNotice: spotReport(), drainMs: spot.drainedAtMs - spot.noticedAtMs },
      'spot notice: every accepted request answered; waiting for EC2 to reclaim the VM',
    );
  }

  let loading: Promise<void> | undefined;
  const server: VmServer = {
    metrics,
    http,
    load() {
      loading ??= (async () => {
        for (const name of variants.keys()) {
          const loaded = await opts.engine.load(name);
          // One inference before /readyz says ready: the first run is slow (functions/engine/warm-up.ts).
          const warmUpMs = opts.warmUp ? await warmUp(opts.engine, name) : undefined;
          log.info(
            { variant: name, source: loaded.resolved.source, sessionLoadMs: loaded.sessionLoadMs, warmUpMs },
            'model loaded',
          );
        }
        ready = true;
      })();
      return loading;
    },
    isReady: () => ready,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const a = http.address() as AddressInfo;
          resolve({ host, port: a.port });
        });
      });
    },
    spotNotice(notice) {
      if (spot) return;
      spot = { notice, noticedAtMs: Date.now() };
      log.warn(
        { spotNotice: spotReport(), leftMs: notice.timeMs - spot.noticedAtMs },
        'spot notice: EC2 reclaims this VM; refusing new requests (503 spot_reclaim), finishing the accepted ones',
      );
      // Queued requests stop waiting for batch-mates: dispatch them now.
      for (const b of batchers.values()) void b.drain();
      checkSpotDrained();
    },
    spotReport,
    async drain({ forceAfterMs = 30_000 } = {}) {
      draining = true;
      const closed = new Promise<void>((r) => http.close(() => r()));
      await Promise.all([...batchers.values()].map((b) => b.drain()));
      if (inFlight > 0) await new Promise<void>((r) => inFlightZero.push(r));
      http.closeIdleConnections();
      const timer = setTimeout(() => http.closeAllConnections(), forceAfterMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
  return server;
}
