/**
 * `spillway models add` end to end in a temporary SPILLWAY_HOME: a real ONNX file is checked,
 * copied, profiled in a child process (the profiler's own code path), registered, listed, and
 * served by the real engine. Bad adds are refused with messages that say what is wrong.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import { loadRegistry, repoRoot, sharedDir } from '../../functions/engine/registry.js';
import { addModel } from '../../profiles/lib/add-model.js';
import type { AddSpec } from '../../profiles/lib/inspect.js';
import { loadProfiles, readProfileFile } from '../../profiles/lib/load.js';
import { formatModelTable, type ModelRow, modelRows } from '../../profiles/lib/list-models.js';
import { writeTinyModel } from './onnx-fixtures.js';

const run = promisify(execFile);
const ROOT = repoRoot();
const SHARED_MODEL = (() => {
  const d = sharedDir();
  const p = d ? join(d, 'models', 'mobilenet_v1_0.5_128_quant.onnx') : undefined;
  return p && existsSync(p) ? p : undefined;
})();
const LABELS = join(ROOT, 'functions', 'models', 'imagenet_synset.txt');
const GOLDFISH = join(ROOT, 'functions', 'models', 'samples', 'ort_goldfish.jpg');

let home: string;
let work: string;
let modelFile: string;
const savedHome = process.env['SPILLWAY_HOME'];

function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return run(process.execPath, ['--import', 'tsx', 'controller/cli/spillway.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, SPILLWAY_HOME: home },
    timeout: 120_000,
  }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
  );
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'spillway-home-'));
  work = mkdtempSync(join(tmpdir(), 'spillway-add-'));
  process.env['SPILLWAY_HOME'] = home;
  modelFile = join(work, 'model.onnx');
  if (SHARED_MODEL) {
    copyFileSync(SHARED_MODEL, modelFile);
  } else {
    // No shared models here (fresh clone): the engine's synthetic builder makes a small real ONNX file.
    const { buildSyntheticModel } = await import('../../functions/engine/synthetic/build.js');
    writeFileSync(modelFile, buildSyntheticModel('resnet18-w0.25-s112', 1).bytes);
  }
});

afterAll(() => {
  if (savedHome === undefined) delete process.env['SPILLWAY_HOME'];
  else process.env['SPILLWAY_HOME'] = savedHome;
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('spillway models add (end to end, real ONNX file, temp SPILLWAY_HOME)', () => {
  it('adds, profiles, lists and serves a model', async () => {
    // The file is a built-in variant's (same sha256): registering it again needs --allow-duplicate.
    const args = SHARED_MODEL
      ? ['--labels', LABELS, '--accuracy', '54.9', '--accuracy-source', 'TF-slim mobilenet_v1.md (TF model)', '--allow-duplicate']
      : ['--accuracy', 'none', '--preprocess', 'imagenet-torch', '--allow-duplicate'];
    const added = await cli([
      'models', 'add', modelFile, '--task', 'image-classification', '--name', 'my-model', ...args,
    ]);
    expect(added.stderr).not.toMatch(/refused/);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/added 'my-model'/);

    // profiled: a valid profile file in $SPILLWAY_HOME/profiles, found by loadProfiles
    const profile = readProfileFile(join(home, 'profiles', 'my-model.json'));
    expect(profile.weights).toBe('real');
    expect(profile.measurements.length).toBeGreaterThan(0);
    expect(profile.lambda.length).toBeGreaterThan(0);
    expect(loadProfiles({ home }).get('my-model')?.variant).toBe('my-model');

    // registered as a user variant with real weights and user-supplied accuracy
    const v = loadRegistry({ home }).get('my-model');
    expect(v.weights).toBe('real');
    expect(v.accuracy.appliesTo).toBe('user');
    expect(existsSync(join(home, 'models', v.file))).toBe(true);
    if (SHARED_MODEL) {
      expect(v.accuracy.top1).toBe(54.9);
      expect(v.output.classOffset).toBe(1); // 1001 outputs, 1000 labels: leading 'background'
      expect(v.input).toMatchObject({ dtype: 'uint8', layout: 'NHWC', shape: [1, 128, 128, 3] });
    }

    // listed, with its measured p50 and where the file comes from
    const listed = await cli(['models', 'list', '--json']);
    expect(listed.code).toBe(0);
    const row = (JSON.parse(listed.stdout) as ModelRow[]).find((r) => r.name === 'my-model');
    expect(row?.p50Ms).toBeGreaterThan(0);
    expect(row?.source).toMatch(/^user /);
    // the human table is the same rows, formatted (in process: saves a CLI start)
    expect(formatModelTable(modelRows(loadRegistry({ home }), loadProfiles({ home }), home))).toMatch(
      /my-model\s+image-classification\s+real\s+54\.9|my-model\s+image-classification\s+real\s+- /,
    );

    // served by the real engine
    const engine = createEngine({ registry: loadRegistry({ home }) });
    try {
      const res = await engine.predict('my-model', [{ image: readFileSync(GOLDFISH) }], { topK: 3 });
      expect(res.outputs).toHaveLength(1);
      expect(res.outputs[0]!.length).toBe(3);
      // With the real MobileNetV1 the class offset must be right: the goldfish photo is class 1.
      if (SHARED_MODEL) expect(res.outputs[0]![0]).toMatchObject({ index: 1, label: expect.stringMatching(/goldfish/) });
    } finally {
      await engine.close();
    }
  });

  it('refuses accuracy 140 from the CLI with a clear message and a non-zero exit', async () => {
    const r = await cli([
      'models', 'add', modelFile, '--task', 'image-classification', '--name', 'too-good',
      '--accuracy', '140', '--accuracy-source', 'wishful thinking',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/accuracy 140 is out of range.*0 to 100/);
    expect(existsSync(join(home, 'models', 'too-good.onnx'))).toBe(false);
  });

  const spec: AddSpec = {
    name: 'bad-model',
    task: 'image-classification',
    accuracyTop1: 50,
    accuracySource: 'test',
  };

  it('refuses a file that is not ONNX, and a missing file', async () => {
    const junk = join(work, 'junk.onnx');
    writeFileSync(junk, 'this is not a protobuf');
    await expect(addModel({ spec, sourcePath: junk, home })).rejects.toThrow(/not a loadable ONNX model/);
    await expect(addModel({ spec, sourcePath: join(work, 'nope.onnx'), home })).rejects.toThrow(/does not exist/);
  });

  it('refuses a model with two inputs', async () => {
    const two = join(work, 'two-inputs.onnx');
    writeTinyModel(
      two,
      [
        { name: 'a', type: 'float32', dims: ['N', 4] },
        { name: 'b', type: 'float32', dims: ['N', 4] },
      ],
      { name: 'y', type: 'float32', dims: ['N', 4] },
    );
    await expect(addModel({ spec, sourcePath: two, home })).rejects.toThrow(/2 input\(s\) \(a, b\).*exactly one input/);
  });

  it('refuses an unsupported dtype and a symbolic non-batch dimension', async () => {
    const i64 = join(work, 'int64.onnx');
    writeTinyModel(i64, [{ name: 'x', type: 'int64', dims: ['N', 4] }], { name: 'y', type: 'int64', dims: ['N', 4] });
    await expect(addModel({ spec, sourcePath: i64, home })).rejects.toThrow(/type int64; supported tensor types are float32, uint8, float16/);
    const sym = join(work, 'sym.onnx');
    writeTinyModel(sym, [{ name: 'x', type: 'float32', dims: ['N', 3, 'H', 'W'] }], {
      name: 'y',
      type: 'float32',
      dims: ['N', 3, 'H', 'W'],
    });
    await expect(addModel({ spec, sourcePath: sym, home })).rejects.toThrow(/dimension 2 is not a fixed number/);
  });

  it('refuses image preprocessing for a rank-2 input', async () => {
    const flat = join(work, 'flat.onnx');
    writeTinyModel(flat, [{ name: 'x', type: 'float32', dims: ['N', 10] }], { name: 'y', type: 'float32', dims: ['N', 10] });
    await expect(addModel({ spec: { ...spec, preprocess: 'imagenet-torch' }, sourcePath: flat, home })).rejects.toThrow(
      /needs a rank-4 image input/,
    );
  });

  it('refuses a name clash with a built-in variant and with an existing user variant', async () => {
    await expect(
      addModel({ spec: { ...spec, name: 'mobilenet-v2-10-int8-zoo' }, sourcePath: modelFile, home }),
    ).rejects.toThrow(/already a built-in variant/);
    // 'my-model' was added by the first test
    await expect(addModel({ spec: { ...spec, name: 'my-model' }, sourcePath: modelFile, home })).rejects.toThrow(
      /already registered.*--replace/,
    );
  });

  it('refuses bad names and out-of-range accuracy before touching the file', async () => {
    await expect(addModel({ spec: { ...spec, name: 'Bad Name' }, sourcePath: modelFile, home })).rejects.toThrow(
      /name 'Bad Name' is not allowed/,
    );
    await expect(addModel({ spec: { ...spec, accuracyTop1: -3 }, sourcePath: modelFile, home })).rejects.toThrow(
      /accuracy -3 is out of range/,
    );
  });
});

describe('manifest', () => {
  it('adds a model from a manifest (paths relative to it), profiled and registered', async () => {
    // A tiny tensor-in/tensor-out model keeps this fast: Identity float32 [N, 10], no preprocessing.
    writeTinyModel(join(work, 'tiny.onnx'), [{ name: 'x', type: 'float32', dims: ['N', 10] }], {
      name: 'y',
      type: 'float32',
      dims: ['N', 10],
    });
    const m = join(work, 'tiny.json');
    writeFileSync(
      m,
      JSON.stringify({
        name: 'tiny-manifest',
        task: 'vector-scoring',
        file: 'tiny.onnx',
        architecture: 'Identity',
        preprocessing: { kind: 'none' },
        input: { name: 'x', dtype: 'float32', shape: [null, 10], layout: 'other' },
        output: { kind: 'probabilities' },
        accuracy: { top1: 12.5, source: 'made up for a test' },
      }),
    );
    const r = await cli(['models', 'add', '--manifest', m, '--json']);
    expect(r.stderr).not.toMatch(/refused/);
    expect(r.code).toBe(0);
    const v = loadRegistry({ home }).get('tiny-manifest');
    expect(v).toMatchObject({
      task: 'vector-scoring',
      weights: 'real',
      preprocessing: { kind: 'none' },
      output: { kind: 'probabilities', numClasses: 10, classOffset: 0 },
      accuracy: { top1: 12.5, appliesTo: 'user' },
    });
    const p = readProfileFile(join(home, 'profiles', 'tiny-manifest.json'));
    expect(new Set(p.measurements.map((x) => x.batchSize))).toEqual(new Set([1, 4, 16]));
  });

  it('refuses a manifest whose input does not match the file', async () => {
    const m = join(work, 'm.json');
    writeFileSync(
      m,
      JSON.stringify({
        name: 'from-manifest',
        task: 'image-classification',
        file: resolve(modelFile),
        input: { name: 'wrong', dtype: 'float32', shape: [null, 3, 224, 224], layout: 'NCHW' },
        accuracy: { top1: null, source: 'none' },
      }),
    );
    // (the file is a registered variant's too: --allow-duplicate so the manifest check is what refuses)
    const r = await cli(['models', 'add', '--manifest', m, '--allow-duplicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/manifest does not match the model file: input.name 'wrong'/);
  });
});
