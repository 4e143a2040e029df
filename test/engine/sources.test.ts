/**
 * Model sources: dir beats cache beats download beats build; downloads are opt-in, sha256-checked
 * and atomic. The "remote" is a real node:http server on loopback (port 0).
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../functions/engine/engine.js';
import { ChecksumMismatchError, ModelSourceError } from '../../functions/engine/errors.js';
import { resolveModelFile } from '../../functions/engine/model-sources.js';
import { registryFrom } from '../../functions/engine/registry.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { buildSyntheticModel } from '../../functions/engine/synthetic/build.js';
import { samplesDir, tempDir } from './helpers.js';

const model = buildSyntheticModel('resnet18-w0.25-s112', 7).bytes;
const modelSha = createHash('sha256').update(model).digest('hex');

/** A synthetic variant (so 'build' is possible) that also has a sha256 (so download is possible). */
const variant: ModelVariant = {
  name: 'tiny-test',
  task: 'image-classification',
  file: 'tiny-test.onnx',
  sha256: modelSha,
  sizeBytes: model.length,
  weights: 'synthetic',
  architecture: 'test',
  input: { name: 'input', dtype: 'float32', shape: [null, 3, 112, 112], layout: 'NCHW' },
  preprocessing: {
    kind: 'image',
    size: 112,
    resizeShorterTo: 128,
    colorOrder: 'RGB',
    scale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  },
  output: { name: 'logits', dtype: 'float32', kind: 'logits', classOffset: 0, numClasses: 1000 },
  labels: 'imagenet_synset.txt',
  accuracy: { top1: null, source: 'test', appliesTo: 'architecture' },
  synthetic: { recipe: 'resnet18-w0.25-s112', seed: 7 },
};
const realOnly: ModelVariant = { ...variant, name: 'tiny-real', weights: 'real', synthetic: undefined };
delete (realOnly as Partial<ModelVariant>).synthetic;

let server: Server;
let baseUrl: string;
let hits = 0;
let serveBytes: Uint8Array = model;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits += 1;
    if (req.url === `/models/${variant.file}`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': serveBytes.length });
      res.end(serveBytes);
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const dirs = tempDir('sources');
afterAll(() => dirs.cleanup());
let n = 0;
let modelDir: string;
let home: string;
let cacheDir: string;
beforeEach(() => {
  n += 1;
  modelDir = join(dirs.dir, `m${n}`);
  home = join(dirs.dir, `h${n}`);
  cacheDir = join(home, 'cache', 'models');
  mkdirSync(modelDir, { recursive: true });
  hits = 0;
  serveBytes = model;
});
const put = (dir: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, variant.file), model);
};

describe('resolution order', () => {
  it('dir beats cache', async () => {
    put(modelDir);
    put(cacheDir);
    const r = await resolveModelFile(variant, {
      modelDir,
      home,
      downloadBaseUrl: baseUrl,
      allowDownload: true,
    });
    expect(r).toMatchObject({ source: 'dir', path: join(modelDir, variant.file) });
    expect(r.labelsPath).toMatch(/functions\/models\/imagenet_synset\.txt$/);
    expect(hits).toBe(0);
  });

  it('user models in $SPILLWAY_HOME/models count as dir', async () => {
    put(join(home, 'models'));
    const r = await resolveModelFile(realOnly, { modelDir, home });
    expect(r).toMatchObject({ source: 'dir', path: join(home, 'models', variant.file) });
  });

  it('cache beats download', async () => {
    put(cacheDir);
    const r = await resolveModelFile(variant, {
      modelDir,
      home,
      downloadBaseUrl: baseUrl,
      allowDownload: true,
    });
    expect(r).toMatchObject({ source: 'cache', path: join(cacheDir, variant.file) });
    expect(hits).toBe(0);
  });

  it('download beats build, lands in the cache, and the engine runs it', async () => {
    const r = await resolveModelFile(variant, {
      modelDir,
      home,
      downloadBaseUrl: baseUrl,
      allowDownload: true,
    });
    expect(r).toMatchObject({ source: 'download', path: join(cacheDir, variant.file) });
    expect(hits).toBe(1);
    expect(readFileSync(r.path).equals(Buffer.from(model))).toBe(true);
    expect(readdirSync(cacheDir)).toEqual([variant.file]); // no temp files left
    // second resolve: from the cache, no network
    expect(
      (await resolveModelFile(variant, { modelDir, home, downloadBaseUrl: baseUrl, allowDownload: true }))
        .source,
    ).toBe('cache');
    expect(hits).toBe(1);
    const engine = createEngine({ registry: registryFrom([variant]), sources: { modelDir, home } });
    try {
      const out = await engine.predict(variant.name, [
        { image: readFileSync(join(samplesDir, 'ort_cat.jpg')) },
      ]);
      expect(out.outputs[0]).toHaveLength(5);
    } finally {
      await engine.close();
    }
  });

  it('build when nothing else is available (download not allowed)', async () => {
    const r = await resolveModelFile(variant, {
      modelDir,
      home,
      downloadBaseUrl: baseUrl,
      allowDownload: false,
    });
    expect(r.source).toBe('built');
    expect(createHash('sha256').update(readFileSync(r.path)).digest('hex')).toBe(modelSha);
    expect(hits).toBe(0);
  });

  it('concurrent builds share one result and leave exactly one file', async () => {
    const all = await Promise.all(
      Array.from({ length: 4 }, () => resolveModelFile(variant, { modelDir, home, allowDownload: false })),
    );
    expect(new Set(all.map((r) => r.path)).size).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([variant.file]);
  });

  it('a wrong-size file in the model dir is a clear ModelSourceError', async () => {
    writeFileSync(join(modelDir, variant.file), 'truncated');
    await expect(resolveModelFile(variant, { modelDir, home })).rejects.toThrow(/9 bytes; the registry says/);
  });
});

describe('download', () => {
  it('wrong sha256 -> ChecksumMismatchError and nothing left in the cache', async () => {
    serveBytes = Buffer.concat([Buffer.from(model.subarray(0, model.length - 1)), Buffer.from([0])]);
    const err = await resolveModelFile(realOnly, {
      modelDir,
      home,
      downloadBaseUrl: baseUrl,
      allowDownload: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect((err as ChecksumMismatchError).expectedSha256).toBe(modelSha);
    expect(hits).toBe(1);
    expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
  });

  it('allowDownload false -> never contacts the server; error lists what was tried', async () => {
    const err = await resolveModelFile(realOnly, {
      modelDir,
      home,
      downloadBaseUrl: baseUrl,
      allowDownload: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSourceError);
    expect((err as Error).message).toMatch(/SPILLWAY_ALLOW_DOWNLOAD=1/);
    expect(hits).toBe(0);
  });

  it('SPILLWAY_ALLOW_DOWNLOAD=1 enables it when the option is not given', async () => {
    process.env['SPILLWAY_ALLOW_DOWNLOAD'] = '1';
    try {
      const r = await resolveModelFile(realOnly, { modelDir, home, downloadBaseUrl: baseUrl });
      expect(r.source).toBe('download');
    } finally {
      delete process.env['SPILLWAY_ALLOW_DOWNLOAD'];
    }
  });

  it('HTTP 404 -> ModelSourceError naming the status', async () => {
    const missing = { ...realOnly, file: 'missing.onnx' };
    await expect(
      resolveModelFile(missing, { modelDir, home, downloadBaseUrl: baseUrl, allowDownload: true }),
    ).rejects.toThrow(/HTTP 404/);
  });

  it('refuses to download without a sha256 to check', async () => {
    const noSha = { ...realOnly };
    delete noSha.sha256;
    await expect(
      resolveModelFile(noSha, { modelDir, home, downloadBaseUrl: baseUrl, allowDownload: true }),
    ).rejects.toThrow(/no sha256/);
    expect(hits).toBe(0);
  });
});

describe('labels', () => {
  it('labels in the model dir are used when functions/models lacks them', async () => {
    put(modelDir);
    copyFileSync(join(samplesDir, '..', 'imagenet_synset.txt'), join(modelDir, 'other-labels.txt'));
    const r = await resolveModelFile({ ...variant, labels: 'other-labels.txt' }, { modelDir, home });
    expect(r.labelsPath).toBe(join(modelDir, 'other-labels.txt'));
    rmSync(join(modelDir, 'other-labels.txt'));
    await expect(
      resolveModelFile({ ...variant, labels: 'other-labels.txt' }, { modelDir, home }),
    ).rejects.toThrow(/label file 'other-labels.txt'/);
  });
});

describe('fresh clone (no ../shared)', () => {
  it('real models fail clearly, synthetic ones build, labels come from functions/models', async () => {
    const saved = {
      shared: process.env['SPILLWAY_SHARED_DIR'],
      dir: process.env['SPILLWAY_MODEL_DIR'],
      home: process.env['SPILLWAY_HOME'],
    };
    process.env['SPILLWAY_SHARED_DIR'] = 'none';
    delete process.env['SPILLWAY_MODEL_DIR'];
    process.env['SPILLWAY_HOME'] = home;
    const engine = createEngine();
    try {
      await expect(engine.load('shufflenet-v2-10-qdq')).rejects.toThrow(
        /not found; tried: .*download not allowed/,
      );
      const small = await engine.load('resnet18-w025-s112-synthetic');
      expect(small.resolved.source).toBe('built');
      expect(small.resolved.labelsPath).toMatch(/functions\/models\/imagenet_synset\.txt$/);
    } finally {
      await engine.close();
      for (const [k, v] of [
        ['SPILLWAY_SHARED_DIR', saved.shared],
        ['SPILLWAY_MODEL_DIR', saved.dir],
        ['SPILLWAY_HOME', saved.home],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
