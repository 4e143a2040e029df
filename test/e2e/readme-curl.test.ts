/**
 * A fresh clone (SPILLWAY_SHARED_DIR=none: only synthetic variants) against a real started stack
 * (real VM server processes, the real local Lambda runtime):
 * - the README's headline curl, extracted from README.md and run with bash, answers 200;
 * - the same request with minAccuracy 60 answers 400 saying only synthetic variants are served
 *   and what to do;
 * - model-less tensor requests go only to a variant that takes their dtype and shape, and a
 *   tensor no variant takes is a 400 listing what each one takes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import type { Stack } from '../../controller/server/stack.js';
import { call, startTestStack } from './helpers.js';

const run = promisify(execFile);
const ROOT = repoRoot();
const SMALL = 'resnet18-w025-s112-synthetic'; // float32 [3,112,112]
const OTHER = 'resnet18-synthetic'; // float32 [3,224,224]

/** The first bash block of the README's "embedded default" section that contains `needle`. */
function readmeBlock(needle: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### The embedded default'));
  const blocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const cmd = blocks.find((b) => b.includes(needle));
  if (!cmd) throw new Error(`README.md: no bash block with '${needle}' under "### The embedded default"`);
  return cmd;
}

/** The AWS CLI .ci/run installs into .venv (test/e2e/clients/requirements.txt). */
const VENV_BIN = join(ROOT, '.venv', 'bin');
const AWS_CLI_MISSING = existsSync(join(VENV_BIN, 'aws'))
  ? undefined
  : `SKIPPED: ${VENV_BIN}/aws not found (run .ci/run)`;
if (AWS_CLI_MISSING && process.env['CI'] === 'true') throw new Error(`CI=true but ${AWS_CLI_MISSING}`);

let stack: Stack;
const saved = process.env['SPILLWAY_SHARED_DIR'];

beforeAll(async () => {
  process.env['SPILLWAY_SHARED_DIR'] = 'none';
  stack = await startTestStack({ variants: [SMALL, OTHER], maxVms: 1, vmBootDelayMs: 0 });
}, 240_000);

afterAll(async () => {
  await stack?.close();
  if (saved === undefined) delete process.env['SPILLWAY_SHARED_DIR'];
  else process.env['SPILLWAY_SHARED_DIR'] = saved;
});

describe('fresh clone (synthetic variants only), real stack', () => {
  it("the README's headline curl answers with a prediction", async () => {
    const cmd = readmeBlock('/v1/infer');
    expect(cmd).toContain('http://127.0.0.1:8080');
    const { stdout } = await run(
      'bash',
      ['-o', 'pipefail', '-c', cmd.replaceAll('http://127.0.0.1:8080', stack.url.replace(/\/$/, ''))],
      {
        cwd: ROOT,
        timeout: 60_000,
      },
    );
    const body = JSON.parse(stdout) as { weights?: string; predictions?: unknown[]; error?: unknown };
    expect(body.error).toBeUndefined();
    expect(body.weights).toBe('synthetic');
    expect(body.predictions?.length).toBeGreaterThan(0);
  }, 90_000);

  it.runIf(!AWS_CLI_MISSING)(
    "the README's AWS CLI invoke-endpoint answers with a prediction",
    async () => {
      const cmd = readmeBlock('sagemaker-runtime invoke-endpoint');
      const dir = mkdtempSync(join(tmpdir(), 'spillway-cli-'));
      await run(
        'bash',
        [
          '-o',
          'pipefail',
          '-c',
          `cd ${JSON.stringify(ROOT)} && ${cmd.replaceAll('http://127.0.0.1:8080', stack.url.replace(/\/$/, '')).replace('answer.json', join(dir, 'answer.json'))}`,
        ],
        {
          cwd: ROOT,
          timeout: 60_000,
          env: {
            ...process.env,
            PATH: `${VENV_BIN}:${process.env['PATH']}`,
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        },
      );
      const body = JSON.parse(readFileSync(join(dir, 'answer.json'), 'utf8')) as {
        weights?: string;
        sloMs?: number;
        predictions?: unknown[];
      };
      expect(body.weights).toBe('synthetic');
      expect(body.sloMs).toBe(1000);
      expect(body.predictions?.length).toBeGreaterThan(0);
    },
    90_000,
  );

  it('minAccuracy 60 answers 400 saying only synthetic variants are served and what to do', async () => {
    const image = readFileSync(join(ROOT, 'functions', 'models', 'samples', 'ort_cat.jpg')).toString(
      'base64',
    );
    const r = await call(stack.url, '/v1/infer', {
      body: { task: 'image-classification', sloMs: 300, minAccuracy: 60, input: { image } },
    });
    expect(r.status).toBe(400);
    const err = (r.body as { error: { field?: string; message: string } }).error;
    expect(err.field).toBe('minAccuracy');
    expect(err.message).toMatch(
      /only synthetic variants are served .*no published accuracy.*put the real models in \.\.\/shared\/models or SPILLWAY_MODEL_DIR.*or send minAccuracy 0/,
    );
  }, 60_000);

  it('a model-less tensor goes only to a variant that takes it (20 of 20), and one nobody takes is a 400 listing what each takes', async () => {
    // [3,224,224]: only the LARGER variant takes it; the router's cheapest pick would be the 112 px one.
    const tensor = {
      dtype: 'float32',
      shape: [3, 224, 224],
      dataBase64: Buffer.alloc(3 * 224 * 224 * 4).toString('base64'),
    };
    const served: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await call(stack.url, '/v1/infer', {
        body: { task: 'image-classification', sloMs: 5_000, minAccuracy: 0, input: { tensor } },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      served.push((r.body as { model: string }).model);
    }
    expect(new Set(served)).toEqual(new Set([OTHER]));

    const bad = { dtype: 'uint8', shape: [112, 112, 3], data: new Array(112 * 112 * 3).fill(0) };
    const r = await call(stack.url, '/v1/infer', {
      body: { task: 'image-classification', sloMs: 5_000, minAccuracy: 0, input: { tensor: bad } },
    });
    expect(r.status).toBe(400);
    const err = (r.body as { error: { field?: string; message: string } }).error;
    expect(err.field).toBe('input');
    expect(err.message).toContain(
      "no variant of task 'image-classification' accepts a uint8 [112,112,3] tensor",
    );
    expect(err.message).toContain(`'${SMALL}' takes a JPEG/PNG/WebP image or a float32 [3,112,112] tensor`);
    expect(err.message).toContain(`'${OTHER}' takes a JPEG/PNG/WebP image or a float32 [3,224,224] tensor`);
  }, 120_000);
});
