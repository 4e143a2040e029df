/**
 * Which variants the embedded stack serves, and the profile each one routes with.
 * A variant is served when its model file resolves (shared dir, user models, cache) or, for a
 * synthetic variant, once it has been built (the first start builds them; progress is reported).
 * Synthetic variants answer with random weights, so beside real ones they are served only when
 * asked for (SPILLWAY_VARIANTS names them, or SPILLWAY_SERVE_SYNTHETIC=1): a fresh clone without
 * the real models serves them, a machine with the real models does not mix them in.
 * Profiles: measured (profiles/*.json, $SPILLWAY_HOME/profiles) first, else SIM's documented
 * defaults, else a generic prior derived from the variant's GFLOPs — each labelled by source.
 */
import type { Catalog } from '../../profiles/catalog.js';
import { instanceEstimates, lambdaEstimates } from '../../profiles/lib/estimates.js';
import { loadProfiles } from '../../profiles/lib/load.js';
import type { LatencyModel, VariantProfile } from '../../profiles/schema.js';
import { resolveModelFile } from '../../functions/engine/model-sources.js';
import type { ModelRegistry } from '../../functions/engine/engine-types.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { defaultProfiles } from '../sim/default-profiles.js';
import { ConfigError } from '../errors.js';
import type { ServedVariant } from './runtime.js';

export interface ResolveServedOptions {
  registry: ModelRegistry;
  catalog: Catalog;
  /** Explicit list (config); empty = everything that resolves. */
  wanted: readonly string[];
  home?: string;
  modelDir?: string;
  sloMs: number;
  onProgress?: (msg: string) => void;
  /**
   * false in the aws world: the controller host routes and plans from the registry's metadata and
   * the profiles only; the weights live with the Lambda functions and the VMs, and the host neither
   * downloads nor may read them. @default true (local world: the child processes need the files)
   */
  requireModelFiles?: boolean;
  /**
   * Without an explicit list, synthetic variants (random weights: real latency, meaningless
   * answers) are served only when no real variant resolves, unless this is true.
   * @default SPILLWAY_SERVE_SYNTHETIC=1
   */
  serveSynthetic?: boolean;
}

/** Generic prior when nothing else exists: ~6 ms per GFLOP-equivalent at 1 thread (MobileNetV2 int8 0.6 GFLOPs ~ 6 ms). */
function priorProfile(v: ModelVariant, catalog: Catalog, sloMs: number): VariantProfile {
  const t1 = Math.max(1, (v.gflops ?? 1) * 10);
  const model: LatencyModel = { gammaMs: t1 * 0.8, deltaMs: t1 * 0.1, epsilonMs: 0, etaMs: t1 * 0.1, fitMapePct: 0, p99OverP50: 1.5 };
  const inputs = { model, sessionLoadMs: 100, peakRssMb: 200, fixedBatch: v.input.shape[0] === 1, referenceSloMs: sloMs };
  return {
    schemaVersion: 1,
    variant: v.name,
    task: v.task,
    weights: v.weights,
    accuracyTop1: v.accuracy.appliesTo === 'architecture' ? null : v.accuracy.top1,
    machine: {
      cpuModel: 'prior (not measured)',
      cores: 1,
      memoryGib: 1,
      arch: 'x86_64',
      os: 'n/a',
      node: 'n/a',
      onnxruntime: 'n/a',
      measuredAt: new Date(0).toISOString(),
    },
    modelSizeBytes: v.sizeBytes ?? 1,
    sessionLoadMs: 100,
    peakRssMb: 200,
    measurements: [{ batchSize: 1, intraOpThreads: 1, samples: 1, p50Ms: t1, p95Ms: t1 * 1.3, p99Ms: t1 * 1.5, meanMs: t1 }],
    latencyModel: model,
    referenceSloMs: sloMs,
    lambda: lambdaEstimates(catalog, inputs),
    instances: instanceEstimates(catalog, inputs),
  };
}

export async function resolveServedVariants(o: ResolveServedOptions): Promise<Map<string, ServedVariant>> {
  const notes: string[] = [];
  const candidates: ModelVariant[] = [];
  if (o.wanted.length > 0) {
    for (const name of o.wanted) {
      if (!o.registry.has(name)) {
        throw new ConfigError(
          `SPILLWAY_VARIANTS: unknown variant '${name}'; known: ${o.registry.variants().map((v) => v.name).join(', ')}`,
        );
      }
      candidates.push(o.registry.get(name));
    }
  } else {
    candidates.push(...o.registry.variants());
  }
  const available: ModelVariant[] = [];
  if (o.requireModelFiles === false && o.wanted.length === 0) {
    throw new ConfigError('SPILLWAY_VARIANTS: without model files the variants must be listed (the deployment sets them)');
  }
  // Real variants first: when any resolves, synthetic ones are not even built unless asked for.
  const ordered = [...candidates.filter((v) => v.weights === 'real'), ...candidates.filter((v) => v.weights !== 'real')];
  const serveSynthetic = o.serveSynthetic ?? process.env['SPILLWAY_SERVE_SYNTHETIC'] === '1';
  const skippedSynthetic: string[] = [];
  for (const v of ordered) {
    if (o.requireModelFiles === false) {
      available.push(v);
      continue;
    }
    if (v.weights === 'synthetic' && o.wanted.length === 0 && !serveSynthetic && available.some((a) => a.weights === 'real')) {
      skippedSynthetic.push(v.name);
      continue;
    }
    try {
      if (v.weights === 'synthetic') o.onProgress?.(`resolving synthetic variant ${v.name} (built offline on first start)...`);
      const r = await resolveModelFile(v, {
        allowBuild: true,
        ...(o.home ? { home: o.home } : {}),
        ...(o.modelDir ? { modelDir: o.modelDir } : {}),
      });
      if (r.source === 'built') o.onProgress?.(`built ${v.name} -> ${r.path}`);
      available.push(v);
    } catch (err) {
      if (o.wanted.length > 0) {
        throw new ConfigError(`variant '${v.name}' has no model file: ${(err as Error).message}`, { cause: err });
      }
      notes.push(
        v.weights === 'real'
          ? `${v.name}: skipped (real model file ${v.file} not found; put it in $SPILLWAY_MODEL_DIR or ../shared/models)`
          : `${v.name}: skipped (${(err as Error).message})`,
      );
    }
  }
  if (skippedSynthetic.length > 0) {
    notes.push(
      `synthetic variants not served because real models exist (${skippedSynthetic.join(', ')}); set SPILLWAY_SERVE_SYNTHETIC=1 or name them in SPILLWAY_VARIANTS to serve them`,
    );
  }
  for (const n of notes) o.onProgress?.(n);
  if (available.length === 0) {
    throw new ConfigError('no variant can be served: no model file found and no synthetic variant could be built');
  }
  let measured = new Map<string, VariantProfile>();
  try {
    measured = loadProfiles(o.home ? { home: o.home } : {});
  } catch (err) {
    o.onProgress?.(`profiles could not be loaded (${(err as Error).message}); using default profiles`);
  }
  let defaults = new Map<string, VariantProfile>();
  try {
    defaults = defaultProfiles(o.catalog, o.sloMs);
  } catch {
    // generic prior below
  }
  const out = new Map<string, ServedVariant>();
  for (const v of available) {
    const m = measured.get(v.name);
    const profile = m ?? defaults.get(v.name) ?? priorProfile(v, o.catalog, o.sloMs);
    out.set(v.name, {
      variant: v,
      profileSource: m ? 'measured' : 'default',
      info: {
        name: v.name,
        task: v.task,
        // Published accuracy applies only to these weights (synthetic variants never claim it).
        accuracyTop1: v.weights === 'synthetic' || v.accuracy.appliesTo === 'architecture' ? null : v.accuracy.top1,
        weights: v.weights,
        profile,
      },
    });
  }
  return out;
}
