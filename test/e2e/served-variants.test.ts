/**
 * Which variants the local stack serves (controller/server/variants.ts), on real files in a
 * temporary SPILLWAY_HOME: beside a real model, synthetic variants are served only when asked for
 * (SPILLWAY_SERVE_SYNTHETIC / an explicit list); with nothing real, synthetic ones are served.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinVariants, registryFrom } from '../../functions/engine/registry.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { resolveServedVariants } from '../../controller/server/variants.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { writeTinyModel } from '../profiles/onnx-fixtures.js';

const SYNTHETIC = builtinVariants().find((v) => v.name === 'resnet18-w025-s112-synthetic')!;
const REAL: ModelVariant = {
  name: 'tiny-real',
  task: 'image-classification',
  file: 'tiny-real.onnx',
  weights: 'real',
  architecture: 'Identity',
  input: { name: 'x', dtype: 'float32', shape: [null, 10], layout: 'other' },
  preprocessing: { kind: 'none' },
  output: { name: 'y', dtype: 'float32', kind: 'logits', classOffset: 0, numClasses: 10 },
  accuracy: { top1: 50, source: 'test', appliesTo: 'user' },
};

let home: string;
const catalog = loadCatalog();
const saved = { shared: process.env['SPILLWAY_SHARED_DIR'], flag: process.env['SPILLWAY_SERVE_SYNTHETIC'] };

beforeAll(() => {
  process.env['SPILLWAY_SHARED_DIR'] = 'none';
  delete process.env['SPILLWAY_SERVE_SYNTHETIC'];
  home = mkdtempSync(join(tmpdir(), 'spillway-served-'));
  mkdirSync(join(home, 'models'), { recursive: true });
  writeTinyModel(join(home, 'models', REAL.file), [{ name: 'x', type: 'float32', dims: ['N', 10] }], {
    name: 'y',
    type: 'float32',
    dims: ['N', 10],
  });
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  for (const [k, v] of [
    ['SPILLWAY_SHARED_DIR', saved.shared],
    ['SPILLWAY_SERVE_SYNTHETIC', saved.flag],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const resolve = (variants: ModelVariant[], over: { wanted?: string[]; serveSynthetic?: boolean } = {}) => {
  const notes: string[] = [];
  return resolveServedVariants({
    registry: registryFrom(variants),
    catalog,
    wanted: over.wanted ?? [],
    home,
    sloMs: 200,
    onProgress: (m) => notes.push(m),
    ...(over.serveSynthetic !== undefined ? { serveSynthetic: over.serveSynthetic } : {}),
  }).then((m) => ({ names: [...m.keys()], notes }));
};

describe('synthetic variants beside real ones', () => {
  it('with a real model present, synthetic ones are not served, and start-up says why and how to get them', async () => {
    const { names, notes } = await resolve([SYNTHETIC, REAL]);
    expect(names).toEqual(['tiny-real']);
    expect(notes.join('\n')).toMatch(
      /synthetic variants not served because real models exist \(resnet18-w025-s112-synthetic\); set SPILLWAY_SERVE_SYNTHETIC=1 or name them in SPILLWAY_VARIANTS/,
    );
  });

  it('SPILLWAY_SERVE_SYNTHETIC=1 (or serveSynthetic) and an explicit list serve them beside the real one', async () => {
    expect((await resolve([SYNTHETIC, REAL], { serveSynthetic: true })).names.sort()).toEqual([
      'resnet18-w025-s112-synthetic',
      'tiny-real',
    ]);
    process.env['SPILLWAY_SERVE_SYNTHETIC'] = '1';
    try {
      expect((await resolve([SYNTHETIC, REAL])).names).toContain('resnet18-w025-s112-synthetic');
    } finally {
      delete process.env['SPILLWAY_SERVE_SYNTHETIC'];
    }
    expect(
      (await resolve([SYNTHETIC, REAL], { wanted: ['resnet18-w025-s112-synthetic', 'tiny-real'] })).names,
    ).toHaveLength(2);
  }, 120_000);

  it('with nothing real, synthetic ones are served', async () => {
    expect((await resolve([SYNTHETIC])).names).toEqual(['resnet18-w025-s112-synthetic']);
  }, 120_000);
});
