/**
 * The five real models give exactly the top-1 classes of the shared README's prediction table on
 * all 13 photos (the wrong answers too), which pins input name, layout, colour order,
 * normalisation, dtype (fp16) and class offset. Real onnxruntime, real images.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../functions/engine/engine.js';
import { noSharedReason, sharedModels } from './helpers.js';

const MODELS = [
  'mobilenet-v1-050-128-quant',
  'shufflenet-v2-10-qdq',
  'squeezenet-caffe2-fp16',
  'mobilenet-v2-10-int8-zoo',
  'mobilenet-v2-10-int8-st',
] as const;

/** The README table (models/README.md, "Check: predictions on the sample images"): top-1 label, score. */
const TABLE: Record<string, [string, number][]> = {
  'winml_kitten_224.png': [
    ['tabby', 0.69],
    ['tabby', 1.0],
    ['tabby', 0.94],
    ['tabby', 0.88],
    ['tabby', 0.85],
  ],
  'winml_fish.png': [
    ['tench', 0.76],
    ['barracouta', 0.94],
    ['barracouta', 0.74],
    ['tench', 0.65],
    ['barracouta', 0.47],
  ],
  'ort_goldfish.jpg': [
    ['goldfish', 1.0],
    ['goldfish', 1.0],
    ['goldfish', 1.0],
    ['goldfish', 1.0],
    ['goldfish', 0.6],
  ],
  'ort_horse-cart.jpg': [
    ['horse cart', 0.94],
    ['horse cart', 1.0],
    ['oxcart', 0.87],
    ['horse cart', 0.95],
    ['horse cart', 0.37],
  ],
  'ort_kimono.jpg': [
    ['pajama', 0.21],
    ['kimono', 0.92],
    ['pajama', 0.63],
    ['kimono', 0.97],
    ['kimono', 0.89],
  ],
  'ort_cat.jpg': [
    ['tabby', 0.46],
    ['Egyptian cat', 0.5],
    ['tabby', 0.62],
    ['tabby', 0.82],
    ['tabby', 0.61],
  ],
  'ort_cat_224x224.png': [
    ['kit fox', 0.36],
    ['Egyptian cat', 0.43],
    ['tabby', 0.25],
    ['Egyptian cat', 0.31],
    ['tabby', 0.38],
  ],
  'ort_dog.jpg': [
    ['golden retriever', 0.13],
    ['kuvasz', 0.71],
    ['golden retriever', 0.83],
    ['golden retriever', 0.41],
    ['golden retriever', 0.66],
  ],
  'ort_wolves.jpg': [
    ['white wolf', 0.78],
    ['white wolf', 1.0],
    ['white wolf', 0.96],
    ['white wolf', 0.94],
    ['white wolf', 0.88],
  ],
  'wonnx_pelican.jpeg': [
    ['pelican', 0.85],
    ['pelican', 1.0],
    ['pelican', 0.63],
    ['pelican', 1.0],
    ['pelican', 0.71],
  ],
  'wonnx_bald_eagle.jpeg': [
    ['kite', 0.47],
    ['kite', 0.54],
    ['bald eagle', 0.95],
    ['bald eagle', 0.7],
    ['vulture', 0.39],
  ],
  'tract_grace_hopper.jpg': [
    ['academic gown', 0.33],
    ['Windsor tie', 0.66],
    ['bow tie', 0.63],
    ['bow tie', 0.82],
    ['mortarboard', 0.42],
  ],
  'tract_elephants.jpg': [
    ['tusker', 0.46],
    ['Indian elephant', 0.81],
    ['Indian elephant', 0.73],
    ['Indian elephant', 0.54],
    ['tusker', 0.59],
  ],
};

/**
 * README top-1 counts are out of 14 (10,10,10,13,11); one ImageNet photo was removed afterwards.
 * Counting the ✓ marks of the 13 remaining rows gives these.
 */
const TOP1_CORRECT_OF_13 = [9, 9, 9, 12, 10];

const IMAGES = Object.keys(TABLE);
const short = (label: string) => label.split(',')[0]!.trim();

describe.skipIf(!sharedModels)(
  `real models on the 13 sample photos (${sharedModels ? 'shared models present' : noSharedReason})`,
  () => {
    let engine: Engine;
    const labels = () =>
      JSON.parse(readFileSync(join(sharedModels!, 'images', 'labels.json'), 'utf8')) as {
        images: { file: string; labels: number[] }[];
      };
    const images = () => IMAGES.map((f) => ({ image: readFileSync(join(sharedModels!, 'images', f)) }));

    beforeAll(() => {
      engine = createEngine({ sources: { modelDir: sharedModels!, allowBuild: false } });
    });
    afterAll(() => engine.close());

    it.each(MODELS.map((m, i) => [m, i] as const))('%s matches the README table', async (model, col) => {
      const loaded = await engine.load(model);
      expect(loaded.resolved.source).toBe('dir');
      const r = await engine.predict(model, images(), { topK: 5 });
      expect(r.weights).toBe('real');
      expect(r.outputs).toHaveLength(IMAGES.length);
      const got = r.outputs.map((o) => short(o[0]!.label));
      const want = IMAGES.map((f) => TABLE[f]![col]![0]);
      expect(got).toEqual(want);
      // Scores within rounding of the README's two decimals (+0.01 for run-to-run int8 kernel noise).
      r.outputs.forEach((o, i) => {
        expect(Math.abs(o[0]!.score - TABLE[IMAGES[i]!]![col]![1])).toBeLessThanOrEqual(0.016);
      });
      // top-1 accuracy against labels.json (independent of the label strings above)
      const byFile = new Map(labels().images.map((x) => [x.file, new Set(x.labels)]));
      const correct = r.outputs.filter((o, i) => byFile.get(IMAGES[i]!)!.has(o[0]!.index)).length;
      expect(correct).toBe(TOP1_CORRECT_OF_13[col]);
    });

    it('batched predict equals per-item predict for a dynamic-batch model', async () => {
      const model = 'mobilenet-v2-10-int8-zoo';
      expect(engine.registry.get(model).input.shape[0]).toBeNull();
      const inputs = images().slice(0, 6);
      const batched = await engine.predict(model, inputs, { topK: 5 });
      expect(batched.batchSize).toBe(6);
      for (let i = 0; i < inputs.length; i++) {
        const single = await engine.predict(model, [inputs[i]!], { topK: 5 });
        expect(single.batchSize).toBe(1);
        expect(batched.outputs[i]!.map((p) => p.index)).toEqual(single.outputs[0]!.map((p) => p.index));
        batched.outputs[i]!.forEach((p, j) => {
          expect(Math.abs(p.score - single.outputs[0]![j]!.score)).toBeLessThanOrEqual(1e-4);
        });
      }
    });

    it('fixed-batch models run one input per session.run and report batchSize 1', async () => {
      const r = await engine.predict('shufflenet-v2-10-qdq', images().slice(0, 3));
      expect(r.batchSize).toBe(1);
      expect(r.outputs).toHaveLength(3);
    });
  },
);
