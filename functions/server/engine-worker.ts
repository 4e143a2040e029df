/**
 * Worker-thread side of the worker engine (worker-engine.ts). Owns the real engine (ORT sessions)
 * so that session.run, which onnxruntime-node executes synchronously on the calling thread, does
 * not block the server's event loop: while a batch runs here, the main thread keeps accepting,
 * parsing and validating the next requests and its deadline timers fire on time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEngine } from '../engine/engine.js';
import type { EngineInput } from '../engine/engine-types.js';
import { loadRegistry } from '../engine/registry.js';
import type { WorkerData, WorkerReply, WorkerRequest } from './worker-protocol.js';

const data = workerData as WorkerData;
const engine = createEngine({
  registry: loadRegistry(data.home ? { home: data.home } : {}),
  intraOpThreads: data.intraOpThreads,
  sources: data.modelDir ? { modelDir: data.modelDir } : {},
});

function toEngineInputs(inputs: WorkerRequest & { type: 'predict' }): EngineInput[] {
  return inputs.inputs.map((i) =>
    'image' in i
      ? { image: Buffer.from(i.image.buffer, i.image.byteOffset, i.image.byteLength) }
      : { tensor: i.tensor },
  );
}

async function handle(msg: WorkerRequest): Promise<WorkerReply> {
  try {
    if (msg.type === 'load') {
      const l = await engine.load(msg.variant);
      return { id: msg.id, ok: true, value: { resolved: l.resolved, sessionLoadMs: l.sessionLoadMs } };
    }
    if (msg.type === 'predict') {
      const r = await engine.predict(msg.variant, toEngineInputs(msg), { topK: msg.topK });
      const value = { outputs: r.outputs, preprocessMs: r.preprocessMs, inferenceMs: r.inferenceMs, batchSize: r.batchSize };
      return { id: msg.id, ok: true, value };
    }
    await engine.close();
    return { id: msg.id, ok: true, value: null };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const field = (e as { field?: unknown }).field;
    return {
      id: msg.id,
      ok: false,
      error: { name: e.name, message: e.message, ...(typeof field === 'string' ? { field } : {}), stack: e.stack },
    };
  }
}

parentPort!.on('message', (msg: WorkerRequest) => {
  void handle(msg).then((reply) => parentPort!.postMessage(reply));
});
