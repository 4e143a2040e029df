/**
 * DEFAULT profiles, built in code, for when no measured profiles exist (fresh clone, or before
 * `npm run profile` has run). Every profile made here is labelled as a default in
 * `DEFAULT_PROFILE_NOTE`, and reports print that note.
 *
 * Real variants: batch-1 medians at 1 and 2 intra-op threads from shared/models/README.md
 * (2-vCPU AMD EPYC Zen 3, onnxruntime-node 1.30). Two points cannot pin four coefficients, so we
 * split l(1,c) = P/c + S: P = 2 (t1 - t2) is the part that parallelises, S = t1 - P the serial part,
 * then gamma = 0.9 P, epsilon = 0.1 P, delta = 0.8 S, eta = 0.2 S (batching amortises only the
 * per-call overheads epsilon and eta). E.g. MobileNetV2 zoo: t1 6.00, t2 3.27 -> P 5.46, S 0.54.
 *
 * Synthetic variants (resnet18/34/50-synthetic, as in functions/models/registry.json): seeded
 * random weights in the real layer structure, which give the simulator the 10-50x cost range
 * serving research uses. Their latencies here are ESTIMATES (FLOPs vs MobileNetV2: ResNet-18 1.8,
 * ResNet-34 3.6, ResNet-50 4.1 GFLOPs vs 0.3, fp32 vs int8), not measurements; weights are
 * 'synthetic' and the accuracy is the registry's published figure for the architecture (not for
 * these weights, which predict nothing).
 */
import type { Catalog } from '../../profiles/catalog.js';
import { instanceEstimates, lambdaEstimates } from '../../profiles/lib/estimates.js';
import type { LatencyModel, VariantProfile } from '../../profiles/schema.js';

export const DEFAULT_PROFILE_NOTE =
  'DEFAULT profiles (built in code from shared/models/README.md medians; resnet*-synthetic latencies are estimates): run `npm run profile` for measured ones';

interface Seed {
  variant: string;
  weights: 'real' | 'synthetic';
  accuracyTop1: number | null;
  t1Ms: number;
  t2Ms: number;
  sessionLoadMs: number;
  modelSizeBytes: number;
  peakRssMb: number;
}

const SEEDS: Seed[] = [
  { variant: 'mobilenet-v1-050-128-quant', weights: 'real', accuracyTop1: 54.9, t1Ms: 1.35, t2Ms: 0.81, sessionLoadMs: 9.8, modelSizeBytes: 1394525, peakRssMb: 120 },
  { variant: 'shufflenet-v2-10-qdq', weights: 'real', accuracyTop1: 66.12, t1Ms: 4.8, t2Ms: 3.35, sessionLoadMs: 33.3, modelSizeBytes: 2415805, peakRssMb: 130 },
  { variant: 'squeezenet-caffe2-fp16', weights: 'real', accuracyTop1: 56.85, t1Ms: 8.57, t2Ms: 4.51, sessionLoadMs: 17.8, modelSizeBytes: 2480000, peakRssMb: 140 },
  { variant: 'mobilenet-v2-10-int8-zoo', weights: 'real', accuracyTop1: 68.3, t1Ms: 6.0, t2Ms: 3.27, sessionLoadMs: 13.4, modelSizeBytes: 3655033, peakRssMb: 140 },
  { variant: 'mobilenet-v2-10-int8-st', weights: 'real', accuracyTop1: 64.53, t1Ms: 11.91, t2Ms: 8.47, sessionLoadMs: 44.4, modelSizeBytes: 3720000, peakRssMb: 140 },
  { variant: 'resnet18-synthetic', weights: 'synthetic', accuracyTop1: 69.758, t1Ms: 32, t2Ms: 17, sessionLoadMs: 180, modelSizeBytes: 46_800_000, peakRssMb: 260 },
  { variant: 'resnet34-synthetic', weights: 'synthetic', accuracyTop1: 73.314, t1Ms: 62, t2Ms: 33, sessionLoadMs: 330, modelSizeBytes: 87_300_000, peakRssMb: 380 },
  { variant: 'resnet50-synthetic', weights: 'synthetic', accuracyTop1: 76.13, t1Ms: 78, t2Ms: 41, sessionLoadMs: 420, modelSizeBytes: 102_500_000, peakRssMb: 420 },
];

export function latencyModelFromTwoPoints(t1Ms: number, t2Ms: number, p99OverP50 = 1.3): LatencyModel {
  const P = Math.max(0, 2 * (t1Ms - t2Ms));
  const S = Math.max(0.05, t1Ms - P);
  return {
    gammaMs: 0.9 * P,
    deltaMs: 0.8 * S,
    epsilonMs: 0.1 * P,
    etaMs: 0.2 * S,
    fitMapePct: 0,
    p99OverP50,
  };
}

/** Reference SLO for the derived estimates (matches the benchmark's 200 ms default). */
export const DEFAULT_REFERENCE_SLO_MS = 200;

export function defaultProfiles(catalog: Catalog, referenceSloMs = DEFAULT_REFERENCE_SLO_MS): Map<string, VariantProfile> {
  const out = new Map<string, VariantProfile>();
  for (const s of SEEDS) {
    const latencyModel = latencyModelFromTwoPoints(s.t1Ms, s.t2Ms);
    const inputs = {
      model: latencyModel,
      sessionLoadMs: s.sessionLoadMs,
      peakRssMb: s.peakRssMb,
      fixedBatch: false,
      referenceSloMs,
    };
    out.set(s.variant, {
      schemaVersion: 1,
      variant: s.variant,
      task: 'image-classification',
      weights: s.weights,
      accuracyTop1: s.accuracyTop1,
      machine: {
        cpuModel: 'AMD EPYC (Zen 3), 2 vCPU KVM — figures copied from shared/models/README.md (DEFAULT, not re-measured)',
        cores: 2,
        memoryGib: 24,
        arch: 'x64',
        os: 'linux',
        node: 'v20.20.2',
        onnxruntime: '1.30.0',
        measuredAt: '2026-11-22T00:00:00Z',
      },
      modelSizeBytes: s.modelSizeBytes,
      sessionLoadMs: s.sessionLoadMs,
      peakRssMb: s.peakRssMb,
      measurements: [
        { batchSize: 1, intraOpThreads: 1, samples: 100, p50Ms: s.t1Ms, p95Ms: s.t1Ms * 1.1, p99Ms: s.t1Ms * 1.3, meanMs: s.t1Ms },
        { batchSize: 1, intraOpThreads: 2, samples: 100, p50Ms: s.t2Ms, p95Ms: s.t2Ms * 1.1, p99Ms: s.t2Ms * 1.3, meanMs: s.t2Ms },
      ],
      latencyModel,
      referenceSloMs,
      lambda: lambdaEstimates(catalog, inputs),
      instances: instanceEstimates(catalog, inputs),
    });
  }
  return out;
}
