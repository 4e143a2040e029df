/**
 * Model warm-up (functions/engine/warm-up.ts): every registered variant gets an input its engine
 * accepts, and the VM server runs it once per model inside load(), before /readyz turns 200.
 * Real engine (onnxruntime-node), real model file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import type { InferenceEngine } from '../../functions/engine/engine-types.js';
import { loadRegistry } from '../../functions/engine/registry.js';
import { warmUp, warmUpInput } from '../../functions/engine/warm-up.js';
import { createVmServer } from '../../functions/server/vm-server.js';
import { NO_MODEL_MSG, quietLogger, SERVED } from './helpers.js';

describe('warm-up input', () => {
  it('an image for image models, a zero tensor of the input shape otherwise, for every registered variant', async () => {
    for (const v of loadRegistry().variants()) {
      const input = await warmUpInput(v);
      if (v.preprocessing.kind === 'image') expect(input && 'image' in input && input.image.length > 100).toBe(true);
      else if (input && 'tensor' in input) expect(input.tensor.data.length).toBe(input.tensor.shape.reduce((a, b) => a * b, 1));
    }
  });
});

describe.skipIf(!SERVED)(`warm-up on a real model (${SERVED?.note ?? NO_MODEL_MSG})`, () => {
  const engine = createEngine({});
  afterAll(() => engine.close());

  it('runs one prediction with the engine', async () => {
    const ms = await warmUp(engine, SERVED!.name);
    expect(ms).toBeGreaterThan(0);
  });

  it('the VM server predicts once per model in load(), and not with warmUp: false', async () => {
    const counting = (inner: InferenceEngine) => {
      let predicts = 0;
      const e: InferenceEngine = {
        registry: inner.registry,
        load: (v) => inner.load(v),
        predict: (v, i, o) => {
          predicts++;
          return inner.predict(v, i, o);
        },
        close: () => Promise.resolve(),
      };
      return { e, count: () => predicts };
    };
    const on = counting(engine);
    const server = createVmServer({ engine: on.e, variants: [SERVED!.name], logger: quietLogger });
    expect(server.isReady()).toBe(false);
    await server.load();
    expect(server.isReady()).toBe(true);
    expect(on.count()).toBe(1);
    const off = counting(engine);
    await createVmServer({ engine: off.e, variants: [SERVED!.name], logger: quietLogger, warmUp: false }).load();
    expect(off.count()).toBe(0);
  });
});
