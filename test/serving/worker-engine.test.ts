/**
 * The worker-thread engine used by the server process by default: same predictions as the
 * in-process engine, engine errors keep their name and field across the thread boundary (so they
 * still map to 400/404), and close() ends the worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import type { InferenceEngine } from '../../functions/engine/engine-types.js';
import { errorReply } from '../../functions/server/error-reply.js';
import { createWorkerEngine } from '../../functions/server/worker-engine.js';
import { NO_MODEL_MSG, SERVED, samples } from './helpers.js';

const served = SERVED;

describe.skipIf(!served)(`worker engine (${served?.name ?? NO_MODEL_MSG})`, () => {
  let local: InferenceEngine;
  let worker: InferenceEngine;
  const model = served!.name;

  beforeAll(async () => {
    local = createEngine({});
    worker = createWorkerEngine({ intraOpThreads: 1 });
    await Promise.all([local.load(model), worker.load(model)]);
  });
  afterAll(async () => {
    await Promise.all([local?.close(), worker?.close()]);
  });

  it('gives the same top-k as the in-process engine, for images and tensors in one batch', async () => {
    const shape = served!.variant.input.shape.slice(1).map((d) => d ?? 1);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, (_, i) => (served!.variant.input.dtype === 'uint8' ? i % 256 : Math.sin(i)));
    const inputs = [
      ...samples().map((s) => ({ image: s.bytes })),
      { tensor: { dtype: served!.variant.input.dtype, shape, data } },
    ];
    const [a, b] = await Promise.all([local.predict(model, inputs, { topK: 5 }), worker.predict(model, inputs, { topK: 5 })]);
    expect(b.outputs.map((o) => o.map((p) => p.index))).toEqual(a.outputs.map((o) => o.map((p) => p.index)));
    b.outputs.forEach((o, i) => {
      o.forEach((p, k) => {
        expect(p.score).toBeCloseTo(a.outputs[i]![k]!.score, 5);
      });
    });
    expect(b.batchSize).toBe(inputs.length);
  });

  it('engine errors cross the thread boundary with name and field, and map to 400/404', async () => {
    const err = await worker
      .predict(model, [{ tensor: { dtype: served!.variant.input.dtype, shape: [1, 2], data: [1, 2] } }])
      .catch((e) => e);
    expect((err as Error).name).toBe('InvalidInputError');
    const reply = errorReply(err);
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toMatch(/tensor\.shape/);
    await expect(worker.load('no-such-variant')).rejects.toThrow(/no-such-variant/);
    expect(errorReply(await worker.load('no-such-variant').catch((e) => e)).status).toBe(404);
  });
});
