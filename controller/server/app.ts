/**
 * The public inference API on node:http. Routes:
 *   POST /v1/infer                  model-less (task + SLO + min accuracy)
 *   POST /v1/models/{name}/infer    model-specific
 *   GET  /v1/models                 variants, accuracy and its source, weights real/synthetic, profile summary
 *   GET  /v1/status                 fleet, current plan, traffic split, forecast, cost so far by tier
 *   GET  /healthz, /metrics (Prometheus), /openapi.json
 * No framework: the router's own added latency budget is <= 1 ms p99.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { spillwayHome } from '../../functions/engine/registry.js';
import { readVerifyStore, verificationSummary } from '../../profiles/lib/verify-store.js';
import { type DispatchDeps, dispatch } from './dispatch.js';
import { ApiError, DeadlineError, UnauthorizedError } from './errors.js';
import { parseJsonBody, readBody, sendError, sendJson } from './http-util.js';
import type { ApiMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import {
  InferRequestSchema,
  ModelInferRequestSchema,
  type ModelsResponse,
  type StatusResponse,
} from './schemas.js';

export interface ApiServerOptions extends DispatchDeps {
  /** $SPILLWAY_HOME whose verify.json (`spillway models verify`) GET /v1/models reports; default spillwayHome(). */
  home?: string;
  metrics: ApiMetrics;
  apiKey?: string;
  maxBodyBytes: number;
}

const MODEL_INFER = /^\/v1\/models\/([^/]+)\/infer$/;

export function createApiServer(opts: ApiServerOptions): Server {
  const startedAt = Date.now();
  const now = opts.now ?? Date.now;
  const openapiText = JSON.stringify(buildOpenApiDocument({ apiKeyRequired: opts.apiKey !== undefined }));
  const keyBuf = opts.apiKey ? Buffer.from(opts.apiKey) : undefined;

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

    if (path === '/healthz' && method === 'GET') {
      sendJson(res, 200, { status: 'ok', uptimeS: (Date.now() - startedAt) / 1000 });
      return;
    }
    if (path === '/openapi.json' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(openapiText);
      return;
    }
    if (path === '/metrics' && method === 'GET') {
      refreshGauges(opts, now());
      const text = await opts.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path === '/v1/infer') {
      if (method !== 'POST') throw methodNotAllowed(method, 'POST');
      checkKey(req);
      checkJson(req);
      const body = parseJsonBody(await readBody(req, opts.maxBodyBytes), InferRequestSchema);
      const answer = await dispatch(
        opts,
        {
          task: body.task,
          input: body.input,
          sloMs: body.sloMs,
          minAccuracy: body.minAccuracy,
          ...(body.budgetMs !== undefined ? { budgetMs: body.budgetMs } : {}),
          ...(body.topK !== undefined ? { topK: body.topK } : {}),
        },
        receivedAtMs,
        receivedPerfMs,
      );
      sendJson(res, 200, answer);
      return;
    }
    const m = MODEL_INFER.exec(path);
    if (m) {
      if (method !== 'POST') throw methodNotAllowed(method, 'POST');
      checkKey(req);
      checkJson(req);
      const name = decodeURIComponent(m[1]!);
      const served = opts.runtime.variants.get(name);
      if (!served) {
        req.resume();
        throw new ApiError(
          404,
          'not_found',
          `unknown model '${name}'; served: ${[...opts.runtime.variants.keys()].join(', ')}`,
          'name',
        );
      }
      const body = parseJsonBody(await readBody(req, opts.maxBodyBytes), ModelInferRequestSchema);
      const answer = await dispatch(
        opts,
        {
          task: served.info.task,
          input: body.input,
          sloMs: body.sloMs ?? opts.runtime.env.sloMs,
          minAccuracy: 0,
          variant: name,
          ...(body.budgetMs !== undefined ? { budgetMs: body.budgetMs } : {}),
          ...(body.topK !== undefined ? { topK: body.topK } : {}),
        },
        receivedAtMs,
        receivedPerfMs,
      );
      sendJson(res, 200, answer);
      return;
    }
    if (path === '/v1/models') {
      if (method !== 'GET') throw methodNotAllowed(method, 'GET');
      checkKey(req);
      sendJson(res, 200, modelsBody(opts));
      return;
    }
    if (path === '/v1/status') {
      if (method !== 'GET') throw methodNotAllowed(method, 'GET');
      checkKey(req);
      sendJson(res, 200, statusBody(opts, now()));
      return;
    }
    throw new ApiError(404, 'not_found', `no route ${method} ${path}; see /openapi.json`);
  }

  // Last line of defence for "nothing hangs": whatever an adapter does, the caller gets an answer
  // shortly after the dispatch deadline (backendTimeoutMs + 2 s of slack for retries' bookkeeping).
  const guardMs = opts.backendTimeoutMs + 2_000;
  return createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const guard = setTimeout(() => {
      if (!res.headersSent) sendError(res, new DeadlineError(`no answer within ${guardMs} ms`));
    }, guardMs);
    guard.unref();
    res.on('close', () => clearTimeout(guard));
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        if (!res.writableEnded) res.destroy();
        return;
      }
      if (err instanceof ApiError) {
        sendError(res, err);
      } else {
        // Never leak internals on a 5xx.
        sendError(res, new ApiError(500, 'internal', 'internal error'));
      }
    });
  });
}

function methodNotAllowed(got: string, allowed: string): ApiError {
  return new ApiError(405, 'method_not_allowed', `method ${got} not allowed; use ${allowed}`);
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
        }
      : null,
    forecastRps: d ? d.forecastRps : null,
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
