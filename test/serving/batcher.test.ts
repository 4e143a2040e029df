import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EngineInput, PredictResult } from '../../functions/engine/engine-types.js';
import { Batcher } from '../../functions/server/batcher.js';
import { DeadlineExceededError, QueueFullError, ServingConfigError } from '../../functions/server/errors.js';

/** A real async "model": echoes each input's first value as its class index after a short await. */
function echoRunner(delayMs = 5) {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  let held: Promise<void> | undefined;
  const run = async (inputs: readonly EngineInput[], o: { topK: number }): Promise<PredictResult> => {
    const ids = inputs.map((i) => ('tensor' in i ? Number(i.tensor.data[0]) : -1));
    batches.push(ids);
    if (held) await held;
    await sleep(delayMs);
    if (ids.includes(-99)) throw new Error('bad input -99');
    return {
      outputs: ids.map((id) => Array.from({ length: o.topK }, (_, k) => ({ index: id, label: `c${id}`, score: 1 / (k + 1) }))),
      preprocessMs: 0,
      inferenceMs: delayMs,
      batchSize: inputs.length,
    };
  };
  return {
    run,
    batches,
    hold() {
      held = new Promise((r) => {
        release = r;
      });
    },
    release() {
      held = undefined;
      release?.();
    },
  };
}

const t = (id: number): EngineInput => ({ tensor: { dtype: 'float32', shape: [1], data: [id] } });
const now = () => performance.now();

describe('Batcher', () => {
  it('rejects unknown and invalid options by name', () => {
    const r = echoRunner();
    expect(() => new Batcher({ maxBatch: 4, maxWaitMs: 1, queueLimit: 4, run: r.run, bogus: 1 } as never)).toThrow(
      ServingConfigError,
    );
    expect(() => new Batcher({ maxBatch: 0, maxWaitMs: 1, queueLimit: 4, run: r.run })).toThrow(/maxBatch/);
  });

  it('batches concurrent requests up to maxBatch inputs and routes each result back', async () => {
    const r = echoRunner();
    const b = new Batcher({ maxBatch: 4, maxWaitMs: 50, queueLimit: 100, run: r.run });
    const jobs = [1, 2, 3, 4, 5, 6].map((id) => b.submit({ inputs: [t(id)], topK: 2, arrivalMs: now() }));
    const results = await Promise.all(jobs);
    results.forEach((res, i) => {
      expect(res.outputs).toHaveLength(1);
      expect(res.outputs[0]![0]!.index).toBe(i + 1);
      expect(res.outputs[0]).toHaveLength(2);
    });
    // The first arrival after idle goes at once (no company in sight); the 4 that queue behind it
    // fill a batch of maxBatch; the last one follows.
    expect(r.batches[0]).toEqual([1]);
    expect(r.batches[1]).toEqual([2, 3, 4, 5]);
    expect(r.batches.flat().sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Math.max(...r.batches.map((x) => x.length))).toBeLessThanOrEqual(4);
  });

  it('waits for company only when arrivals are close together (manual clock)', async () => {
    // Timers of this clock never fire: a request that waits for maxWaitMs would hang the test.
    let clockMs = 0;
    const armed: number[] = [];
    const clock = { now: () => clockMs, setTimeout: (_f: () => void, ms: number) => armed.push(ms), clearTimeout: () => {} };
    const r = echoRunner(1);
    const b = new Batcher({ maxBatch: 8, maxWaitMs: 10, queueLimit: 10, run: r.run, clock });
    await b.submit({ inputs: [t(1)], topK: 1, arrivalMs: clockMs });
    clockMs += 50; // sparse: 50 ms apart > maxWaitMs
    await b.submit({ inputs: [t(2)], topK: 1, arrivalMs: clockMs });
    expect(r.batches).toEqual([[1], [2]]);
    expect(armed).toEqual([]);
    // Dense arrivals (gap 0) make waiting worthwhile: the next lone request waits for company.
    clockMs += 50;
    for (let id = 3; id <= 8; id++) void b.submit({ inputs: [t(id)], topK: 1, arrivalMs: clockMs });
    await sleep(20);
    expect(armed.length).toBeGreaterThan(0);
    await b.drain();
  });

  it('slices top-k per request when batch-mates ask for different k', async () => {
    const r = echoRunner();
    const b = new Batcher({ maxBatch: 8, maxWaitMs: 1000, queueLimit: 10, run: r.run });
    const [a, c] = await Promise.all([
      b.submit({ inputs: [t(7)], topK: 1, arrivalMs: now() }),
      b.submit({ inputs: [t(8), t(9)], topK: 3, arrivalMs: now() }),
      b.drain(),
    ]);
    expect(a.outputs[0]).toHaveLength(1);
    expect(c.outputs.map((o) => o.length)).toEqual([3, 3]);
    expect(c.outputs.map((o) => o[0]!.index)).toEqual([8, 9]);
  });

  it('orders queued requests earliest-deadline-first', async () => {
    const r = echoRunner();
    r.hold();
    const b = new Batcher({ maxBatch: 1, maxWaitMs: 0, queueLimit: 10, run: r.run });
    const first = b.submit({ inputs: [t(1)], topK: 1, arrivalMs: now() }); // dispatched at once, held
    const late = b.submit({ inputs: [t(2)], topK: 1, arrivalMs: now() }); // no deadline
    const soon = b.submit({ inputs: [t(3)], topK: 1, arrivalMs: now(), budgetMs: 60_000 });
    const sooner = b.submit({ inputs: [t(4)], topK: 1, arrivalMs: now(), budgetMs: 30_000 });
    r.release();
    await Promise.all([first, late, soon, sooner]);
    expect(r.batches.map((x) => x[0])).toEqual([1, 4, 3, 2]);
  });

  it('answers queue_full (503 + Retry-After) instead of growing past queueLimit', async () => {
    const r = echoRunner();
    r.hold();
    const b = new Batcher({ maxBatch: 1, maxWaitMs: 0, queueLimit: 2, run: r.run });
    const accepted = [1, 2, 3].map((id) => b.submit({ inputs: [t(id)], topK: 1, arrivalMs: now() }));
    const refused = b.submit({ inputs: [t(4)], topK: 1, arrivalMs: now() });
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    const err = (await refused.catch((e) => e)) as QueueFullError;
    expect(err.status).toBe(503);
    expect(err.code).toBe('queue_full');
    expect(err.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(b.depth()).toBe(2);
    r.release();
    await Promise.all(accepted);
  });

  it('answers 504 at the deadline and does not hold a request past its budget', async () => {
    const r = echoRunner();
    r.hold();
    const b = new Batcher({ maxBatch: 1, maxWaitMs: 0, queueLimit: 10, run: r.run });
    const blocker = b.submit({ inputs: [t(1)], topK: 1, arrivalMs: now() });
    const tight = b.submit({ inputs: [t(2)], topK: 1, arrivalMs: now(), budgetMs: 20 });
    // The runner is still held: the 504 must come from the deadline, not from a finished batch.
    await expect(tight).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(r.batches).toEqual([[1]]);
    expect(b.depth()).toBe(0);
    r.release();
    await blocker;
  });

  it('rejects at once when the remaining budget cannot cover the expected service time', async () => {
    const r = echoRunner(30);
    const b = new Batcher({ maxBatch: 1, maxWaitMs: 0, queueLimit: 10, run: r.run });
    await b.submit({ inputs: [t(1)], topK: 1, arrivalMs: now() }); // teaches the model: ~30 ms per batch
    expect(b.expectedServiceMs(1)).toBeGreaterThanOrEqual(25);
    const err = await b.submit({ inputs: [t(2)], topK: 1, arrivalMs: now(), budgetMs: 5 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toMatch(/expected wait \+ service time/);
    expect(r.batches).toEqual([[1]]); // never ran
  });

  it('a failing input does not fail its batch-mates', async () => {
    const r = echoRunner();
    const b = new Batcher({ maxBatch: 8, maxWaitMs: 1000, queueLimit: 10, run: r.run });
    const good = b.submit({ inputs: [t(5)], topK: 1, arrivalMs: now() });
    const bad = b.submit({ inputs: [t(-99)], topK: 1, arrivalMs: now() });
    void b.drain();
    await expect(bad).rejects.toThrow(/-99/);
    expect((await good).outputs[0]![0]!.index).toBe(5);
  });

  it('drain flushes queued work without waiting for maxWaitMs', async () => {
    const r = echoRunner(1);
    const b = new Batcher({ maxBatch: 8, maxWaitMs: 10_000, queueLimit: 10, run: r.run });
    const p = b.submit({ inputs: [t(1)], topK: 1, arrivalMs: now() });
    await b.drain();
    expect((await p).outputs[0]![0]!.index).toBe(1);
  });
});
