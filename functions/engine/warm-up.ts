/**
 * Model warm-up: one inference on a made-up input right after a model is loaded, before the
 * server says it is ready (Triton's `model_warmup`, for the same reason). onnxruntime's first run
 * allocates its arenas and picks kernels, and sharp's first decode initialises libvips: measured
 * in the README demo, a VM's first requests after /readyz took > 250 ms and missed the SLO
 * (54 x 504 in the first 5 s of a fresh VM at 30 rps). The warm-up pays that once, off the clock.
 */
import sharp from 'sharp';
import type { EngineInput, InferenceEngine } from './engine-types.js';
import type { ModelVariant } from './registry-schema.js';

/**
 * What to run: a mid-grey JPEG for an image model (exercises decode, resize and crop too), else a
 * zero tensor of the model's input; undefined when the item shape is not fixed (nothing to build).
 */
export async function warmUpInput(v: ModelVariant): Promise<EngineInput | undefined> {
  if (v.preprocessing.kind === 'image') {
    const side = Math.max(v.preprocessing.size, 32);
    const image = await sharp({ create: { width: side + 16, height: side, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .jpeg()
      .toBuffer();
    return { image };
  }
  const item = v.input.shape.slice(1);
  if (item.some((d) => d === null)) return undefined;
  const shape = [1, ...(item as number[])];
  const n = shape.reduce((a, b) => a * b, 1);
  return { tensor: { dtype: v.input.dtype, shape, data: new Array<number>(n).fill(0) } };
}

/** Runs the warm-up once; returns how long it took (ms), or undefined when there was nothing to run. */
export async function warmUp(engine: InferenceEngine, variant: string): Promise<number | undefined> {
  const input = await warmUpInput(engine.registry.get(variant));
  if (!input) return undefined;
  const t0 = performance.now();
  await engine.predict(variant, [input], { topK: 1 });
  return performance.now() - t0;
}
