/**
 * createEngine: the one inference engine behind the VM server, the Lambda handler and the
 * profiler. load() resolves the file and creates the ORT session once per variant; predict()
 * preprocesses every input and runs them in ONE session.run when the model's batch dimension is
 * dynamic (e.g. 8 images -> one [8,3,224,224] tensor), else one run per input.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type {
  EngineInput,
  EngineOptions,
  InferenceEngine,
  LoadedModel,
  PredictResult,
} from './engine-types.js';
import { InvalidInputError, ModelSourceError } from './errors.js';
import { resolveModelFile } from './model-sources.js';
import { classScores, parseLabels, topK } from './postprocess.js';
import { decodeToRgb, type ItemData, rgbToInput, tensorToInput } from './preprocessing.js';
import type { Prediction } from './protocol.js';
import { loadRegistry } from './registry.js';
import type { ModelVariant } from './registry-schema.js';
import { ortSessionOptions, SessionCache } from './session-cache.js';

interface Entry extends LoadedModel {
  session: ort.InferenceSession;
  labels: readonly string[] | undefined;
}

/** PredictResult plus whether the weights are real; 'synthetic' predictions are meaningless. */
export interface EnginePredictResult extends PredictResult {
  weights: ModelVariant['weights'];
}

export interface Engine extends InferenceEngine {
  predict(
    variant: string,
    inputs: readonly EngineInput[],
    opts?: { topK?: number },
  ): Promise<EnginePredictResult>;
}

function concat(items: readonly ItemData[]): ItemData {
  const first = items[0]!;
  if (items.length === 1) return first; // batch of one: the item itself, no copy
  const n = first.length;
  const ctor = first.constructor as { new (len: number): ItemData };
  const out = new ctor(n * items.length);
  items.forEach((it, i) => {
    out.set(it, i * n);
  });
  return out;
}

export function createEngine(opts: EngineOptions = {}): Engine {
  const registry = opts.registry ?? loadRegistry(opts.sources?.home ? { home: opts.sources.home } : {});
  const intraOpThreads = opts.intraOpThreads ?? 1;
  const cache = new SessionCache<Entry>();

  async function create(variant: ModelVariant): Promise<Entry> {
    const resolved = await resolveModelFile(variant, opts.sources);
    const t0 = performance.now();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(resolved.path, ortSessionOptions({ intraOpThreads, numerics: opts.numerics ?? 'serving' }));
    } catch (err) {
      throw new ModelSourceError(
        `onnxruntime could not load ${resolved.path} for '${variant.name}': ${(err as Error).message}`,
        variant.name,
        {
          cause: err,
        },
      );
    }
    const sessionLoadMs = performance.now() - t0;
    if (
      !session.inputNames.includes(variant.input.name) ||
      !session.outputNames.includes(variant.output.name)
    ) {
      await session.release();
      throw new ModelSourceError(
        `model ${resolved.path} has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; the registry entry '${variant.name}' says input '${variant.input.name}', output '${variant.output.name}'`,
        variant.name,
      );
    }
    const fixedBatch = variant.input.shape[0];
    if (fixedBatch !== null && fixedBatch !== 1) {
      await session.release();
      throw new ModelSourceError(
        `variant '${variant.name}' has a fixed batch dimension of ${fixedBatch}; Spillway feeds batch 1 or a dynamic batch`,
        variant.name,
      );
    }
    const labels = resolved.labelsPath ? parseLabels(readFileSync(resolved.labelsPath, 'utf8')) : undefined;
    return { variant, resolved, sessionLoadMs, session, labels };
  }

  function entry(name: string): Promise<Entry> {
    const variant = registry.get(name); // throws UnknownVariantError
    return cache.get(name, () => create(variant));
  }

  /** One preprocessed item: data in the model's dtype/layout and its shape without the batch dim. */
  interface Item {
    data: ItemData;
    shape: readonly number[];
  }

  async function prepare(variant: ModelVariant, inputs: readonly EngineInput[]): Promise<Item[]> {
    const pp = variant.preprocessing;
    return Promise.all(
      inputs.map(async (input, i): Promise<Item> => {
        const field = `inputs[${i}]`;
        if (input && 'image' in input) {
          if (pp.kind !== 'image') {
            throw new InvalidInputError(
              `${field}.image: model '${variant.name}' takes tensors, not images`,
              `${field}.image`,
            );
          }
          if (!Buffer.isBuffer(input.image)) {
            throw new InvalidInputError(`${field}.image must be bytes`, `${field}.image`);
          }
          const rgb = await decodeToRgb(input.image, pp.size, pp.resizeShorterTo, `${field}.image`);
          const s = pp.size;
          return {
            data: rgbToInput(rgb, variant),
            shape: variant.input.layout === 'NHWC' ? [s, s, 3] : [3, s, s],
          };
        }
        if (input && 'tensor' in input && input.tensor)
          return tensorToInput(input.tensor, variant, `${field}.tensor`);
        throw new InvalidInputError(`${field} must have 'image' or 'tensor'`, field);
      }),
    );
  }

  /**
   * Items that can share one session.run: all of them when the batch dim is dynamic and the item
   * shapes agree (tensor inputs to a model with other dynamic dims may differ), else one per run.
   */
  function groupsOf(variant: ModelVariant, items: readonly Item[]): Item[][] {
    if (variant.input.shape[0] !== null) return items.map((it) => [it]);
    const groups: Item[][] = [];
    for (const it of items) {
      const last = groups[groups.length - 1];
      const head = last?.[0];
      if (last && head && head.shape.join(',') === it.shape.join(',')) last.push(it);
      else groups.push([it]);
    }
    return groups;
  }

  async function run(
    e: Entry,
    items: readonly Item[],
  ): Promise<{ data: ArrayLike<number | bigint>; item: number; stride: number }[]> {
    const v = e.variant;
    const out: { data: ArrayLike<number | bigint>; item: number; stride: number }[] = [];
    for (const group of groupsOf(v, items)) {
      const dims = [group.length, ...group[0]!.shape];
      const tensor = new ort.Tensor(v.input.dtype, concat(group.map((g) => g.data)), dims);
      const result = await e.session.run({ [v.input.name]: tensor });
      tensor.dispose();
      const t = result[v.output.name]!;
      const data = t.data as ArrayLike<number | bigint>;
      const stride = data.length / group.length;
      if (stride < v.output.classOffset + v.output.numClasses) {
        throw new ModelSourceError(
          `model '${v.name}' output '${v.output.name}' has ${stride} values per input; the registry says classOffset ${v.output.classOffset} + numClasses ${v.output.numClasses}`,
          v.name,
        );
      }
      for (let i = 0; i < group.length; i++) out.push({ data, item: i, stride });
    }
    return out;
  }

  return {
    registry,
    async load(name: string): Promise<LoadedModel> {
      const e = await entry(name);
      return { variant: e.variant, resolved: e.resolved, sessionLoadMs: e.sessionLoadMs };
    },
    async predict(name, inputs, popts = {}): Promise<EnginePredictResult> {
      const e = await entry(name);
      const v = e.variant;
      const k = popts.topK ?? 5;
      if (!Number.isInteger(k) || k < 1 || k > v.output.numClasses) {
        throw new InvalidInputError(
          `topK is ${k}; it must be an integer 1..${v.output.numClasses}`,
          'topK',
          `1..${v.output.numClasses}`,
        );
      }
      if (!Array.isArray(inputs) || inputs.length === 0) {
        throw new InvalidInputError('inputs must be a non-empty array', 'inputs', '>= 1 input');
      }
      const t0 = performance.now();
      const items = await prepare(v, inputs);
      const t1 = performance.now();
      const raw = await run(e, items);
      const t2 = performance.now();
      const outputs: Prediction[][] = raw.map(({ data, item, stride }) =>
        topK(classScores(data, item, stride, v), k, e.labels),
      );
      return {
        outputs,
        preprocessMs: t1 - t0,
        inferenceMs: t2 - t1,
        // Largest group that shared one session.run (all inputs, for a dynamic batch dim).
        batchSize: Math.max(...raw.map((r) => r.data.length / r.stride)),
        weights: v.weights,
      };
    },
    close: () => cache.closeAll(),
  };
}
