/**
 * The public inference API on node:http. Routes:
 *   POST /v1/infer                  model-less (task + SLO + min accuracy)
 *   POST /v1/models/{name}/infer    model-specific
 *   GET  /v1/models                 variants, accuracy and its source, weights real/synthetic, profile summary
 *   GET  /v1/status                 fleet, current plan, traffic split, forecast, cost so far by tier
 *   GET  /v1/history[?since=ms]     the last hour, one sample per tick, and the last decisions in words
 *   GET  /                          the live dashboard (dashboard.ts), its echarts at /dashboard/echarts.min.js
 *   POST /v1/vms/{id}/reclaim       local world: give a Spot VM EC2's interruption notice (reclaim-route.ts)
 *   GET  /healthz, /readyz, /metrics (Prometheus), /openapi.json
 * Every POST passes admission (admission.ts) before its body is read: beyond the in-flight limits
 * it gets 503 `overloaded` + Retry-After at once, its body unread; GET routes never wait behind it.
 * With an API key, every path but the health probes and the dashboard's page and script needs it,
 * checked before routing (the page's data calls carry the key). HEAD works
 * wherever GET does; 405 carries Allow; an answer given before the body was read closes the connection.
 * No framework: the router's own added latency budget is <= 1 ms p99.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { spillwayHome } from '../../functions/engine/registry.js';
import { readVerifyStore, verificationSummary } from '../../profiles/lib/verify-store.js';
import { type DispatchDeps, dispatch } from './dispatch.js';
import { AdmissionGate, type AdmissionLimits, DEFAULT_ADMISSION, overloaded } from './admission.js';
import { ApiError, BodyIncompleteError, DeadlineError, MethodNotAllowedError, UnauthorizedError } from './errors.js';
import { parseWithRawImage } from './raw-image-input.js';
import { closeAfterAnswer, parseJsonBody, readBody, sendError, sendJson } from './http-util.js';
import type { ApiMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import { DASHBOARD_ECHARTS_PATH, dashboardHtml, echartsBrowserBuild } from './dashboard.js';
import { handleProtocolRoutes, isProtocolPath } from './protocols/routes.js';
import {
  type HistoryResponse,
  InferRequestSchema,
  ModelInferRequestSchema,
  type ModelsResponse,
  type StatusResponse,
} from './schemas.js';
import type { PlannerFacts } from '../core/policy-types.js';
import type { FaultInjectionPort } from '../ports.js';
import { RECLAIM_ROUTE, reclaimVm } from './reclaim-route.js';

export interface ApiServerOptions extends DispatchDeps {
  /** $SPILLWAY_HOME whose verify.json (`spillway models verify`) GET /v1/models reports; default spillwayHome(). */
  home?: string;
  metrics: ApiMetrics;
  apiKey?: string;
  maxBodyBytes: number;
  /** The whole body must arrive within this; 408 otherwise (default 10 s). */
  bodyTimeoutMs?: number;
  /** The world's fault injection (local world only): POST /v1/vms/{id}/reclaim (reclaim-route.ts). */
  faults?: FaultInjectionPort;
  /** Admission limits (admission.ts); default DEFAULT_ADMISSION. */
  admission?: Partial<Omit<AdmissionLimits, 'maxBodyBytes'>>;
}

/** The API server with its admission gate (GET /readyz and the tests read its counts). */
export type ApiServer = Server & { admission: AdmissionGate };

const MODEL_INFER = /^\/v1\/models\/([^/]+)\/infer$/;

/** Liveness probes answer without the key (load balancers carry none); every other path needs it. */
function isPublicPath(path: string): boolean {
  // The dashboard's page and its charting library hold no data: they load without the key, and
  // the page asks for it before its first data call.
  return path === '/healthz' || path === '/readyz' || path.startsWith('/v2/health/') || path === '/' || path === DASHBOARD_ECHARTS_PATH;
}

/** `?since=<ms>` of /v1/history: a number, else 400 naming the parameter. */
function sinceParam(query: string): number | undefined {
  const raw = new URLSearchParams(query).get('since');
  if (raw === null || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new ApiError(400, 'invalid_request', `since must be a time in ms since the epoch, got '${raw.slice(0, 50)}'`, 'since');
  return v;
}

/** HEAD works wherever GET does (node sends the headers and drops the body). */
function isGet(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** Malformed percent-escapes (`%E0%A4%A`) are the caller's error: 400 naming the path, not a 500. */
function checkPathEscapes(path: string): void {
  try {
    decodeURIComponent(path);
  } catch (cause) {
    throw new ApiError(400, 'invalid_path', `path '${path.slice(0, 200)}' has a malformed percent-escape`, 'path', undefined, {
      cause,
    });
  }
}

/**
 * Where a response keeps the function that moves its guard to the request's deadline. A property,
 * not a WeakMap: a WeakMap entry per request (1,000 a second at the router's target rate) is an
 * ephemeron every garbage collection must process; a property dies with its response.
 */
const REARM_GUARD = Symbol('rearmGuard');
type GuardedResponse = ServerResponse & { [REARM_GUARD]?: (deadlineMs: number) => void };

/** The last-line guard answers this long after a request's own deadline (dispatch's 504 comes first). */
const GUARD_SLACK_MS = 1_000;

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const startedAt = Date.now();
  const gate = new AdmissionGate({
    maxInFlight: opts.admission?.maxInFlight ?? DEFAULT_ADMISSION.maxInFlight,
    maxInFlightBodyBytes: opts.admission?.maxInFlightBodyBytes ?? DEFAULT_ADMISSION.maxInFlightBodyBytes,
    maxBodyBytes: opts.maxBodyBytes,
  });
  const now = opts.now ?? Date.now;
  const openapiText = JSON.stringify(buildOpenApiDocument({ apiKeyRequired: opts.apiKey !== undefined }));
  const keyBuf = opts.apiKey ? Buffer.from(opts.apiKey) : undefined;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? 10_000;
  const protocolDeps = { ...opts, apiKey: keyBuf, bodyTimeoutMs };

  function checkKey(req: IncomingMessage): void {
    if (!keyBuf) return;
    const got = req.headers['x-api-key'];
    const b = typeof got === 'string' ? Buffer.from(got) : undefined;
    if (!b || b.length !== keyBuf.length || !timingSafeEqual(b, keyBuf)) throw new UnauthorizedError();
  }

  function checkJson(req: IncomingMessage): void {
    const ct = req.headers['content-type'];
    if (ct !== undefined && !ct.toLowerCase().startsWith('application/json')) {
      throw new ApiError(415, 'unsupported_media_type', `content-type must be application/json, got '${ct}'`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAtMs = now();
    const receivedPerfMs = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const method = req.method ?? 'GET';
    // OIP (/v2) and SageMaker (/endpoints/) check the key and shape their errors themselves.
    if (isProtocolPath(path) && (await handleProtocolRoutes(protocolDeps, req, res, path, method, receivedAtMs, receivedPerfMs))) return;
    checkPathEscapes(path);
    // Key first, before any routing: without it a caller learns nothing (not even which routes exist).
    if (!isPublicPath(path)) checkKey(req);
    const body = () => readBody(req, opts.maxBodyBytes, bodyTimeoutMs);

    if (path === '/') {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        // Nothing but the controller itself: scripts, styles, data and images from this origin only.
        'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
      });
      res.end(dashboardHtml());
      return;
    }
    if (path === DASHBOARD_ECHARTS_PATH) {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' });
      res.end(echartsBrowserBuild());
      return;
    }
    if (path === '/healthz') {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      sendJson(res, 200, { status: 'ok', uptimeS: (Date.now() - startedAt) / 1000 });
      return;
    }
    if (path === '/readyz') {
      // Ready while it listens (a draining server answers 503 from drain.ts before this): a router
      // at its admission limit is still ready, or a balancer would pull every router under overload.
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      sendJson(res, 200, { status: 'ready', admission: gate.snapshot() });
      return;
    }
    if (path === '/openapi.json') {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(openapiText);
      return;
    }
    if (path === '/metrics') {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      refreshGauges(opts, now());
      const text = await opts.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path === '/v1/infer') {
      if (method !== 'POST') throw new MethodNotAllowedError(method, ['POST']);
      checkJson(req);
      const buf = await body();
      // The common case (an image) skips parsing the image itself (raw-image-input.ts).
      const r = parseWithRawImage(buf, InferRequestSchema) ?? parseJsonBody(buf, InferRequestSchema);
      const answer = await dispatch(
        opts,
        {
          task: r.task,
          input: r.input,
          sloMs: r.sloMs,
          minAccuracy: r.minAccuracy,
          ...(r.budgetMs !== undefined ? { budgetMs: r.budgetMs } : {}),
          ...(r.topK !== undefined ? { topK: r.topK } : {}),
          ...(r.acceptLate !== undefined ? { acceptLate: r.acceptLate } : {}),
          onDeadline: (deadlineMs) => (res as GuardedResponse)[REARM_GUARD]?.(deadlineMs),
        },
        receivedAtMs,
        receivedPerfMs,
      );
      sendJson(res, 200, answer);
      return;
    }
    const m = MODEL_INFER.exec(path);
    if (m) {
      if (method !== 'POST') throw new MethodNotAllowedError(method, ['POST']);
      checkJson(req);
      const name = decodeURIComponent(m[1]!);
      const served = opts.runtime.variants.get(name);
      if (!served) {
        throw new ApiError(
          404,
          'not_found',
          `unknown model '${name}'; served: ${[...opts.runtime.variants.keys()].join(', ')}`,
          'name',
        );
      }
      const buf = await body();
      const r = parseWithRawImage(buf, ModelInferRequestSchema) ?? parseJsonBody(buf, ModelInferRequestSchema);
      const answer = await dispatch(
        opts,
        {
          task: served.info.task,
          input: r.input,
          sloMs: r.sloMs ?? opts.runtime.env.sloMs,
          minAccuracy: 0,
          variant: name,
          ...(r.budgetMs !== undefined ? { budgetMs: r.budgetMs } : {}),
          ...(r.topK !== undefined ? { topK: r.topK } : {}),
          ...(r.acceptLate !== undefined ? { acceptLate: r.acceptLate } : {}),
          onDeadline: (deadlineMs) => (res as GuardedResponse)[REARM_GUARD]?.(deadlineMs),
        },
        receivedAtMs,
        receivedPerfMs,
      );
      sendJson(res, 200, answer);
      return;
    }
    const reclaim = RECLAIM_ROUTE.exec(path);
    if (reclaim) {
      if (method !== 'POST') throw new MethodNotAllowedError(method, ['POST']);
      checkJson(req);
      sendJson(res, 200, reclaimVm(opts, reclaim[1]!, await body()));
      return;
    }
    if (path === '/v1/models') {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      sendJson(res, 200, modelsBody(opts));
      return;
    }
    if (path === '/v1/status') {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      sendJson(res, 200, statusBody(opts, now()));
      return;
    }
    if (path === '/v1/history') {
      if (!isGet(method)) throw new MethodNotAllowedError(method, ['GET', 'HEAD']);
      sendJson(res, 200, historyBody(opts, now(), sinceParam(q >= 0 ? url.slice(q + 1) : '')));
      return;
    }
    throw new ApiError(404, 'not_found', `no route ${method} ${path}; see /openapi.json`);
  }

  // Last line of defence for "nothing hangs": whatever an adapter does, the caller gets an answer
  // shortly after the dispatch deadline (backendTimeoutMs + 2 s of slack for retries' bookkeeping).
  // While the body is still arriving no backend has been tried: that is the client's 408, not a 504.
  const guardMs = opts.backendTimeoutMs + 2_000;
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (req.method === 'POST') {
      // Admission from the headers and the in-flight counts alone, before the body is touched.
      const release = gate.admit(req.headers);
      if (typeof release !== 'function') {
        // Load the planner must see (the arrival rate), though its task is unknown (body unread).
        opts.runtime.host.arrived(1);
        opts.runtime.host.rejected(503);
        opts.metrics.requests.inc({ backend: 'shed', variant: '', status: '503' });
        closeAfterAnswer(req, res);
        sendError(res, overloaded(release));
        return;
      }
      res.once('close', release);
    }
    const fire = (ms: number) => () => {
      if (res.headersSent) return;
      closeAfterAnswer(req, res);
      sendError(
        res,
        req.complete
          ? new DeadlineError(`no answer within ${Math.round(ms)} ms`)
          : new BodyIncompleteError(`request body not received in full within ${Math.round(ms)} ms`),
      );
    };
    let guard = setTimeout(fire(guardMs), guardMs);
    guard.unref();
    const arrivedMs = now();
    // Once dispatch knows the request's deadline, the guard moves to it + GUARD_SLACK_MS.
    (res as GuardedResponse)[REARM_GUARD] = (deadlineMs: number) => {
      clearTimeout(guard);
      const ms = Math.max(0, deadlineMs + GUARD_SLACK_MS - now());
      guard = setTimeout(fire(deadlineMs + GUARD_SLACK_MS - arrivedMs), ms);
      guard.unref();
    };
    res.on('close', () => clearTimeout(guard));
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        if (!res.writableEnded) res.destroy();
        return;
      }
      // Answered before the body was read (401, 404, 413, 408...): do not read the rest of it.
      closeAfterAnswer(req, res);
      if (err instanceof ApiError) {
        if (err.status >= 500 || err.code === 'invalid_path') opts.log?.warn({ err, path: req.url }, 'request refused');
        sendError(res, err);
      } else {
        // Never leak internals on a 5xx; the details go to the log.
        opts.log?.error({ err, method: req.method, path: req.url }, 'internal error');
        sendError(res, new ApiError(500, 'internal', 'internal error'));
      }
    });
  });
  return Object.assign(server, { admission: gate });
}

export function modelsBody(opts: Pick<ApiServerOptions, 'runtime' | 'home'>): ModelsResponse {
  const verified = readVerifyStore(opts.home ?? spillwayHome());
  const models = [...opts.runtime.variants.values()].map((s) => {
    const v = s.variant;
    const p = s.info.profile;
    const b1 = p.measurements.find((m) => m.batchSize === 1 && m.intraOpThreads === 1) ?? p.measurements[0];
    return {
      name: v.name,
      task: v.task,
      architecture: v.architecture,
      weights: v.weights,
      accuracy: { top1: v.accuracy.top1, source: v.accuracy.source, appliesTo: v.accuracy.appliesTo },
      input: { dtype: v.input.dtype, shape: v.input.shape, layout: v.input.layout },
      profile: {
        measuredOn: `${p.machine.cpuModel} (${p.machine.cores} cores), ${p.machine.measuredAt}`,
        sessionLoadMs: p.sessionLoadMs,
        p50MsBatch1: b1?.p50Ms ?? null,
        p99MsBatch1: b1?.p99Ms ?? null,
        modelSizeBytes: p.modelSizeBytes,
        source: s.profileSource,
      },
      verification: verificationSummary(verified, v.name),
    };
  });
  return { models };
}

function refreshGauges(opts: ApiServerOptions, nowMs: number): void {
  const m = opts.metrics;
  const rt = opts.runtime;
  m.vms.reset();
  for (const v of rt.vms) m.vms.inc({ state: v.state });
  m.lambdaInFlight.set(rt.lambda.inFlight);
  m.forecastRps.set(rt.lastDecision?.forecastRps ?? 0);
  const ec2 = rt.ec2Cost(nowMs);
  m.costUsd.set({ tier: 'ec2' }, ec2.total);
  m.costUsd.set({ tier: 'lambda' }, rt.lambdaUsd);
}

export function statusBody(opts: Pick<ApiServerOptions, 'runtime'>, nowMs: number): StatusResponse {
  const rt = opts.runtime;
  const d = rt.lastDecision;
  const ec2 = rt.ec2Cost(nowMs);
  const hist = rt.arrivalRpsHistory;
  return {
    nowMs,
    policy: rt.policy.name,
    fleet: rt.vms.map((v) => ({
      id: v.id,
      instanceType: v.instanceType,
      variant: v.variant,
      state: v.state,
      launchedAtMs: v.launchedAtMs,
      readyAtMs: v.readyAtMs ?? null,
      outstanding: v.outstanding,
      slots: v.slots,
      endpoint: rt.endpointOf(v.id) ?? null,
    })),
    lambda: {
      memoryMbByVariant: { ...rt.lambda.memoryMbByVariant },
      warmIdleByVariant: { ...rt.lambda.warmIdleByVariant },
      inFlight: rt.lambda.inFlight,
      concurrencyLimit: rt.lambda.concurrencyLimit,
      throttledUntilMs: rt.lambda.throttledUntilMs ?? null,
    },
    plan: d
      ? {
          atMs: d.atMs,
          launch: d.launch,
          terminate: d.terminate,
          lambdaMemoryMb: d.lambdaMemoryMb,
          variantShares: d.variantShares,
          notes: d.notes,
          summary: d.summary,
          facts: d.facts ? factsBody(d.facts) : null,
        }
      : null,
    forecastRps: d ? d.forecastRps : null,
    launchBackoff: rt.host.launchBackoff ? { ...rt.host.launchBackoff } : null,
    traffic: {
      totals: { ...rt.totals },
      ...rt.traffic(nowMs),
      arrivalRps: hist.length > 0 ? hist[hist.length - 1]! : 0,
    },
    cost: {
      ec2Usd: ec2.total,
      lambdaUsd: rt.lambdaUsd,
      totalUsd: ec2.total + rt.lambdaUsd,
      ec2ByInstanceType: ec2.byInstanceType,
    },
  };
}

const finiteOrNull = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

function factsBody(f: PlannerFacts): NonNullable<NonNullable<StatusResponse['plan']>['facts']> {
  return {
    ...f,
    vmCapacityRps: { ...f.vmCapacityRps },
    breakEven: f.breakEven.map((b) => ({
      ...b,
      utilisation: finiteOrNull(b.utilisation),
      newVmUtilisation: finiteOrNull(b.newVmUtilisation),
    })),
  };
}

/** GET /v1/history: the host's samples (an hour at one per tick) and decisions, after `sinceMs` if given. */
export function historyBody(opts: Pick<ApiServerOptions, 'runtime'>, nowMs: number, sinceMs?: number): HistoryResponse {
  const rt = opts.runtime;
  const h = rt.host.history;
  const { samples, decisions } = h ? h.since(sinceMs) : { samples: [], decisions: [] };
  return {
    nowMs,
    runId: rt.host.runId,
    tickIntervalMs: rt.env.tickIntervalMs,
    sloMs: rt.env.sloMs,
    capacity: h ? h.samples.capacity : 0,
    samples: samples.map((s) => ({
      ...s,
      breakEven: s.breakEven ? { ...s.breakEven, utilisation: finiteOrNull(s.breakEven.utilisation) } : null,
    })),
    decisions,
  };
}
