/**
 * Test profiles built in code (no measured files needed), with numbers from
 * shared/models/README.md (1- and 2-thread medians on a 2-vCPU Zen 3 VM) and published accuracies.
 * The latency model is fitted exactly through the two points: with delta = 0,
 * l(1,1) = gamma + epsilon + eta = L1 and l(1,2) = (gamma + epsilon)/2 + eta = L2, so
 * eta = 2 L2 - L1 and gamma + epsilon = L1 - eta (split 90/10).
 */
import { type Catalog, loadCatalog } from '../../profiles/catalog.js';
import { predictLatencyMs, type VariantProfile } from '../../profiles/schema.js';
import { lambdaCostPerRequest, lambdaVcpu } from '../../profiles/pricing.js';
import type { PolicyEnv, VariantInfo, VmView } from '../../controller/core/policy-types.js';

export const catalog: Catalog = loadCatalog();

export interface FixtureSpec {
  name: string;
  oneThreadMs: number;
  twoThreadMs: number;
  accuracy: number | null;
  sessionLoadMs: number;
  task?: string;
}

export const REAL_MODELS: readonly FixtureSpec[] = [
  { name: 'mobilenet_v1_0.5_128_quant', oneThreadMs: 1.35, twoThreadMs: 0.81, accuracy: 54.9, sessionLoadMs: 10 },
  { name: 'shufflenet_v2_1.0_qdq', oneThreadMs: 4.8, twoThreadMs: 3.35, accuracy: 66.12, sessionLoadMs: 33 },
  { name: 'squeezenet_caffe2_fp16', oneThreadMs: 8.57, twoThreadMs: 4.51, accuracy: null, sessionLoadMs: 18 },
  { name: 'mobilenet_v2_1.0_int8_onnxzoo', oneThreadMs: 6.0, twoThreadMs: 3.27, accuracy: 68.3, sessionLoadMs: 13 },
  { name: 'mobilenet_v2_1.0_224_int8_per_tensor_st', oneThreadMs: 11.91, twoThreadMs: 8.47, accuracy: 64.53, sessionLoadMs: 44 },
];

/** A 10-50x cost spread like ResNet-18..152 (synthetic weights; accuracy as published for the architectures). */
export const WIDE_MODELS: readonly FixtureSpec[] = [
  { name: 'resnet18', oneThreadMs: 30, twoThreadMs: 16, accuracy: 69.76, sessionLoadMs: 120 },
  { name: 'resnet34', oneThreadMs: 60, twoThreadMs: 32, accuracy: 73.31, sessionLoadMs: 200 },
  { name: 'resnet50', oneThreadMs: 80, twoThreadMs: 42, accuracy: 76.13, sessionLoadMs: 260 },
  { name: 'resnet101', oneThreadMs: 150, twoThreadMs: 78, accuracy: 77.37, sessionLoadMs: 450 },
  { name: 'resnet152', oneThreadMs: 220, twoThreadMs: 114, accuracy: 78.31, sessionLoadMs: 600 },
];

export function makeProfile(spec: FixtureSpec, cat: Catalog = catalog): VariantProfile {
  const eta = Math.max(0.05, 2 * spec.twoThreadMs - spec.oneThreadMs);
  const rest = Math.max(0.05, spec.oneThreadMs - eta);
  const latencyModel = { gammaMs: rest * 0.9, deltaMs: 0, epsilonMs: rest * 0.1, etaMs: eta, fitMapePct: 2, p99OverP50: 1.5 };
  const lambda = cat.lambda.memoryOptionsMb.map((memoryMb) => {
    const vcpu = lambdaVcpu(cat, memoryMb);
    const p50Ms = predictLatencyMs(latencyModel, 1, vcpu) + 1; // +1 ms preprocessing of a small image
    return {
      memoryMb,
      vcpu,
      p50Ms,
      p99Ms: p50Ms * 1.5,
      coldStartMs: cat.lambda.runtimeInitMs + 300 + spec.sessionLoadMs,
      costPerRequestUsd: lambdaCostPerRequest(cat, memoryMb, p50Ms, 'x86_64'),
    };
  });
  const instances = cat.ec2.instanceTypes.map((t) => {
    const p50 = predictLatencyMs(latencyModel, 1, 1) + 1;
    const throughputRps = (t.vcpu * 1000) / p50;
    return {
      instanceType: t.name,
      vcpu: t.vcpu,
      replicas: t.vcpu,
      intraOpThreads: 1,
      batchSize: 1,
      throughputRps,
      p99Ms: p50 * 1.5,
      costPerMillionUsd: (t.pricePerHourUsd / (throughputRps * 3600)) * 1e6,
    };
  });
  return {
    schemaVersion: 1,
    variant: spec.name,
    task: spec.task ?? 'image-classification',
    weights: 'real',
    accuracyTop1: spec.accuracy,
    machine: {
      cpuModel: 'test fixture (numbers from shared/models/README.md)',
      cores: 2,
      memoryGib: 24,
      arch: 'x64',
      os: 'linux',
      node: 'v20',
      onnxruntime: '1.30.0',
      measuredAt: '2026-11-22T00:00:00Z',
    },
    modelSizeBytes: 3_000_000,
    sessionLoadMs: spec.sessionLoadMs,
    peakRssMb: 120,
    measurements: [
      { batchSize: 1, intraOpThreads: 1, samples: 100, p50Ms: spec.oneThreadMs, p95Ms: spec.oneThreadMs * 1.3, p99Ms: spec.oneThreadMs * 1.5, meanMs: spec.oneThreadMs },
      { batchSize: 1, intraOpThreads: 2, samples: 100, p50Ms: spec.twoThreadMs, p95Ms: spec.twoThreadMs * 1.3, p99Ms: spec.twoThreadMs * 1.5, meanMs: spec.twoThreadMs },
    ],
    latencyModel,
    referenceSloMs: 200,
    lambda,
    instances,
  };
}

export function variantInfo(spec: FixtureSpec): VariantInfo {
  const profile = makeProfile(spec);
  return { name: spec.name, task: profile.task, accuracyTop1: spec.accuracy, weights: 'real', profile };
}

export function makeEnv(specs: readonly FixtureSpec[] = REAL_MODELS, over: Partial<PolicyEnv> = {}): PolicyEnv {
  return {
    catalog,
    variants: specs.map(variantInfo),
    sloMs: 200,
    tickIntervalMs: 10_000,
    instanceTypes: ['c5.large', 'c5.xlarge', 'c6g.large'],
    lambdaArch: 'x86_64',
    lambdaConcurrencyLimit: 1000,
    ...over,
  };
}

/** A ready c5.large VM of variant 'm' (2 slots, idle, nominal speed); `over` changes any field. */
export function readyVm(id: string, over: Partial<VmView> = {}): VmView {
  return { id, instanceType: 'c5.large', variant: 'm', state: 'ready', launchedAtMs: 0, readyAtMs: 0, outstanding: 0, slots: 2, slowdown: 1, ...over };
}
