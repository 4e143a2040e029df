/**
 * Profiles one variant end to end: measure in a child process, fit the latency model, derive the
 * Lambda and instance estimates, validate against VariantProfileSchema. Shared by `npm run profile`
 * and `spillway models add` (which uses the reduced 'add' grid), so both write the same files.
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import type { Catalog } from '../catalog.js';
import { type VariantProfile, VariantProfileSchema } from '../schema.js';
import { ProfilingError } from './errors.js';
import { instanceEstimates, lambdaEstimates } from './estimates.js';
import { fitLatencyModel } from './fit.js';
import { describeMachine } from './machine.js';
import type { CellBudget, MeasureResult, ProgressFn } from './measure.js';
import { measureInChild } from './run-child.js';

export interface ProfileGrid {
  name: GridName;
  batchSizes: number[];
  threads: number[];
  budget: CellBudget;
}

export type GridName = 'full' | 'quick' | 'add';

/** 1..availableParallelism(): intra-op thread counts worth measuring here. */
export function threadRange(max: number = os.availableParallelism()): number[] {
  return Array.from({ length: Math.max(1, max) }, (_, i) => i + 1);
}

/**
 * Measurement grids. Per-cell time budgets keep a run bounded: 'quick' spends ~0.3 s per cell
 * (10 cells x 5 variants ~ 30 s on 2 cores); 'full' ~2 s per cell with >= 20 samples; 'add' is
 * 'quick' on a reduced grid (b in {1,4,16}, threads {1, 2}) that still identifies all four terms.
 */
export function grid(name: GridName): ProfileGrid {
  const threads = threadRange();
  switch (name) {
    case 'full':
      return {
        name: 'full',
        batchSizes: [1, 2, 4, 8, 16],
        threads,
        budget: { warmupRuns: 5, timeBudgetMs: 2000, minSamples: 20, maxSamples: 2000, maxCellMs: 20_000 },
      };
    case 'quick':
      return {
        name: 'quick',
        batchSizes: [1, 2, 4, 8, 16],
        threads,
        budget: { warmupRuns: 2, timeBudgetMs: 300, minSamples: 5, maxSamples: 300, maxCellMs: 3000 },
      };
    case 'add':
      return {
        name: 'add',
        batchSizes: [1, 4, 16],
        threads: threads.slice(0, 2),
        budget: { warmupRuns: 2, timeBudgetMs: 250, minSamples: 5, maxSamples: 200, maxCellMs: 2500 },
      };
  }
}

export interface ProfileVariantOptions {
  variant: ModelVariant;
  modelPath: string;
  grid: ProfileGrid;
  catalog: Catalog;
  referenceSloMs: number;
  onProgress?: ProgressFn;
  nowMs?: number;
  /** Measure in this process instead of a child (tests of the pure assembly only). */
  measure?: (variant: ModelVariant, modelPath: string, grid: ProfileGrid) => Promise<MeasureResult>;
}

/** Builds the profile object from measurements (pure apart from `modelSizeBytes`, passed in). */
export function assembleProfile(args: {
  variant: ModelVariant;
  modelSizeBytes: number;
  measured: MeasureResult;
  catalog: Catalog;
  referenceSloMs: number;
  machine: VariantProfile['machine'];
  gridName?: GridName;
}): VariantProfile {
  const { variant, measured } = args;
  const model = fitLatencyModel(measured.measurements);
  const inputs = {
    model,
    sessionLoadMs: measured.sessionLoadMs,
    peakRssMb: measured.peakRssMb,
    fixedBatch: variant.input.shape[0] !== null,
    referenceSloMs: args.referenceSloMs,
  };
  const profile: VariantProfile = {
    schemaVersion: 1,
    variant: variant.name,
    task: variant.task,
    weights: variant.weights,
    // Only a figure that applies to these weights (or one the user vouches for) is copied; an
    // architecture's published accuracy does not describe synthetic weights.
    accuracyTop1: variant.accuracy.appliesTo === 'architecture' ? null : variant.accuracy.top1,
    machine: args.machine,
    modelSizeBytes: args.modelSizeBytes,
    sessionLoadMs: measured.sessionLoadMs,
    peakRssMb: measured.peakRssMb,
    measurements: measured.measurements,
    ...(args.gridName ? { grid: args.gridName } : {}),
    latencyModel: model,
    referenceSloMs: args.referenceSloMs,
    lambda: lambdaEstimates(args.catalog, inputs),
    instances: instanceEstimates(args.catalog, inputs),
  };
  const parsed = VariantProfileSchema.safeParse(profile);
  if (!parsed.success) {
    throw new ProfilingError(variant.name, `profile does not match the schema: ${parsed.error.message}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

export async function profileVariant(opts: ProfileVariantOptions): Promise<VariantProfile> {
  const measure =
    opts.measure ??
    ((variant: ModelVariant, modelPath: string, g: ProfileGrid) =>
      measureInChild(
        { variant, modelPath, batchSizes: g.batchSizes, threads: g.threads, budget: g.budget },
        { onProgress: opts.onProgress },
      ));
  // Describe the machine before measuring, so the load average is not our own.
  const machine = describeMachine(opts.nowMs);
  const measured = await measure(opts.variant, opts.modelPath, opts.grid);
  return assembleProfile({
    variant: opts.variant,
    modelSizeBytes: statSync(opts.modelPath).size,
    measured,
    catalog: opts.catalog,
    referenceSloMs: opts.referenceSloMs,
    machine,
    gridName: opts.grid.name,
  });
}

/** Writes <dir>/<variant>.json atomically (temp + rename) and returns its path. */
export function writeProfile(dir: string, profile: VariantProfile): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${profile.variant}.json`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(profile, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}
