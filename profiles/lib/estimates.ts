/**
 * Derives per-resource estimates from a fitted latency model and the price catalog:
 * one Lambda estimate per catalog memory size, one instance estimate per catalog instance type.
 * Pure functions (no I/O): the planner, simulator and CDK stacks read the results from profiles.
 */
import type { Catalog, InstanceType } from '../catalog.js';
import { lambdaCostPerRequest, lambdaVcpu } from '../pricing.js';
import type { z } from 'zod';
import {
  type InstanceEstimateSchema,
  type LambdaEstimateSchema,
  type LatencyModel,
  predictLatencyMs,
} from '../schema.js';

export type LambdaEstimate = z.infer<typeof LambdaEstimateSchema>;
export type InstanceEstimate = z.infer<typeof InstanceEstimateSchema>;

export interface EstimateInputs {
  model: LatencyModel;
  sessionLoadMs: number;
  peakRssMb: number;
  /** Fixed batch dimension of 1: the model cannot batch, so instances run batch 1. */
  fixedBatch: boolean;
  referenceSloMs: number;
}

/** Largest batch the planner considers (matches the profiler's grid and protocol LIMITS). */
export const MAX_BATCH = 16;

/**
 * ASSUMPTION for arm64 instance types (c6g, c7g): profiles are measured on x86-64, and we apply
 * a latency factor of 1.0, i.e. one Graviton vCPU (a full physical core) runs these ONNX Runtime
 * kernels as fast as one x86 vCPU (a hyperthread). Published ORT CPU comparisons put Graviton2/3
 * within roughly ±30 % of same-generation x86 per vCPU, depending on the kernels (int8 paths
 * differ most), so this is a prior only: the controller replaces it with observed latency, and a
 * profile measured on the arm64 machine itself should replace this file's figures.
 */
export const ARM64_LATENCY_FACTOR = 1.0;

/**
 * Fraction of instance memory that model replicas may use (the rest for the OS, Node heap growth
 * and the server itself). Replicas x peak RSS must fit: e.g. 4 GiB x 0.8 = 3,277 MB allows 2
 * replicas of a 400 MB model.
 */
export const INSTANCE_MEMORY_HEADROOM = 0.8;

/**
 * p50 latency (ms) on a Lambda function with `vcpu` vCPU share (memoryMb / 1769, max 6).
 *
 * At or above 1 vCPU the function runs ceil(c) threads on a c-vCPU quota and we use the fitted
 * model at c directly. Below 1 vCPU, Lambda does not give a slower core: it time-slices one core
 * (CFS quota), so the *whole* run, serial parts included, stretches by 1/c. The fitted model would
 * only stretch the parallel terms (γ/c, ε/c), so we use l(b,1)/c instead. Worked number: a model
 * with l(1,1) = 6.0 ms at 512 MB (c = 512/1769 = 0.289) takes 6.0 / 0.289 = 20.7 ms, which matches
 * the 3-4x slow-down commonly observed between 512 MB and 1,769 MB functions.
 */
export function lambdaLatencyMs(model: LatencyModel, batchSize: number, vcpu: number): number {
  if (vcpu >= 1) return predictLatencyMs(model, batchSize, vcpu);
  return predictLatencyMs(model, batchSize, 1) / vcpu;
}

/**
 * Cold start (ms) = runtime init + session load, with the session load stretched by 1/c below
 * 1 vCPU for the same time-slicing reason (the runtime init figure in the catalog is already
 * a per-memory-size-independent prior). E.g. 250 ms init + 40 ms load at 512 MB: 250 + 40/0.289 = 388 ms.
 */
export function lambdaColdStartMs(catalog: Catalog, sessionLoadMs: number, vcpu: number): number {
  const load = vcpu < 1 ? sessionLoadMs / vcpu : sessionLoadMs;
  return catalog.lambda.runtimeInitMs + load;
}

/**
 * One estimate per catalog memory size. Sizes smaller than the measured peak RSS are left out:
 * such a function would be killed for running out of memory.
 */
export function lambdaEstimates(catalog: Catalog, inputs: EstimateInputs): LambdaEstimate[] {
  const out: LambdaEstimate[] = [];
  for (const memoryMb of catalog.lambda.memoryOptionsMb) {
    if (memoryMb < inputs.peakRssMb) continue;
    const vcpu = lambdaVcpu(catalog, memoryMb);
    const p50Ms = lambdaLatencyMs(inputs.model, 1, vcpu);
    out.push({
      memoryMb,
      vcpu: round(vcpu, 4),
      p50Ms: round(p50Ms, 3),
      p99Ms: round(p50Ms * inputs.model.p99OverP50, 3),
      coldStartMs: round(lambdaColdStartMs(catalog, inputs.sessionLoadMs, vcpu), 1),
      costPerRequestUsd: lambdaCostPerRequest(catalog, memoryMb, p50Ms),
    });
  }
  return out;
}

/** Ways to split `vcpu` into replicas x threads (e.g. 4 -> 4x1, 2x2, 1x4). */
export function replicaOptions(vcpu: number): Array<{ replicas: number; intraOpThreads: number }> {
  const out: Array<{ replicas: number; intraOpThreads: number }> = [];
  for (let t = 1; t <= vcpu; t++) if (vcpu % t === 0) out.push({ replicas: vcpu / t, intraOpThreads: t });
  return out;
}

/**
 * Best configuration of one instance type: over replicas x threads = vcpu (replicas limited by
 * memory), the batch size is the largest of 1..16 whose predicted p99 <= the reference SLO, and
 * we keep the option with the highest throughput. If no option meets the SLO even at batch 1, we
 * report the option with the lowest batch-1 p99 (its p99Ms > referenceSloMs tells the reader).
 * p99 here is service time only; queueing is the controller's business (it sees the queue).
 */
export function instanceEstimate(
  type: InstanceType,
  inputs: EstimateInputs,
): InstanceEstimate | undefined {
  const factor = type.arch === 'arm64' ? ARM64_LATENCY_FACTOR : 1;
  const maxReplicas = Math.floor((type.memoryGib * 1024 * INSTANCE_MEMORY_HEADROOM) / inputs.peakRssMb);
  const batches = inputs.fixedBatch ? [1] : Array.from({ length: MAX_BATCH }, (_, i) => i + 1);
  let best: InstanceEstimate | undefined;
  let bestFeasible = false;
  for (const { replicas, intraOpThreads } of replicaOptions(type.vcpu)) {
    if (replicas > maxReplicas) continue;
    let chosen = 1;
    for (const b of batches) {
      const p99 = predictLatencyMs(inputs.model, b, intraOpThreads) * factor * inputs.model.p99OverP50;
      if (p99 <= inputs.referenceSloMs) chosen = b;
    }
    const p50Ms = predictLatencyMs(inputs.model, chosen, intraOpThreads) * factor;
    const p99Ms = p50Ms * inputs.model.p99OverP50;
    const feasible = p99Ms <= inputs.referenceSloMs;
    const throughputRps = (replicas * chosen * 1000) / p50Ms;
    const candidate: InstanceEstimate = {
      instanceType: type.name,
      vcpu: type.vcpu,
      replicas,
      intraOpThreads,
      batchSize: chosen,
      throughputRps: round(throughputRps, 3),
      p99Ms: round(p99Ms, 3),
      // $/h / (requests per hour) x 1e6; e.g. $0.085/h at 500 rps = 0.085 / 1.8e6 x 1e6 = $0.0472 per million.
      costPerMillionUsd: (type.pricePerHourUsd / (throughputRps * 3600)) * 1e6,
    };
    const better = !best
      ? true
      : feasible !== bestFeasible
        ? feasible
        : feasible
          ? candidate.throughputRps > best.throughputRps
          : candidate.p99Ms < best.p99Ms;
    if (better) {
      best = candidate;
      bestFeasible = feasible;
    }
  }
  return best;
}

/**
 * One estimate per catalog instance type (types whose memory cannot hold one replica are left out).
 * Spot types (`spotOf` set) get none: they are the same machine (schema.ts instanceEstimate).
 */
export function instanceEstimates(catalog: Catalog, inputs: EstimateInputs): InstanceEstimate[] {
  return catalog.ec2.instanceTypes
    .filter((t) => !t.spotOf)
    .map((t) => instanceEstimate(t, inputs))
    .filter((e): e is InstanceEstimate => e !== undefined);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
