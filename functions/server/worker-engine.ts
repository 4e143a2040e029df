/**
 * An InferenceEngine whose sessions live in a worker thread (engine-worker.ts). Why: onnxruntime-
 * node runs session.run synchronously on the calling thread, so an in-process engine stalls the
 * HTTP server for the whole batch (e.g. 8 x 6 ms = 48 ms with nothing accepted, parsed or timed
 * out). With the worker, parsing the next requests overlaps the current batch on a second core.
 * Tensors travel as typed arrays by structured clone: one memcpy (~0.05 ms for 600 KB), measured
 * cheaper on the sending thread than transferring a fresh copy (~0.35 ms: slice + detach).
 * The registry is also loaded here, because validation needs the variant entries.
 */
import { Worker } from 'node:worker_threads';
import { startTsWorker } from './ts-worker.js';
import type { EngineInput, InferenceEngine, LoadedModel, ModelRegistry, PredictResult, ResolvedModel } from '../engine/engine-types.js';
import { loadRegistry } from '../engine/registry.js';
import { ServingError } from './errors.js';
import type { WorkerData, WorkerInput, WorkerReply, WorkerRequest } from './worker-protocol.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface WorkerEngineOptions extends WorkerData {
  registry?: ModelRegistry;
  /** Called once if the worker dies unexpectedly (not on close()); the server process exits on it. */
  onFatal?: (err: Error) => void;
}

/** An error thrown inside the worker, rebuilt with the same name (so errorReply maps it) and field. */
export class WorkerEngineError extends ServingError {
  constructor(
    name: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = name;
  }
}

function toWorkerInput(i: EngineInput): WorkerInput {
  if ('image' in i) return { image: i.image };
  const { dtype, shape, data } = i.tensor;
  // Already the right typed array (a decoded dataBase64): cloned as it is. Never transferred: the
  // batcher may re-run a failed batch request by request, and a detached buffer would be empty.
  const typed =
    dtype === 'uint8'
      ? data instanceof Uint8Array
        ? data
        : Uint8Array.from(data)
      : data instanceof Float32Array
        ? data
        : Float32Array.from(data);
  return { tensor: { dtype, shape: [...shape], data: typed } };
}

/**
 * Starts the worker thread running engine-worker.ts. Bundled (infra/bundling/vm-bundle.mjs: the
 * bundle's banner sets globalThis.__spillwayWorkerEntry to its engine-worker.mjs), the worker is
 * that file; from source, ts-worker.ts boots it with tsx's loader.
 */
function startEngineWorker(data: WorkerData): Worker {
  const bundled = (globalThis as { __spillwayWorkerEntry?: string }).__spillwayWorkerEntry;
  if (bundled) return new Worker(new URL(bundled), { workerData: data });
  return startTsWorker(new URL('./engine-worker.ts', import.meta.url), data);
}

export function createWorkerEngine(opts: WorkerEngineOptions): InferenceEngine {
  const registry = opts.registry ?? loadRegistry(opts.home ? { home: opts.home } : {});
  const data: WorkerData = { intraOpThreads: opts.intraOpThreads };
  if (opts.home) data.home = opts.home;
  if (opts.modelDir) data.modelDir = opts.modelDir;
  const worker = startEngineWorker(data);
  worker.unref();
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let dead: Error | undefined;
  const loaded = new Map<string, LoadedModel>();

  worker.on('message', (reply: WorkerReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new WorkerEngineError(reply.error.name, reply.error.message, reply.error.field));
  });
  let closing = false;
  const fail = (err: Error) => {
    if (dead) return;
    dead = err;
    if (!closing) opts.onFatal?.(err);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', (err) => fail(new ServingError('inference worker crashed', { cause: err })));
  worker.on('exit', (code) => fail(new ServingError(`inference worker exited with code ${code}`)));

  function call<T>(msg: WithoutId<WorkerRequest>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (pending.size === 1) worker.ref(); // keep the process alive only while work is pending
      worker.postMessage({ ...msg, id } as WorkerRequest, transfer);
    }).finally(() => {
      if (pending.size === 0) worker.unref();
    });
  }

  return {
    registry,
    async load(variant) {
      const known = loaded.get(variant);
      if (known) return known;
      const v = registry.get(variant); // UnknownVariantError here, not in the worker
      const r = await call<{ resolved: ResolvedModel; sessionLoadMs: number }>({ type: 'load', variant });
      const l: LoadedModel = { variant: v, resolved: r.resolved, sessionLoadMs: r.sessionLoadMs };
      loaded.set(variant, l);
      return l;
    },
    predict(variant, inputs, o) {
      const winputs = inputs.map((i) => toWorkerInput(i));
      return call<PredictResult>({ type: 'predict', variant, inputs: winputs, topK: o?.topK });
    },
    async close() {
      closing = true;
      if (!dead) await call({ type: 'close' }).catch(() => {});
      await worker.terminate();
    },
  };
}
