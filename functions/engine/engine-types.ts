/**
 * The inference engine's public surface, shared by the Lambda handler, the VM inference server,
 * the profiler and the local runtime. Implemented in engine.ts (createEngine), registry.ts
 * (loadRegistry) and model-sources.ts (resolveModelFile).
 *
 * CONTRACT: other modules code against these types; change them only compatibly.
 */
import type { Prediction, TensorDtype } from './protocol.js';
import type { ModelVariant } from './registry-schema.js';

/** A decoded input: raw image bytes (JPEG/PNG/WebP) or a tensor already in the model's layout (one item, no batch dim). */
export type EngineInput =
  | { image: Buffer }
  | { tensor: { dtype: TensorDtype; shape: readonly number[]; data: ArrayLike<number> } };

export interface PredictResult {
  /** Per input, top-k predictions, best first. */
  outputs: Prediction[][];
  preprocessMs: number;
  inferenceMs: number;
  /** Inputs run together (one session.run when the model has a dynamic batch dimension). */
  batchSize: number;
  /** Optional: the variant's weights: 'synthetic' predictions are meaningless. */
  weights?: 'real' | 'synthetic';
}

export interface ModelRegistry {
  variants(): readonly ModelVariant[];
  /** Throws UnknownVariantError naming the variant and the known names. */
  get(name: string): ModelVariant;
  has(name: string): boolean;
  byTask(task: string): readonly ModelVariant[];
}

export type ModelSourceKind = 'dir' | 'cache' | 'download' | 'built';

export interface ModelSourceOptions {
  /** Directory with model files; default $SPILLWAY_MODEL_DIR, else ../shared/models beside the repo if it exists. */
  modelDir?: string;
  /** Cache directory; default $SPILLWAY_HOME/cache/models. */
  cacheDir?: string;
  /** Download real files from their downloadUrl (sha256-checked). Default false: no network at run time. */
  allowDownload?: boolean;
  /** Override the download base (tests point it at a loopback server). */
  downloadBaseUrl?: string;
  /** Build synthetic variants offline when no file is found. Default true. */
  allowBuild?: boolean;
  /** Optional: $SPILLWAY_HOME override: user models ($home/models) and the default cache. */
  home?: string;
}

export interface ResolvedModel {
  path: string;
  source: ModelSourceKind;
  /** Labels file path, when the variant has labels. */
  labelsPath?: string;
}

export interface EngineOptions {
  registry?: ModelRegistry;
  sources?: ModelSourceOptions;
  /** ORT intraOpNumThreads per session; default 1. */
  intraOpThreads?: number;
  /** 'serving' (default) or 'reference' numerics: see session-cache.ts `SessionOptions.numerics`. */
  numerics?: 'serving' | 'reference';
}

export interface LoadedModel {
  variant: ModelVariant;
  resolved: ResolvedModel;
  /** Time to create the ORT session (ms). */
  sessionLoadMs: number;
}

export interface InferenceEngine {
  readonly registry: ModelRegistry;
  /** Resolve the file, create the session (cached per variant), load labels. Idempotent. */
  load(variant: string): Promise<LoadedModel>;
  /** Preprocess all inputs and run them; one session.run for dynamic-batch models. Throws InvalidInputError on bad input. */
  predict(variant: string, inputs: readonly EngineInput[], opts?: { topK?: number }): Promise<PredictResult>;
  /** Release all sessions. */
  close(): Promise<void>;
}
