/**
 * Input handling: bad inputs -> InvalidInputError naming the field and the limit; raw tensors go
 * through the same model as images; EXIF rotation, alpha and grayscale are handled; float16 bits
 * are exact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import { InvalidInputError, UnknownVariantError } from '../../functions/engine/errors.js';
import { fromHalfBits, toHalfBits } from '../../functions/engine/float16.js';
import { decodeToRgb, rgbToInput } from '../../functions/engine/preprocessing.js';
import { parseLabels } from '../../functions/engine/postprocess.js';
import { LIMITS } from '../../functions/engine/protocol.js';
import { noSharedReason, samplesDir, sharedModels, tempDir } from './helpers.js';

const SMALL = 'resnet18-w025-s112-synthetic';
const home = tempDir('inputs');
// No model dir and no shared dir: the fresh-clone path (synthetic build + committed labels).
const engine = createEngine({ sources: { home: home.dir, modelDir: join(home.dir, 'none') } });
afterAll(async () => {
  await engine.close();
  home.cleanup();
});
const cat = readFileSync(join(samplesDir, 'ort_cat.jpg'));

async function invalid(p: Promise<unknown>): Promise<InvalidInputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

describe('InvalidInputError names the field', () => {
  it('not an image', async () => {
    const err = await invalid(
      engine.predict(SMALL, [{ image: cat }, { image: Buffer.from('hello, not a picture') }]),
    );
    expect(err.field).toBe('inputs[1].image');
    expect(err.message).toMatch(/not a decodable image/);
    expect(err.cause).toBeDefined();
  });

  it('empty and oversized images', async () => {
    expect((await invalid(engine.predict(SMALL, [{ image: Buffer.alloc(0) }]))).field).toBe(
      'inputs[0].image',
    );
    const big = await invalid(engine.predict(SMALL, [{ image: Buffer.alloc(LIMITS.maxImageBytes + 1) }]));
    expect(big.message).toContain(String(LIMITS.maxImageBytes));
  });

  it('wrong tensor shape quotes the expected shape', async () => {
    const err = await invalid(
      engine.predict(SMALL, [
        { tensor: { dtype: 'float32', shape: [3, 224, 224], data: new Float32Array(3 * 224 * 224) } },
      ]),
    );
    expect(err.field).toBe('inputs[0].tensor.shape');
    expect(err.limit).toBe('[3,112,112]');
    expect(err.message).toContain('[3,112,112]');
  });

  it('wrong dtype, wrong element count, non-finite values', async () => {
    const n = 3 * 112 * 112;
    const e1 = await invalid(
      engine.predict(SMALL, [{ tensor: { dtype: 'uint8', shape: [3, 112, 112], data: new Uint8Array(n) } }]),
    );
    expect(e1.field).toBe('inputs[0].tensor.dtype');
    expect(e1.message).toMatch(/expects 'float32'/);
    const e2 = await invalid(
      engine.predict(SMALL, [{ tensor: { dtype: 'float32', shape: [3, 112, 112], data: [1, 2, 3] } }]),
    );
    expect(e2.field).toBe('inputs[0].tensor.data');
    const bad = new Float32Array(n);
    bad[7] = Number.NaN;
    const e3 = await invalid(
      engine.predict(SMALL, [{ tensor: { dtype: 'float32', shape: [3, 112, 112], data: bad } }]),
    );
    expect(e3.message).toMatch(/data\[7\]/);
  });

  it('topK and empty inputs; unknown variants', async () => {
    expect((await invalid(engine.predict(SMALL, [{ image: cat }], { topK: 0 }))).field).toBe('topK');
    expect((await invalid(engine.predict(SMALL, []))).field).toBe('inputs');
    await expect(engine.predict('nope', [{ image: cat }])).rejects.toBeInstanceOf(UnknownVariantError);
  });
});

describe('preprocessing', () => {
  it('a raw tensor gives exactly the same result as the image it came from', async () => {
    const v = engine.registry.get(SMALL);
    const data = rgbToInput(await decodeToRgb(cat, 112, 128, 'x'), v);
    const fromTensor = await engine.predict(SMALL, [
      { tensor: { dtype: 'float32', shape: [3, 112, 112], data } },
    ]);
    const fromImage = await engine.predict(SMALL, [{ image: cat }]);
    expect(fromTensor.outputs).toEqual(fromImage.outputs);
  });

  it('EXIF orientation is applied: a rotated copy tagged orientation 6 decodes like the original', async () => {
    const rgb = await decodeToRgb(cat, 112, 128, 'x');
    // Store the pixels rotated -90 deg, tagged "rotate 90 CW to display" (orientation 6).
    const stored = await sharp(cat).rotate(-90).withMetadata({ orientation: 6 }).png().toBuffer();
    const back = await decodeToRgb(stored, 112, 128, 'x');
    let diff = 0;
    for (let i = 0; i < rgb.length; i++) diff += Math.abs(rgb[i]! - back[i]!);
    expect(diff / rgb.length).toBeLessThan(2); // same picture up to JPEG->PNG resampling noise
    const untagged = await sharp(cat).rotate(-90).png().toBuffer();
    const wrong = await decodeToRgb(untagged, 112, 128, 'x');
    let diffWrong = 0;
    for (let i = 0; i < rgb.length; i++) diffWrong += Math.abs(rgb[i]! - wrong[i]!);
    expect(diffWrong / rgb.length).toBeGreaterThan(10 * (diff / rgb.length) + 5);
  });

  it('alpha and grayscale images become 3-channel RGB', async () => {
    const rgba = await sharp({
      create: { width: 50, height: 80, channels: 4, background: { r: 200, g: 10, b: 30, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    const gray = await sharp(cat).grayscale().jpeg().toBuffer();
    expect((await decodeToRgb(rgba, 32, 37, 'x')).length).toBe(32 * 32 * 3);
    const g = await decodeToRgb(gray, 32, 37, 'x');
    expect(g[0]).toBe(g[1]);
    const r = await engine.predict(SMALL, [{ image: rgba }, { image: gray }]);
    expect(r.outputs).toHaveLength(2);
  });

  it('BGR + mean subtraction (SqueezeNet style) and NHWC uint8 layouts', () => {
    const rgb = Buffer.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]); // 2x2 RGB
    const base = engine.registry.get(SMALL);
    const bgr = rgbToInput(rgb, {
      ...base,
      input: { ...base.input, dtype: 'float32', layout: 'NCHW' },
      preprocessing: {
        kind: 'image',
        size: 2,
        resizeShorterTo: 2,
        colorOrder: 'BGR',
        scale: 1,
        mean: [100, 10, 1],
        std: [1, 1, 1],
      },
    });
    // plane 0 = B - 100, plane 1 = G - 10, plane 2 = R - 1
    expect(Array.from(bgr)).toEqual([-70, -40, -10, 20, 10, 40, 70, 100, 9, 39, 69, 99]);
    const nhwc = rgbToInput(rgb, {
      ...base,
      input: { ...base.input, dtype: 'uint8', layout: 'NHWC' },
      preprocessing: {
        kind: 'image',
        size: 2,
        resizeShorterTo: 2,
        colorOrder: 'RGB',
        scale: 1,
        mean: [0, 0, 0],
        std: [1, 1, 1],
      },
    });
    expect(Array.from(nhwc)).toEqual(Array.from(rgb));
  });
});

describe('float16 and labels', () => {
  it('half bits round-trip known values', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(toHalfBits(2 ** -24)).toBe(1);
    expect(fromHalfBits(0x3555)).toBeCloseTo(0.333251953125, 12);
    for (const x of [0, 0.5, -123.6, 103.939, 1e-5, -65504]) {
      expect(Math.abs(fromHalfBits(toHalfBits(x)) - x)).toBeLessThanOrEqual(
        Math.max(Math.abs(x) * 2 ** -11, 2 ** -25),
      );
    }
  });

  it('parses wnid label files and plain ones', () => {
    expect(parseLabels('n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n')).toEqual([
      'tench, Tinca tinca',
      'goldfish, Carassius auratus',
    ]);
    expect(parseLabels('cat\ndog')).toEqual(['cat', 'dog']);
  });
});

describe.skipIf(!sharedModels)(
  `real uint8 / fp16 inputs (${sharedModels ? 'shared' : noSharedReason})`,
  () => {
    const real = createEngine({ sources: { modelDir: sharedModels!, home: home.dir } });
    afterAll(() => real.close());

    it('uint8 tensors outside 0..255 are rejected; fp16 tensors are accepted as numbers', async () => {
      const data = new Array(128 * 128 * 3).fill(0);
      data[5] = 256;
      const err = await invalid(
        real.predict('mobilenet-v1-050-128-quant', [
          { tensor: { dtype: 'uint8', shape: [128, 128, 3], data } },
        ]),
      );
      expect(err.message).toMatch(/integers 0..255/);
      const fp16 = await real.predict('squeezenet-caffe2-fp16', [
        { tensor: { dtype: 'float16', shape: [3, 224, 224], data: new Float32Array(3 * 224 * 224) } },
      ]);
      expect(fp16.outputs[0]![0]!.score).toBeGreaterThan(0);
    });
  },
);
