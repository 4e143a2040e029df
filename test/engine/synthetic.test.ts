/**
 * Synthetic variants: the builder is deterministic (same bytes twice, and the sha256 recorded in
 * the registry), the files load in onnxruntime, run a batch of 2 with finite outputs, and every
 * result says 'synthetic'.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import { loadRegistry } from '../../functions/engine/registry.js';
import { buildSyntheticModel } from '../../functions/engine/synthetic/build.js';
import { parseRecipe } from '../../functions/engine/synthetic/recipe.js';
import { mulberry32 } from '../../functions/engine/synthetic/prng.js';
import { samplesDir, tempDir } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const regHome = tempDir('reg');
const registry = loadRegistry({ home: regHome.dir });
afterAll(() => regHome.cleanup());
const synthetic = registry.variants().filter((v) => v.weights === 'synthetic');

describe('synthetic builder', () => {
  it('mulberry32 is deterministic and uniform-ish', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('rejects unknown recipes with the accepted grammar in the message', () => {
    expect(() => parseRecipe('vgg16')).toThrow(/resnet<18\|34\|50\|101\|152>/);
    expect(() => parseRecipe('resnet18-s8')).toThrow(/size/);
  });

  it.each(['resnet18', 'resnet18-w0.25-s112'])(
    '%s builds byte-identically twice and matches the registry',
    (recipe) => {
      const a = buildSyntheticModel(recipe, 1);
      const b = buildSyntheticModel(recipe, 1);
      expect(sha(a.bytes)).toBe(sha(b.bytes));
      expect(sha(buildSyntheticModel(recipe, 2).bytes)).not.toBe(sha(a.bytes));
      const entry = synthetic.find((v) => v.synthetic?.recipe === recipe)!;
      expect(entry).toBeDefined();
      expect(sha(a.bytes)).toBe(entry.sha256);
      expect(a.bytes.length).toBe(entry.sizeBytes);
      expect(a.gflops).toBeCloseTo(entry.gflops!, 3);
    },
  );

  it('resnet18/resnet50 have the torchvision layer structure (params and GMACs)', () => {
    const r18 = buildSyntheticModel('resnet18', 1);
    // torchvision resnet18: 11,689,512 params incl. 2 BN params per channel; folded BN keeps 1 (bias): -4,800.
    expect(r18.params).toBe(11_689_512 - 4_800);
    expect(r18.gflops / 2).toBeCloseTo(1.814, 2); // 1.81 GMACs
    const r50 = buildSyntheticModel('resnet50', 1);
    expect(r50.params).toBe(25_557_032 - 26_560);
    expect(r50.gflops / 2).toBeCloseTo(4.089, 2); // 4.09 GMACs
    expect(sha(r50.bytes)).toBe(registry.get('resnet50-synthetic').sha256);
  });
});

describe('synthetic variants through the engine', () => {
  const home = tempDir('syn-home');
  const engine = createEngine({ sources: { home: home.dir, modelDir: join(home.dir, 'no-such-dir') } });
  afterAll(async () => {
    await engine.close();
    home.cleanup();
  });

  it.each(['resnet18-w025-s112-synthetic', 'resnet18-synthetic'])(
    '%s builds into the cache, runs batch 2, finite',
    async (name) => {
      const loaded = await engine.load(name);
      expect(loaded.resolved.source).toBe('built');
      expect(loaded.resolved.path.startsWith(join(home.dir, 'cache', 'models'))).toBe(true);
      expect(sha(readFileSync(loaded.resolved.path))).toBe(registry.get(name).sha256);
      const img = (f: string) => ({ image: readFileSync(join(samplesDir, f)) });
      const r = await engine.predict(name, [img('ort_cat.jpg'), img('ort_dog.jpg')], { topK: 1000 });
      expect(r.weights).toBe('synthetic');
      expect(r.batchSize).toBe(2);
      for (const out of r.outputs) {
        expect(out).toHaveLength(1000);
        expect(out.every((p) => Number.isFinite(p.score) && p.score > 0)).toBe(true);
        expect(out.reduce((s, p) => s + p.score, 0)).toBeCloseTo(1, 5);
      }
      // Different photos, different logits: the graph is not constant.
      expect(r.outputs[0]![0]!.score).not.toBe(r.outputs[1]![0]!.score);
    },
  );

  it('a second engine finds the built file in the cache', async () => {
    const e2 = createEngine({ sources: { home: home.dir, modelDir: join(home.dir, 'no-such-dir') } });
    try {
      expect((await e2.load('resnet18-w025-s112-synthetic')).resolved.source).toBe('cache');
    } finally {
      await e2.close();
    }
  });
});
