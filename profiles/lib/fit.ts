/**
 * Fits Sponge's latency model l(b,c) = γ·b/c + δ·b + ε/c + η (ms) to measured p50 latencies,
 * b = batch size, c = intra-op threads (vCPUs).
 *
 * The model is linear in (γ, δ, ε, η) with features [b/c, b, 1/c, 1], so ordinary least squares
 * applies. Two choices, and why:
 *
 * 1. Relative least squares: we minimise Σ ((pred − y)/y)², i.e. weights 1/y². Measured latencies
 *    span two orders of magnitude (e.g. 1.3 ms at b=1 to 90 ms at b=16); plain absolute least
 *    squares would let the b=16 cells dominate and leave the b=1 cells (what a lightly loaded
 *    server actually runs) 20-50 % off. The reported quality figure is MAPE, which this matches.
 *
 * 2. Non-negative least squares when needed. Every term is a physical time (parallel per-item work,
 *    serial per-item work, parallel fixed overhead, serial fixed overhead), so each must be >= 0.
 *    With noise an unconstrained fit on c in {1,2} often returns e.g. η = −0.4 ms to buy a slightly
 *    better in-sample fit; that is harmless at c=1..2 but the estimates extrapolate to c = 6
 *    (Lambda 10,240 MB), where a negative term can predict ~0 or even negative latency and break
 *    "more memory is never slower". So: solve the unconstrained problem first; if any parameter is
 *    negative, solve the NNLS problem exactly by enumerating the 15 non-empty feature subsets
 *    (the NNLS optimum is the unconstrained optimum on its own support, so the best subset whose
 *    solution is all >= 0 is the NNLS optimum; with 4 features that is cheaper and simpler than an
 *    active-set iteration).
 *
 * Identifiability: with one batch size only (fixed-batch models) b/c ≡ 1/c and b ≡ 1, so we keep
 * only the per-item terms γ, δ: such a model serves a batch of b as b sequential runs, so its cost
 * scales with b. With one thread count only (a 1-core machine) b/c ≡ b and 1/c ≡ 1, so we keep
 * only the serial terms δ, η: no speed-up from more vCPUs is assumed (the conservative choice).
 */
import { type LatencyModel, predictLatencyMs } from '../schema.js';
import { FitError } from './errors.js';

export interface LatencyPoint {
  batchSize: number;
  intraOpThreads: number;
  p50Ms: number;
  p99Ms: number;
}

export type FitMethod = 'ols' | 'nnls';

export interface FitDetails {
  model: LatencyModel;
  method: FitMethod;
  /** Terms the data could identify (the others are fixed at 0). */
  identifiable: Array<'gamma' | 'delta' | 'epsilon' | 'eta'>;
}

const TERM_NAMES = ['gamma', 'delta', 'epsilon', 'eta'] as const;
/** Latencies below this (ms) are clamped before weighting, so a 0 ms reading cannot get infinite weight. */
const MIN_LATENCY_MS = 1e-3;

function features(b: number, c: number): [number, number, number, number] {
  return [b / c, b, 1 / c, 1];
}

/** Solves the square system M x = v by Gaussian elimination with partial pivoting; undefined if singular. */
export function solveLinear(matrix: number[][], vector: number[]): number[] | undefined {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i]!]);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(a[i]![i]!));
  const tol = Math.max(scale, 1e-300) * 1e-11;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    if (Math.abs(a[pivot]![col]!) <= tol) return undefined;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]!;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const row = a[r]!;
      const f = row[col]! / p[col]!;
      if (f === 0) continue;
      for (let k = col; k <= n; k++) row[k] = row[k]! - f * p[k]!;
    }
  }
  return a.map((row, i) => row[n]! / row[i]!);
}

interface SubsetSolution {
  coef: number[]; // length 4, zeros outside the subset
  sse: number;
}

/** Weighted least squares restricted to the feature indices in `subset`. */
function solveSubset(points: readonly LatencyPoint[], subset: readonly number[]): SubsetSolution | undefined {
  const k = subset.length;
  const m: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const v = new Array<number>(k).fill(0);
  for (const p of points) {
    const x = features(p.batchSize, p.intraOpThreads);
    const y = Math.max(p.p50Ms, MIN_LATENCY_MS);
    const w = 1 / (y * y);
    for (let i = 0; i < k; i++) {
      const xi = x[subset[i]!]!;
      v[i] = v[i]! + w * xi * y;
      for (let j = 0; j < k; j++) m[i]![j] = m[i]![j]! + w * xi * x[subset[j]!]!;
    }
  }
  const sol = solveLinear(m, v);
  if (!sol || sol.some((s) => !Number.isFinite(s))) return undefined;
  const coef = [0, 0, 0, 0];
  subset.forEach((f, i) => {
    coef[f] = sol[i]!;
  });
  let sse = 0;
  for (const p of points) {
    const x = features(p.batchSize, p.intraOpThreads);
    const y = Math.max(p.p50Ms, MIN_LATENCY_MS);
    const pred = x[0] * coef[0]! + x[1] * coef[1]! + x[2] * coef[2]! + x[3] * coef[3]!;
    sse += ((pred - y) / y) ** 2;
  }
  return { coef, sse };
}

function subsetsOf(items: readonly number[]): number[][] {
  const out: number[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) {
    out.push(items.filter((_, i) => (mask >> i) & 1));
  }
  return out;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Mean absolute percentage error of `model` over `points` (p50), in percent. */
export function mapePct(model: LatencyModel, points: readonly LatencyPoint[]): number {
  let sum = 0;
  for (const p of points) {
    const y = Math.max(p.p50Ms, MIN_LATENCY_MS);
    sum += Math.abs(predictLatencyMs(model, p.batchSize, p.intraOpThreads) - y) / y;
  }
  return (100 * sum) / points.length;
}

/** Fits the model and says how (OLS or NNLS) and which terms the data could identify. */
export function fitLatencyModelDetailed(points: readonly LatencyPoint[]): FitDetails {
  if (points.length === 0) throw new FitError('cannot fit the latency model: no measurements');
  for (const p of points) {
    if (!(p.batchSize > 0 && p.intraOpThreads > 0 && Number.isFinite(p.p50Ms) && p.p50Ms >= 0)) {
      throw new FitError(
        `cannot fit the latency model: bad measurement (batch ${p.batchSize}, threads ${p.intraOpThreads}, p50 ${p.p50Ms} ms)`,
      );
    }
  }
  const oneBatch = new Set(points.map((p) => p.batchSize)).size === 1;
  const oneThread = new Set(points.map((p) => p.intraOpThreads)).size === 1;
  let allowed = [0, 1, 2, 3];
  if (oneBatch) allowed = allowed.filter((f) => f === 0 || f === 1); // per-item terms only
  if (oneThread) allowed = allowed.filter((f) => f === 1 || f === 3); // serial terms only

  let method: FitMethod = 'ols';
  let best = solveSubset(points, allowed);
  if (!best || best.coef.some((c) => c < 0)) {
    method = 'nnls';
    best = undefined;
    for (const subset of subsetsOf(allowed)) {
      const s = solveSubset(points, subset);
      if (!s || s.coef.some((c) => c < 0)) continue;
      if (!best || s.sse < best.sse) best = s;
    }
  }
  if (!best) {
    throw new FitError(`cannot fit the latency model: the ${points.length} measurements are degenerate`);
  }
  const [gammaMs, deltaMs, epsilonMs, etaMs] = best.coef as [number, number, number, number];
  const ratios = points.filter((p) => p.p50Ms > 0).map((p) => p.p99Ms / p.p50Ms);
  const partial = { gammaMs, deltaMs, epsilonMs, etaMs, fitMapePct: 0, p99OverP50: 1 };
  const model: LatencyModel = {
    ...partial,
    fitMapePct: round(mapePct(partial, points), 3),
    p99OverP50: round(Math.max(1, ratios.length ? median(ratios) : 1), 4),
  };
  return { model, method, identifiable: allowed.map((f) => TERM_NAMES[f]!) };
}

/** Least-squares fit of l(b,c) = γ·b/c + δ·b + ε/c + η to p50 measurements (see the file comment). */
export function fitLatencyModel(points: readonly LatencyPoint[]): LatencyModel {
  return fitLatencyModelDetailed(points).model;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
