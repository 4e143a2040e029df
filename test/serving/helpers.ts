/**
 * Shared fixtures for the serving tests: which variant to serve (the real dynamic-batch
 * MobileNetV2 when ../shared/models is present, else the smallest synthetic variant the registry
 * can build offline), sample photos, and a gate that holds the real engine's runs so batching
 * and queueing can be observed deterministically (the engine itself is real, not mocked).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import pino from 'pino';
import sharp from 'sharp';
import type { EngineInput, InferenceEngine, PredictResult } from '../../functions/engine/engine-types.js';
import { toHalfArray } from '../../functions/engine/float16.js';
import { builtinModelsDir, loadRegistry, sharedDir } from '../../functions/engine/registry.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { ControllerRuntime, type ServedVariant as RuntimeServedVariant } from '../../controller/server/runtime.js';
import { resolveServedVariants } from '../../controller/server/variants.js';
import { loadCatalog } from '../../profiles/catalog.js';

export const REAL_VARIANT = 'mobilenet-v2-10-int8-zoo';

export interface ServedVariant {
  name: string;
  variant: ModelVariant;
  /** Real weights: predictions can be checked against the photo labels. */
  real: boolean;
  /** Why a real model is not used, for test names / skip messages. */
  note: string;
}

export function pickVariant(): ServedVariant | undefined {
  const registry = loadRegistry();
  const shared = sharedDir();
  if (shared && registry.has(REAL_VARIANT)) {
    const v = registry.get(REAL_VARIANT);
    if (existsSync(join(shared, 'models', v.file))) return { name: v.name, variant: v, real: true, note: 'real model' };
  }
  const synthetic = registry
    .variants()
    .filter((v) => v.weights === 'synthetic' && v.input.shape[0] === null)
    .sort((a, b) => (a.gflops ?? 1e9) - (b.gflops ?? 1e9))[0];
  if (synthetic) {
    return { name: synthetic.name, variant: synthetic, real: false, note: 'synthetic weights: ../shared/models absent' };
  }
  return undefined;
}

export const SERVED = pickVariant();
export const NO_MODEL_MSG = 'no servable model: ../shared/models absent and the registry has no synthetic dynamic-batch variant';

export const quietLogger = pino({ level: 'silent' });

export interface Sample {
  file: string;
  bytes: Buffer;
  labels: number[];
}

export function samples(): Sample[] {
  const dir = join(builtinModelsDir(), 'samples');
  const meta = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as {
    images: { file: string; labels: number[] }[];
  };
  return meta.images.map((m) => ({ file: m.file, bytes: readFileSync(join(dir, m.file)), labels: m.labels }));
}

/** A small valid PNG (cheap to preprocess) for fuzzing and load tests. */
export async function tinyPng(seed = 1, size = 32): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 31 + seed * 97) % 256;
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

export function lambdaContext(remainingMs = 30_000, functionName = 'spillway-test'): Context {
  const end = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1769',
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test-stream',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * Wraps a real engine so each predict() waits for the gate before running. Used to hold the
 * first batch while others queue up, so batching/queue-full/deadline behaviour is deterministic
 * without timing assertions. Records every batch size it ran.
 */
export function gatedEngine(engine: InferenceEngine) {
  let open!: () => void;
  let gate = new Promise<void>((r) => {
    open = r;
  });
  let entered!: () => void;
  const firstEntered = new Promise<void>((r) => {
    entered = r;
  });
  const batches: number[] = [];
  const gated: InferenceEngine = {
    registry: engine.registry,
    load: (v) => engine.load(v),
    close: () => engine.close(),
    async predict(variant: string, inputs: readonly EngineInput[], opts?: { topK?: number }): Promise<PredictResult> {
      entered();
      await gate;
      batches.push(inputs.length);
      return engine.predict(variant, inputs, opts);
    },
  };
  return {
    engine: gated,
    batches,
    firstEntered,
    open: () => open(),
    close: () => {
      gate = new Promise<void>((r) => {
        open = r;
      });
    },
  };
}

/**
 * One deterministic item for the served variant's tensor input (values in [-2, 2], 3 decimals, or
 * 0..255 for uint8) as a JSON number array and as dataBase64 (the same values in the dtype's
 * little-endian bytes; float32 rounding applied once, so both encodings reach the model equal).
 */
export function servedTensor(v: ModelVariant): {
  shape: number[];
  dtype: ModelVariant['input']['dtype'];
  data: number[];
  dataBase64: string;
} {
  const shape = v.input.shape.slice(1).map((d) => d ?? 1);
  const n = shape.reduce((a, b) => a * b, 1);
  const uint8 = v.input.dtype === 'uint8';
  const data = Array.from({ length: n }, (_, i) => (uint8 ? (i * 7) % 256 : Math.round(Math.sin(i) * 2000) / 1000));
  const typed = uint8 ? Uint8Array.from(data) : v.input.dtype === 'float16' ? toHalfArray(data) : Float32Array.from(data);
  const dataBase64 = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');
  return { shape, dtype: v.input.dtype, data, dataBase64 };
}

/**
 * A controller runtime (real spillway policy, exploreShare 0) serving `name` on one static ready
 * VM at `endpoint` (c5.large): what the API-server tests route through. One home for the setup
 * the deadline, admission and edge tests share.
 */
export async function staticVmRuntime(o: {
  name: string;
  vmId: string;
  endpoint: string;
  slots: number;
  sloMs: number;
  served?: ReadonlyMap<string, RuntimeServedVariant>;
}): Promise<ControllerRuntime<unknown>> {
  const catalog = loadCatalog();
  const served =
    o.served ?? (await resolveServedVariants({ registry: loadRegistry(), catalog, wanted: [o.name], sloMs: 5_000 }));
  const env = {
    catalog,
    variants: [...served.values()].map((s) => s.info),
    sloMs: o.sloMs,
    tickIntervalMs: 1_000,
    instanceTypes: ['c5.large'],
    lambdaArch: 'x86_64' as const,
    lambdaConcurrencyLimit: 1,
  };
  const rt = new ControllerRuntime(createSpillwayPolicy({ exploreShare: 0 }) as never, env, served, {
    lambdaMemoryMb: 1024,
    lambdaKeepAliveMs: 1_000,
    limits: { maxVms: 1 },
    nowMs: Date.now(),
  });
  const now = Date.now();
  rt.host.fleet.sync(
    [{ id: o.vmId, instanceType: 'c5.large', variant: o.name, state: 'ready', launchedAtMs: now - 1_000, readyAtMs: now, endpoint: o.endpoint, slots: o.slots }],
    now,
  );
  return rt as ControllerRuntime<unknown>;
}
