/**
 * Real Lambda bundling, once: esbuild + copy-native exactly as `cdk synth`/`cdk deploy` run it
 * (offline, no npm install). Measures the unzipped bundle against Lambda's 250 MB limit, checks
 * the native binaries were pruned to linux/x64, and, when the shared models exist, runs the
 * bundled handler in a plain `node` child process for a real prediction.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/app.js';
import { defaultModelDir } from '../../infra/config.js';
import { VariantFunction } from '../../infra/constructs/variant-function.js';

const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;
const VARIANT = 'squeezenet-caffe2-fp16';
const modelDir = defaultModelDir(REPO_ROOT);
const sampleImage = modelDir ? join(modelDir, 'images', 'ort_cat.jpg') : undefined;
const haveSample = !!sampleImage && existsSync(sampleImage);
if (!haveSample) console.warn('[test/infra] shared models absent: bundled-handler prediction check skipped');

function dirSizeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirSizeBytes(p);
    else if (e.isFile()) total += readFileSync(p).length;
  }
  return total;
}

describe('Lambda bundle (real esbuild bundling, offline)', () => {
  let assetDir: string;

  beforeAll(() => {
    const outdir = mkdtempSync(join(tmpdir(), 'spillway-bundle-'));
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'BundleProbe');
    new VariantFunction(stack, 'Fn', {
      variant: VARIANT,
      repoRoot: REPO_ROOT,
      memoryMb: 1769,
      ...(modelDir ? { modelDir } : {}),
    });
    const template = Template.fromStack(stack);
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Code: { S3Key: string } };
    };
    const hash = fn.Properties.Code.S3Key.replace(/\.zip$/, '');
    assetDir = join(outdir, `asset.${hash}`);
  }, 300_000);

  it('unzipped bundle is below the 250 MB Lambda limit', () => {
    const bytes = dirSizeBytes(assetDir);
    console.log(`[test/infra] Lambda bundle unzipped: ${(bytes / 1e6).toFixed(1)} MB (limit 262.1 MB)`);
    expect(bytes).toBeGreaterThan(1_000_000); // a real bundle, not an empty placeholder
    expect(bytes).toBeLessThan(LAMBDA_UNZIPPED_LIMIT_BYTES);
  });

  it('contains the ESM handler and onnxruntime-node pruned to linux/x64', () => {
    expect(existsSync(join(assetDir, 'index.mjs'))).toBe(true);
    const napi = join(assetDir, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    expect(readdirSync(napi)).toEqual(['linux']);
    expect(readdirSync(join(napi, 'linux'))).toEqual(['x64']);
    expect(existsSync(join(assetDir, 'node_modules', 'sharp', 'package.json'))).toBe(true);
    expect(existsSync(join(assetDir, 'node_modules', '@img', 'sharp-linux-x64'))).toBe(true);
  });

  it.skipIf(!haveSample)('the bundled handler answers a real prediction in a plain node process', () => {
    const labels = JSON.parse(readFileSync(join(modelDir!, 'images', 'labels.json'), 'utf8')) as {
      images: Array<{ file: string; labels: number[] }>;
    };
    const expected = labels.images.find((i) => i.file === 'ort_cat.jpg')!.labels;
    const script = join(mkdtempSync(join(tmpdir(), 'spillway-invoke-')), 'invoke.mjs');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
const { handler } = await import(${JSON.stringify(join(assetDir, 'index.mjs'))});
const image = readFileSync(${JSON.stringify(sampleImage)}).toString('base64');
const out = await handler({ model: ${JSON.stringify(VARIANT)}, inputs: [{ image }], topK: 5 },
  { getRemainingTimeInMillis: () => 30000, functionName: 'bundle-probe', awsRequestId: 'r1' });
process.stdout.write(JSON.stringify(out));`,
    );
    const stdout = execFileSync(process.execPath, [script], {
      cwd: assetDir,
      env: {
        PATH: process.env.PATH ?? '',
        SPILLWAY_VARIANT: VARIANT,
        SPILLWAY_MODEL_DIR: join(assetDir, 'models'),
        SPILLWAY_HOME: mkdtempSync(join(tmpdir(), 'spillway-home-')),
        LOG_LEVEL: 'silent',
      },
      timeout: 60_000,
    }).toString('utf8');
    const out = JSON.parse(stdout) as { statusCode: number; body: string };
    expect(out.statusCode).toBe(200);
    const body = JSON.parse(out.body) as { outputs: Array<{ top: Array<{ index: number }> }>; backend: { kind: string } };
    expect(body.backend.kind).toBe('lambda');
    expect(expected).toContain(body.outputs[0]?.top[0]?.index);
  });
});

describe('Lambda natives for arm64 (lambdaArchitecture=arm64) on an x64 machine', () => {
  it('copy-native takes sharp for linux/arm64 from the npm registry pinned by package-lock.json (npm ci installs only the host platform)', () => {
    const out = mkdtempSync(join(tmpdir(), 'spillway-native-arm64-'));
    execFileSync(process.execPath, [join(REPO_ROOT, 'infra', 'bundling', 'copy-native.mjs'), REPO_ROOT, out, 'arm64'], { stdio: 'pipe', timeout: 120_000 });
    const lib = join(out, 'node_modules', '@img', 'sharp-linux-arm64', 'lib');
    const addon = readdirSync(lib).find((f) => f.endsWith('.node'));
    expect(addon).toBeDefined();
    const elf = readFileSync(join(lib, addon!)).subarray(0, 64);
    expect(elf.readUInt16LE(18)).toBe(0xb7); // EM_AARCH64
    expect(existsSync(join(out, 'node_modules', '@img', 'sharp-libvips-linux-arm64', 'package.json'))).toBe(true);
    expect(readdirSync(join(out, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux'))).toEqual(['arm64']);
  }, 180_000);
});
