/**
 * LambdaPool end to end against the local Lambda runtime (controller/local/lambda-runtime): the
 * real handler in real child processes, real onnxruntime inference, behind the same Lambda
 * Invoke API that AWS speaks. Uses a real pretrained model when ../shared/models has it, else a
 * synthetic variant the engine builds offline (then only shapes are checked, not the label).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaPool } from '../../controller/aws/lambda-pool.js';
import { ThrottledError } from '../../controller/errors.js';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from '../../controller/local/lambda-runtime/index.js';
import { defaultModelDir } from '../../functions/engine/model-sources.js';
import { loadRegistry } from '../../functions/engine/registry.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const GOLDFISH = join(REPO, 'functions/models/samples/ort_goldfish.jpg');
const GOLDFISH_INDEX = 1;

function pickVariant(): { variant: string; real: boolean } {
  const real = loadRegistry().get('mobilenet-v1-050-128-quant');
  const dir = defaultModelDir();
  if (dir && existsSync(join(dir, real.file))) return { variant: real.name, real: true };
  return { variant: 'resnet18-w025-s112-synthetic', real: false };
}

describe.skipIf(!existsSync(GOLDFISH))('LambdaPool -> local Lambda runtime -> real handler', () => {
  const { variant, real } = pickVariant();
  const image = existsSync(GOLDFISH) ? readFileSync(GOLDFISH).toString('base64') : '';
  let rt: LocalLambdaRuntime;
  let pool: LambdaPool;

  beforeAll(async () => {
    rt = await startLocalLambdaRuntime({
      functions: [{ functionName: `spillway-${variant}`, variant, memoryMb: 1769 }],
      // One concurrent execution: a second simultaneous invoke is throttled (429), as on AWS
      // when reserved concurrency is exhausted.
      accountConcurrencyLimit: 1,
      keepAliveMs: 60_000,
    });
    pool = new LambdaPool({ endpoint: rt.endpoint, variants: [variant] });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('invoke returns a real prediction; cold start, billed duration and memory from the REPORT line', async () => {
    const first = await pool.invoke(variant, { model: variant, inputs: [{ image }], topK: 5 }, 60_000);
    expect(first.response.model).toBe(variant);
    expect(first.response.backend.kind).toBe('lambda');
    expect(first.coldStart).toBe(true);
    expect(first.memoryMb).toBe(1769);
    expect(first.billedDurationMs).toBeGreaterThan(0);
    if (real) expect(first.response.outputs[0]?.top.map((p) => p.index)).toContain(GOLDFISH_INDEX);
    else expect(first.response.weights).toBe('synthetic');
    const second = await pool.invoke(variant, { model: variant, inputs: [{ image }], topK: 1 }, 60_000);
    expect(second.coldStart).toBe(false);
  });

  it('an invalid request comes back as BackendResponseError 400 from the handler', async () => {
    await expect(pool.invoke(variant, { model: variant, inputs: [{ image: 'bm90IGFuIGltYWdl' }] }, 30_000)).rejects.toMatchObject({
      status: 400,
    });
  });

  it('429 from the runtime (concurrency 1 exhausted) -> ThrottledError', async () => {
    const heavy = { model: variant, inputs: Array.from({ length: 16 }, () => ({ image })), topK: 1 };
    const results = await Promise.allSettled([0, 1, 2].map(() => pool.invoke(variant, heavy, 60_000)));
    const throttled = results.filter((r) => r.status === 'rejected' && r.reason instanceof ThrottledError);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(throttled.length).toBeGreaterThanOrEqual(1);
  });

  it('setMemory updates the running function (UpdateFunctionConfiguration + waiter); describe shows it', async () => {
    // The previous tests made a handful of invokes, well under the 2 rps burst threshold.
    await pool.setMemory(variant, 1024);
    const [fn] = await pool.describe();
    expect(fn).toMatchObject({ variant, memoryMb: 1024, state: 'Active' });
    const after = await pool.invoke(variant, { model: variant, inputs: [{ image }], topK: 1 }, 60_000);
    expect(after.memoryMb).toBe(1024);
  });
});
