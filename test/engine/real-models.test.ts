/**
 * The five real models answer the 13 sample photos like their recorded references
 * (functions/models/reference-answers.json): exactly when a record of this CPU's ISA class exists,
 * within the measured cross-ISA tolerance otherwise (answer-agreement.ts says why those numbers),
 * and always within that tolerance of the independent AVX2 table in ../shared/models/README.md.
 * int8 kernels differ by instruction set (AVX2 / AVX-512 VNNI / AMX / arm64 dot-product), so an
 * exact table from one CPU would fail on another; a tolerance alone could hide a real bug, so the
 * last test proves the same check rejects each known class of preprocessing/decoding bug (colour
 * order, normalisation, class offset, layout) on the same photos. Real onnxruntime, real images.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answers, CROSS_ISA, compareAnswers } from '../../functions/engine/answer-agreement.js';
import { cpuIsa, isaKey } from '../../functions/engine/cpu-isa.js';
import { createEngine, type Engine } from '../../functions/engine/engine.js';
import { chooseReference, loadReferenceAnswers } from '../../functions/engine/reference-answers.js';
import { loadRegistry, registryFrom } from '../../functions/engine/registry.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { noSharedReason, sharedModels } from './helpers.js';

const MODELS = [
  'mobilenet-v1-050-128-quant',
  'shufflenet-v2-10-qdq',
  'squeezenet-caffe2-fp16',
  'mobilenet-v2-10-int8-zoo',
  'mobilenet-v2-10-int8-st',
] as const;

const REFS = loadReferenceAnswers();
const ISA = isaKey(cpuIsa());

/**
 * Known bug classes, each a change to the registry entry the engine preprocesses and decodes by.
 * (A different crop is not among them: the shared README measured that dropping the center crop
 * moves the per-model top-1 counts by up to 2 of 14, which is a choice, not a decoding bug.)
 */
const MUTATIONS: Record<string, (v: ModelVariant) => ModelVariant | undefined> = {
  'colour order swapped': (v) =>
    v.preprocessing.kind === 'image'
      ? { ...v, preprocessing: { ...v.preprocessing, colorOrder: v.preprocessing.colorOrder === 'RGB' ? 'BGR' : 'RGB' } }
      : undefined,
  'class offset off by one': (v) => ({ ...v, output: { ...v.output, classOffset: v.output.classOffset === 0 ? 1 : 0 } }),
  'normalisation dropped': (v) => {
    const p = v.preprocessing;
    if (p.kind !== 'image' || (p.mean.every((m) => m === 0) && p.std.every((x) => x === 1) && p.scale === 1)) return undefined;
    return { ...v, preprocessing: { ...p, scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } };
  },
  'layout transposed': (v) =>
    v.input.layout === 'NCHW' || v.input.layout === 'NHWC'
      ? { ...v, input: { ...v.input, layout: v.input.layout === 'NCHW' ? 'NHWC' : 'NCHW' } }
      : undefined,
};

describe.skipIf(!sharedModels)(
  `real models on the 13 sample photos, CPU ${ISA} (${sharedModels ? 'shared models present' : noSharedReason})`,
  () => {
    let engine: Engine;
    const photos = Object.keys(REFS.variants[MODELS[0]]![0]!.answers);
    const images = () => photos.map((f) => ({ image: readFileSync(join(sharedModels!, 'images', f)) }));
    const labels = () =>
      JSON.parse(readFileSync(join(sharedModels!, 'images', 'labels.json'), 'utf8')) as {
        images: { file: string; labels: number[] }[];
      };

    async function answersOf(e: Engine, model: string): Promise<Answers> {
      const r = await e.predict(model, images(), { topK: 1 });
      expect(r.outputs).toHaveLength(photos.length);
      return Object.fromEntries(photos.map((f, i) => [f, { top1: r.outputs[i]![0]!.index, score: r.outputs[i]![0]!.score }]));
    }

    beforeAll(() => {
      engine = createEngine({ sources: { modelDir: sharedModels!, allowBuild: false } });
    });
    afterAll(() => engine.close());

    it.each(MODELS)('%s agrees with its reference for this ISA and with the AVX2 table', async (model) => {
      const loaded = await engine.load(model);
      expect(loaded.resolved.source).toBe('dir');
      const got = await answersOf(engine, model);
      const chosen = chooseReference(REFS.variants[model], ISA)!;
      const vsChosen = compareAnswers(got, chosen.record.answers, chosen.tolerance);
      expect(vsChosen.problems, `vs ${chosen.record.isa} (${chosen.sameIsa ? 'same ISA: exact' : 'cross-ISA tolerance'})`).toEqual([]);
      expect(vsChosen.compared).toBe(photos.length);
      // Every record (the independent README table included) within the cross-ISA tolerance.
      for (const rec of REFS.variants[model]!) {
        expect(compareAnswers(got, rec.answers, CROSS_ISA).problems, `vs ${rec.isa}`).toEqual([]);
      }
      // The photos' own labels (labels.json, independent of the tables): at most 2 of 13 from the
      // AVX2 table's count, the same bound as the top-1 agreement.
      const byFile = new Map(labels().images.map((x) => [x.file, new Set(x.labels)]));
      const correct = (a: Answers) => photos.filter((f) => byFile.get(f)!.has(a[f]!.top1)).length;
      expect(Math.abs(correct(got) - correct(REFS.variants[model]![0]!.answers))).toBeLessThanOrEqual(2);
    });

    /**
     * A bug in the engine's code hits every model on the same preprocessing path (input dtype,
     * layout and pixel transform), so a bug class counts as caught when, on each path it applies
     * to, at least one model fails the check. Per model it may pass: a colour swap moves ShuffleNet
     * (11/13 top-1, mean score change 0.14) about as far as AVX2 vs VNNI moves MobileNetV2 (11/13,
     * 0.10), so no one tolerance separates those two; MobileNetV2 on the same path flips confident
     * answers (0.93, 0.99) and fails.
     */
    it('each known preprocessing/decoding bug fails the same check on every preprocessing path', async () => {
      const registry = loadRegistry();
      const pathOf = (v: ModelVariant) =>
        JSON.stringify([v.input.dtype, v.input.layout, v.preprocessing.kind === 'image' ? v.preprocessing : 'tensor']);
      const caughtOnPath = new Map<string, boolean>();
      for (const [bug, mutate] of Object.entries(MUTATIONS)) {
        const originals = MODELS.map((m) => registry.get(m)).filter((v) => mutate(v) !== undefined);
        const mutated = originals.map((v) => mutate(v)!);
        const e = createEngine({ registry: registryFrom(mutated), sources: { modelDir: sharedModels!, allowBuild: false } });
        try {
          for (const [i, v] of mutated.entries()) {
            const key = `${bug} on ${pathOf(originals[i]!)}`;
            const chosen = chooseReference(REFS.variants[v.name], ISA)!;
            let failed: boolean;
            try {
              failed = !compareAnswers(await answersOf(e, v.name), chosen.record.answers, CROSS_ISA).ok;
            } catch {
              failed = true; // rejected outright (e.g. a shape the model cannot take): caught too
            }
            caughtOnPath.set(key, (caughtOnPath.get(key) ?? false) || failed);
          }
        } finally {
          await e.close();
        }
      }
      const missed = [...caughtOnPath].filter(([, caught]) => !caught).map(([k]) => k);
      expect(missed).toEqual([]);
      expect(caughtOnPath.size).toBeGreaterThanOrEqual(8); // 4 bug classes x the 3 paths they apply to, less n/a
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
