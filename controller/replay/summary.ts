/**
 * Turns a load-generator run into the final replay report: SLO attainment, loss, latency
 * percentiles (hdr-histogram-js), dollars by tier (from the target's /v1/status), and the split
 * over time (per-second rps, Lambda share, VMs ready/booting).
 */
import * as hdr from 'hdr-histogram-js';
import type { LoadGenResult } from './load-gen.js';

export interface ReplaySecond {
  t: number;
  sent: number;
  ok: number;
  vm: number;
  lambda: number;
  rejected: number;
  lost: number;
  p99Ms: number;
  lambdaShare: number;
  vmsReady: number;
  vmsBooting: number;
}

export interface ReplaySummary {
  target: string;
  trace: string;
  traceSynthetic: boolean;
  durationS: number;
  sloMs: number;
  sent: number;
  answered: number;
  /** 200 answers. */
  ok: number;
  /** 503 with Retry-After: a clear "come back later", not a loss. */
  rejected503: number;
  /** 504: the request's budget ran out and the API said so at the deadline (not a loss, not in SLO). */
  deadline504: number;
  /** Other 4xx/5xx. */
  otherErrors: number;
  /** No answer at all (client timeout, connection error). */
  lost: number;
  lostByKind: { timeout: number; error: number };
  /** ok within SLO / sent. */
  sloAttainment: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  lambdaShare: number;
  coldStarts: number;
  retried: number;
  byVariant: Record<string, number>;
  weights: Record<string, number>;
  /** Distinct top-1 labels answered (a quick check that predictions are real). */
  topLabels: string[];
  dollars: { ec2: number; lambda: number; total: number };
  maxVmsReady: number;
  perSecond: ReplaySecond[];
  notes: string[];
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
  // Record in microseconds for sub-ms resolution.
  for (const v of values) h.recordValue(Math.max(1, Math.round(v * 1000)));
  const out = h.getValueAtPercentile(q) / 1000;
  h.destroy();
  return out;
}

export function summarize(
  r: LoadGenResult,
  meta: { target: string; trace: string; traceSynthetic: boolean; sloMs: number; notes?: string[] },
): ReplaySummary {
  const o = r.outcomes;
  const ok = o.filter((x) => x.status === 200);
  const lat = ok.map((x) => x.latencyMs);
  const rejected503 = o.filter((x) => x.status === 503).length;
  const lost = o.filter((x) => x.status === 'timeout' || x.status === 'error').length;
  const deadline504 = o.filter((x) => x.status === 504).length;
  const otherErrors = o.length - ok.length - rejected503 - deadline504 - lost;
  const byVariant: Record<string, number> = {};
  const weights: Record<string, number> = {};
  for (const x of ok) {
    if (x.variant) byVariant[x.variant] = (byVariant[x.variant] ?? 0) + 1;
    if (x.weights) weights[x.weights] = (weights[x.weights] ?? 0) + 1;
  }
  const perSecond: ReplaySecond[] = [];
  for (let t = 0; t < r.durationS; t++) {
    perSecond.push({ t, sent: 0, ok: 0, vm: 0, lambda: 0, rejected: 0, lost: 0, p99Ms: 0, lambdaShare: 0, vmsReady: 0, vmsBooting: 0 });
  }
  const latBySecond = new Map<number, number[]>();
  for (const x of o) {
    const s = perSecond[x.second];
    if (!s) continue;
    s.sent++;
    if (x.status === 200) {
      s.ok++;
      if (x.backend === 'lambda') s.lambda++;
      else s.vm++;
      const l = latBySecond.get(x.second) ?? [];
      l.push(x.latencyMs);
      latBySecond.set(x.second, l);
    } else if (x.status === 503) s.rejected++;
    else if (x.status === 'timeout' || x.status === 'error') s.lost++;
  }
  for (const s of perSecond) {
    s.lambdaShare = s.ok > 0 ? s.lambda / s.ok : 0;
    const l = (latBySecond.get(s.t) ?? []).sort((a, b) => a - b);
    s.p99Ms = l.length > 0 ? l[Math.min(l.length - 1, Math.ceil(0.99 * l.length) - 1)]! : 0;
    // Status sample nearest to the end of this second.
    let best: (typeof r.status)[number] | undefined;
    for (const st of r.status) if (st.atS <= s.t + 1) best = st;
    if (best) {
      s.vmsReady = best.vmsReady;
      s.vmsBooting = best.vmsBooting;
    }
  }
  const last = r.status[r.status.length - 1];
  const first = r.status[0];
  // Dollars spent during the replay: the target's cumulative cost at the end minus at the start.
  const ec2 = Math.max(0, (last?.ec2Usd ?? 0) - (first?.ec2Usd ?? 0));
  const lambda = Math.max(0, (last?.lambdaUsd ?? 0) - (first?.lambdaUsd ?? 0));
  return {
    target: meta.target,
    trace: meta.trace,
    traceSynthetic: meta.traceSynthetic,
    durationS: r.durationS,
    sloMs: meta.sloMs,
    sent: o.length,
    answered: o.length - lost,
    ok: ok.length,
    rejected503,
    deadline504,
    otherErrors,
    lost,
    lostByKind: {
      timeout: o.filter((x) => x.status === 'timeout').length,
      error: o.filter((x) => x.status === 'error').length,
    },
    sloAttainment: o.length > 0 ? ok.filter((x) => x.sloMet).length / o.length : 1,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    maxMs: lat.length > 0 ? Math.max(...lat) : 0,
    lambdaShare: ok.length > 0 ? ok.filter((x) => x.backend === 'lambda').length / ok.length : 0,
    coldStarts: ok.filter((x) => x.coldStart).length,
    retried: ok.filter((x) => (x.retries ?? 0) > 0).length,
    byVariant,
    weights,
    topLabels: [...new Set(ok.map((x) => x.top1).filter((x): x is string => !!x))].sort(),
    dollars: { ec2, lambda, total: ec2 + lambda },
    maxVmsReady: r.status.reduce((m, s) => Math.max(m, s.vmsReady), 0),
    perSecond,
    notes: meta.notes ?? [],
  };
}
