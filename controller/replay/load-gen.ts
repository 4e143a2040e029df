/**
 * Open-loop load generator for `spillway replay` and the e2e tests: arrivals follow the trace's
 * (scaled) per-step rate with Poisson arrivals inside each second, independent of how fast the
 * target answers (a closed loop would hide overload by slowing down). Every request is a real
 * POST /v1/infer with a sample photo. /v1/status is polled once per second for the VM count and
 * the cost so far.
 */
import { Agent, request as httpRequest } from 'node:http';
import { ReplayError } from './errors.js';
import { mulberry32 as rng } from '../../functions/engine/synthetic/prng.js';

export interface ReplayTarget {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  apiKey?: string;
}

export interface LoadGenOptions extends ReplayTarget {
  /** Requests per second for each second of the run (already scaled). */
  rpsPerSecond: ArrayLike<number>;
  /**
   * Explicit send times (ms from the start, ascending) instead of drawing Poisson arrivals from
   * rpsPerSecond (which then only sets the duration): the fidelity bench replays the same arrival
   * times it gives the simulator. Default: poissonArrivalsMs(rpsPerSecond, seed).
   */
  arrivalsMs?: ArrayLike<number>;
  task: string;
  sloMs: number;
  minAccuracy: number;
  /** Base64 images cycled through. */
  imagesBase64: readonly string[];
  /** Client-side timeout per request; a request that hits it counts as lost. */
  requestTimeoutMs?: number;
  statusPollMs?: number;
  seed?: number;
  onProgress?: (p: ProgressSnapshot) => void;
  signal?: AbortSignal;
}

export interface ProgressSnapshot {
  elapsedS: number;
  durationS: number;
  sent: number;
  answered: number;
  inFlight: number;
  /** Answers per second over the last second. */
  rps: number;
  p99Ms: number;
  lambdaShare: number;
  vmsReady: number;
  vmsBooting: number;
}

export interface RequestOutcome {
  sentAtMs: number;
  /** Second of the run the request was sent in. */
  second: number;
  status: number | 'timeout' | 'error';
  latencyMs: number;
  /** The answer's own latency breakdown (200 only): router receipt to answer, split by phase. */
  server?: { queueMs: number; inferenceMs: number; coldStartMs: number; transportMs: number; totalMs: number };
  backend?: 'vm' | 'lambda';
  variant?: string;
  coldStart?: boolean;
  sloMet?: boolean;
  retries?: number;
  top1?: string;
  weights?: 'real' | 'synthetic';
  retryAfter?: string;
  /** For status 'error': what went wrong (connection reset, bad JSON, ...). */
  error?: string;
}

export interface StatusSample {
  atS: number;
  vmsReady: number;
  vmsBooting: number;
  lambdaInFlight: number;
  forecastRps: number | null;
  ec2Usd: number;
  lambdaUsd: number;
}

export interface LoadGenResult {
  startedAtMs: number;
  durationS: number;
  outcomes: RequestOutcome[];
  status: StatusSample[];
  /** Last /v1/status body seen (after the run). */
  finalStatus: unknown;
}

/** Poisson arrival offsets (ms) inside one second at `rate` rps: exponential gaps. */
function arrivalsInSecond(rate: number, rand: () => number): number[] {
  const out: number[] = [];
  if (!(rate > 0)) return out;
  let t = 0;
  for (;;) {
    t += -Math.log(1 - rand()) / rate;
    if (t >= 1) break;
    out.push(t * 1000);
  }
  return out;
}

/**
 * The load generator's arrival times (ms from the start, ascending) for per-second rates: Poisson
 * inside each second from a seeded PRNG. Exported so another consumer (the simulator in the
 * fidelity bench) can be given exactly the arrivals a replay sends.
 */
export function poissonArrivalsMs(rpsPerSecond: ArrayLike<number>, seed = 1): Float64Array {
  const rand = rng(seed);
  const out: number[] = [];
  for (let s = 0; s < rpsPerSecond.length; s++) {
    for (const off of arrivalsInSecond(rpsPerSecond[s] ?? 0, rand)) out.push(s * 1000 + off);
  }
  return Float64Array.from(out);
}

function headers(target: ReplayTarget, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(target.apiKey ? { 'x-api-key': target.apiKey } : {}), ...extra };
}

export function getJson(
  target: ReplayTarget,
  path: string,
  agent: Agent,
  timeoutMs = 5_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, target.url);
    const req = httpRequest(
      u,
      { method: 'GET', agent, headers: headers(target), timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if ((res.statusCode ?? 0) >= 400)
              reject(new ReplayError(`GET ${path} -> ${res.statusCode}: ${JSON.stringify(body)}`));
            else resolve(body);
          } catch (err) {
            reject(new ReplayError(`GET ${path}: bad JSON`, { cause: err }));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new ReplayError(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

interface StatusLike {
  fleet?: Array<{ state: string }>;
  lambda?: { inFlight?: number };
  forecastRps?: number | null;
  cost?: { ec2Usd?: number; lambdaUsd?: number };
}

export function statusSample(atS: number, s: unknown): StatusSample {
  const b = s as StatusLike;
  const fleet = b.fleet ?? [];
  return {
    atS,
    vmsReady: fleet.filter((v) => v.state === 'ready').length,
    vmsBooting: fleet.filter((v) => v.state === 'booting').length,
    lambdaInFlight: b.lambda?.inFlight ?? 0,
    forecastRps: b.forecastRps ?? null,
    ec2Usd: b.cost?.ec2Usd ?? 0,
    lambdaUsd: b.cost?.lambdaUsd ?? 0,
  };
}

function sendOne(
  target: ReplayTarget,
  agent: Agent,
  body: string,
  timeoutMs: number,
  sentAtMs: number,
  second: number,
  sloMs: number,
): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    const u = new URL('/v1/infer', target.url);
    let settled = false;
    const finish = (o: RequestOutcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const req = httpRequest(
      u,
      {
        method: 'POST',
        agent,
        headers: headers(target, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const latencyMs = performance.now() - sentAtMs;
          const status = res.statusCode ?? 0;
          const o: RequestOutcome = { sentAtMs, second, status, latencyMs };
          if (status === 200) {
            try {
              const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
                model: string;
                weights: 'real' | 'synthetic';
                backend: { kind: 'vm' | 'lambda'; coldStart: boolean };
                sloMet: boolean;
                retries: number;
                predictions: Array<{ label: string }>;
                latency?: RequestOutcome['server'];
              };
              o.backend = b.backend.kind;
              o.variant = b.model;
              o.coldStart = b.backend.coldStart;
              o.retries = b.retries;
              o.weights = b.weights;
              o.top1 = b.predictions[0]?.label;
              if (b.latency) o.server = b.latency;
              // The client's own clock decides SLO attainment (it includes the client->router hop).
              o.sloMet = latencyMs <= sloMs;
            } catch (err) {
              o.status = 'error';
              o.error = `bad answer: ${(err as Error).message}`;
            }
          } else {
            const ra = res.headers['retry-after'];
            if (typeof ra === 'string') o.retryAfter = ra;
          }
          finish(o);
        });
        res.on('error', () =>
          finish({ sentAtMs, second, status: 'error', latencyMs: performance.now() - sentAtMs }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => {
      finish({ sentAtMs, second, status: 'timeout', latencyMs: performance.now() - sentAtMs });
      req.destroy();
    });
    req.on('error', (err) =>
      finish({
        sentAtMs,
        second,
        status: 'error',
        latencyMs: performance.now() - sentAtMs,
        error: err.message,
      }),
    );
    req.end(body);
  });
}

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)]!;
}

export async function runLoad(o: LoadGenOptions): Promise<LoadGenResult> {
  if (o.imagesBase64.length === 0) throw new ReplayError('no sample images to send');
  const durationS = o.rpsPerSecond.length;
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const bodies = o.imagesBase64.map((image) =>
    JSON.stringify({ task: o.task, input: { image }, sloMs: o.sloMs, minAccuracy: o.minAccuracy }),
  );
  const timeoutMs = o.requestTimeoutMs ?? 60_000;
  const pending = new Set<Promise<RequestOutcome>>();
  const outcomes: RequestOutcome[] = [];
  const status: StatusSample[] = [];
  const startedAtMs = Date.now();
  const t0 = performance.now();
  let sent = 0;
  let lastStatus: StatusSample | undefined;
  let finalStatus: unknown;

  const poll = async () => {
    try {
      const s = await getJson(o, '/v1/status', agent);
      finalStatus = s;
      lastStatus = statusSample((performance.now() - t0) / 1000, s);
      status.push(lastStatus);
    } catch {
      // status is best-effort; the load must go on
    }
  };
  const pollTimer = setInterval(() => void poll(), o.statusPollMs ?? 1_000);
  await poll();

  const progress = () => {
    if (!o.onProgress) return;
    const nowS = (performance.now() - t0) / 1000;
    const recent = outcomes.filter((x) => x.sentAtMs + x.latencyMs >= performance.now() - 1000);
    const ok = recent.filter((x) => x.status === 200);
    const lat = outcomes
      .slice(-2000)
      .filter((x) => x.status === 200)
      .map((x) => x.latencyMs);
    o.onProgress({
      elapsedS: Math.min(durationS, nowS),
      durationS,
      sent,
      answered: outcomes.length,
      inFlight: pending.size,
      rps: recent.length,
      p99Ms: p99(lat),
      lambdaShare: ok.length > 0 ? ok.filter((x) => x.backend === 'lambda').length / ok.length : 0,
      vmsReady: lastStatus?.vmsReady ?? 0,
      vmsBooting: lastStatus?.vmsBooting ?? 0,
    });
  };
  const progressTimer = setInterval(progress, 250);

  const schedule = o.arrivalsMs ?? poissonArrivalsMs(o.rpsPerSecond, o.seed ?? 1);
  try {
    for (let i = 0; i < schedule.length; i++) {
      if (o.signal?.aborted) break;
      const atMs = schedule[i]!;
      if (atMs >= durationS * 1000) break;
      const due = t0 + atMs;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const body = bodies[sent % bodies.length]!;
      sent++;
      const p = sendOne(o, agent, body, timeoutMs, performance.now(), Math.floor(atMs / 1000), o.sloMs);
      pending.add(p);
      void p.then((x) => {
        pending.delete(p);
        outcomes.push(x);
      });
    }
    // Idle to the end of the run so trailing empty seconds still take their time.
    const toEnd = t0 + durationS * 1000 - performance.now();
    if (toEnd > 1 && !o.signal?.aborted) await new Promise((r) => setTimeout(r, toEnd));
    await Promise.all([...pending]);
  } finally {
    clearInterval(pollTimer);
    clearInterval(progressTimer);
    progress();
  }
  await poll();
  agent.destroy();
  outcomes.sort((a, b) => a.sentAtMs - b.sentAtMs);
  for (const x of outcomes) x.sentAtMs = startedAtMs + (x.sentAtMs - t0);
  return { startedAtMs, durationS, outcomes, status, finalStatus };
}
