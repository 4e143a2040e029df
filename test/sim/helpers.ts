/**
 * Test fixtures for the simulator: hand-made profiles with exact latency models (so accounting can
 * be checked by hand), tiny traces, and a scripted policy (a real Policy object with fixed
 * behaviour: no mocks of the simulator).
 */
import { loadCatalog } from '../../profiles/catalog.js';
import { instanceEstimates, lambdaEstimates } from '../../profiles/lib/estimates.js';
import type { VariantProfile } from '../../profiles/schema.js';
import type { Policy, PolicyEnv, RouteDecision, TickDecision } from '../../controller/core/policy-types.js';
import { buildEnv } from '../../controller/sim/scenario.js';
import type { Trace } from '../../controller/sim/trace.js';

export const catalog = loadCatalog();

export function makeProfile(o: {
  variant: string;
  etaMs: number;
  gammaMs?: number;
  accuracy?: number | null;
  p99OverP50?: number;
  sessionLoadMs?: number;
  maxMeasuredBatch?: number;
}): VariantProfile {
  const latencyModel = {
    gammaMs: o.gammaMs ?? 0,
    deltaMs: 0,
    epsilonMs: 0,
    etaMs: o.etaMs,
    fitMapePct: 0,
    p99OverP50: o.p99OverP50 ?? 1,
  };
  const inputs = { model: latencyModel, sessionLoadMs: o.sessionLoadMs ?? 50, peakRssMb: 100, fixedBatch: false, referenceSloMs: 200 };
  return {
    schemaVersion: 1,
    variant: o.variant,
    task: 'image-classification',
    weights: 'real',
    accuracyTop1: o.accuracy === undefined ? 70 : o.accuracy,
    machine: { cpuModel: 'test', cores: 2, memoryGib: 4, arch: 'x64', os: 'linux', node: 'v20', onnxruntime: '1.30.0', measuredAt: '2026-11-22T00:00:00Z' },
    modelSizeBytes: 1000,
    sessionLoadMs: o.sessionLoadMs ?? 50,
    peakRssMb: 100,
    measurements: [{ batchSize: o.maxMeasuredBatch ?? 8, intraOpThreads: 1, samples: 10, p50Ms: o.etaMs, p95Ms: o.etaMs, p99Ms: o.etaMs, meanMs: o.etaMs }],
    latencyModel,
    referenceSloMs: 200,
    lambda: lambdaEstimates(catalog, inputs),
    instances: instanceEstimates(catalog, inputs),
  };
}

export function envWith(profiles: VariantProfile[], sloMs = 200, instanceTypes?: string[]): PolicyEnv {
  return buildEnv(catalog, new Map(profiles.map((p) => [p.variant, p])), { sloMs, instanceTypes });
}

export function makeTrace(rps: number[], stepS = 1, name = 'test-trace'): Trace {
  const arr = Float64Array.from(rps);
  const mean = rps.reduce((a, b) => a + b, 0) / rps.length;
  return {
    name,
    synthetic: true,
    stepS,
    rps: arr,
    durationS: rps.length * stepS,
    meanRps: mean,
    peakRps: Math.max(...rps),
    scale: 1,
    startS: 0,
    gaps: { held: 0, heldS: 0, skipped: 0, skippedS: 0 },
    notes: [],
  };
}

/** A scripted policy: launches `launch` at t=0, routes per `route`, records what it saw. */
export function scriptedPolicy(o: {
  launch?: Array<{ instanceType: string; variant: string; count: number }>;
  terminateAtMs?: number;
  route: 'vm' | 'lambda';
  variant: string;
  memoryMb?: number;
}): Policy<{ ticks: number }> & { seenForecasts: number[] } {
  const seen: number[] = [];
  return {
    name: `scripted-${o.route}`,
    usesLambda: o.route === 'lambda',
    seenForecasts: seen,
    init: () => ({ ticks: 0 }),
    tick(obs, s) {
      const d: TickDecision = { launch: [], terminate: [], lambdaMemoryMb: {}, variantShares: {}, forecastRps: 0, notes: [] };
      if (obs.nowMs === 0 && o.launch) d.launch = o.launch;
      if (o.terminateAtMs !== undefined && obs.nowMs >= o.terminateAtMs) d.terminate = obs.vms.map((v) => v.id);
      if (o.memoryMb) d.lambdaMemoryMb[o.variant] = o.memoryMb;
      return { decision: d, state: { ticks: s.ticks + 1 } };
    },
    route(_req, view): RouteDecision {
      if (o.route === 'lambda') {
        return { kind: 'lambda', variant: o.variant, memoryMb: o.memoryMb ?? 2048, expectedMs: 0, cold: false };
      }
      const vm = view.vms.find((v) => v.state === 'ready');
      return vm
        ? { kind: 'vm', vmId: vm.id, variant: o.variant, expectedMs: 0 }
        : { kind: 'reject', status: 503, retryAfterS: 1, reason: 'no vm' };
    },
    observe: (_c, s) => s,
  };
}
