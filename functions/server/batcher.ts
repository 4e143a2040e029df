/**
 * Per-variant dynamic batcher. Requests queue with their input count and deadline; a batch is
 * dispatched when it holds maxBatch inputs, when the oldest request has waited maxWaitMs, when
 * waiting longer would make the most urgent request miss its deadline, or at once when requests
 * arrive further apart than maxWaitMs (waiting could not gather company, only add latency);
 * under load the worker is busy and batches form while it runs. Order is earliest deadline
 * first (no deadline = last, ties by arrival). A request whose remaining budget cannot cover the
 * expected wait + service time is answered 504 at once, and every request is answered 504 at its
 * deadline at the latest, even if its batch is still running. The queue is bounded (queueLimit
 * requests): past it, submit() rejects with QueueFullError (503 + Retry-After) instead of growing.
 */
import { z } from 'zod';
import type { EngineInput, PredictResult } from '../engine/engine-types.js';
import type { Prediction } from '../engine/protocol.js';
import { DeadlineExceededError, QueueFullError, ServingConfigError } from './errors.js';
import { ServiceTimeModel } from './service-time.js';
import { describeIssues } from '../engine/zod-issues.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type RunBatch = (inputs: readonly EngineInput[], opts: { topK: number }) => Promise<PredictResult>;

const fn = <T>() => z.custom<T>((v) => typeof v === 'function', { message: 'must be a function' });

export const BatcherOptionsSchema = z.strictObject({
  /** Max inputs per session.run; a single request larger than this still runs, alone. */
  maxBatch: z.number().int().min(1).max(1024),
  /** Longest the oldest queued request waits for company before its batch goes. */
  maxWaitMs: z.number().min(0).max(10_000),
  /** Max queued requests (not counting the batches running). */
  queueLimit: z.number().int().min(1).max(1_000_000),
  /** Batches of this variant allowed in flight at once (1 = the session owns its threads). */
  concurrency: z.number().int().min(1).max(64).default(1),
  run: fn<RunBatch>(),
  clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && 'now' in v).optional(),
  /** Service-time guess before the first batch is observed (ms per input); 0 = none. */
  initialMsPerInput: z.number().min(0).default(0),
  /** Called after each batch: size in inputs and wall time (for metrics). */
  onBatch: fn<(batchSize: number, ms: number) => void>().optional(),
});
export type BatcherOptions = z.input<typeof BatcherOptionsSchema>;

export interface BatchJob {
  inputs: readonly EngineInput[];
  topK: number;
  /** When the request arrived (clock ms); its budget counts from here. */
  arrivalMs: number;
  budgetMs?: number;
}

export interface BatchJobResult {
  outputs: Prediction[][];
  queueMs: number;
  preprocessMs: number;
  inferenceMs: number;
  batchSize: number;
}

interface Pending {
  job: BatchJob;
  deadlineMs: number;
  resolve(r: BatchJobResult): void;
  reject(e: unknown): void;
  settled: boolean;
  timer: unknown;
  seq: number;
}

interface InFlight {
  startMs: number;
  size: number;
}

export class Batcher {
  private readonly opts: z.output<typeof BatcherOptionsSchema>;
  private readonly clock: Clock;
  private readonly model: ServiceTimeModel;
  private queue: Pending[] = [];
  private readonly inFlight = new Set<InFlight>();
  private waitTimer: unknown;
  private waitTimerAt = Number.POSITIVE_INFINITY;
  private seq = 0;
  private lastArrivalMs: number | undefined;
  /**
   * EWMA of the gap between arrivals (ms). Waiting maxWaitMs for company only pays when company is
   * likely: with 1 closed-loop client (gap ~ service time, e.g. 7 ms > 2 ms maxWait) every wait
   * would be pure added latency, so an idle worker dispatches at once. Gaps are clamped so one
   * long idle spell does not hide a burst for long (200 ms -> 1.6 ms after 7 quick arrivals).
   */
  private gapMs = Number.POSITIVE_INFINITY;
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: BatcherOptions) {
    const parsed = BatcherOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new ServingConfigError(`batcher option ${describeIssues(parsed.error.issues)}`);
    }
    this.opts = parsed.data;
    this.clock = this.opts.clock ?? realClock;
    this.model = new ServiceTimeModel(0.2, this.opts.initialMsPerInput);
  }

  /** Queued requests (excluding running batches). */
  depth(): number {
    return this.queue.length;
  }

  running(): number {
    return this.inFlight.size;
  }

  expectedServiceMs(batchSize: number): number {
    return this.model.predict(batchSize);
  }

  submit(job: BatchJob): Promise<BatchJobResult> {
    if (this.queue.length >= this.opts.queueLimit) {
      return Promise.reject(new QueueFullError(this.opts.queueLimit, this.retryAfterS()));
    }
    const t = this.clock.now();
    if (this.lastArrivalMs !== undefined) {
      const gap = Math.min(Math.max(0, t - this.lastArrivalMs), 100 * this.opts.maxWaitMs + 1);
      this.gapMs = Number.isFinite(this.gapMs) ? this.gapMs + 0.5 * (gap - this.gapMs) : gap;
    }
    this.lastArrivalMs = t;
    return new Promise<BatchJobResult>((resolve, reject) => {
      const deadlineMs = job.budgetMs === undefined ? Number.POSITIVE_INFINITY : job.arrivalMs + job.budgetMs;
      const p: Pending = { job, deadlineMs, resolve, reject, settled: false, timer: undefined, seq: this.seq++ };
      if (Number.isFinite(deadlineMs)) {
        const left = deadlineMs - this.clock.now();
        if (left <= 0) {
          reject(new DeadlineExceededError(job.budgetMs ?? 0, 'budget already spent on arrival'));
          return;
        }
        p.timer = this.clock.setTimeout(() => this.expire(p), left);
      }
      this.queue.push(p);
      this.pump();
    });
  }

  /** Stop waiting for company: flush everything queued as fast as possible; resolves when idle. */
  drain(): Promise<void> {
    this.draining = true;
    this.pump();
    return this.whenIdle();
  }

  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Seconds until the queue is likely to have room: queued inputs / maxBatch batches, >= 1 s. */
  private retryAfterS(): number {
    const inputs = this.queue.reduce((s, p) => s + p.job.inputs.length, 0);
    const batches = Math.ceil(inputs / this.opts.maxBatch);
    const ms = batches * this.model.predict(this.opts.maxBatch);
    return Math.max(1, Math.ceil(ms / 1000));
  }

  private settle(p: Pending): boolean {
    if (p.settled) return false;
    p.settled = true;
    if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
    return true;
  }

  private expire(p: Pending): void {
    if (!this.settle(p)) return;
    this.queue = this.queue.filter((q) => q !== p);
    p.reject(new DeadlineExceededError(p.job.budgetMs ?? 0, 'budget ran out before the result was ready'));
    this.checkIdle();
  }

  /** When a new batch could start: now if a slot is free, else when the earliest running one should end. */
  private slotFreeAtMs(now: number): number {
    if (this.inFlight.size < this.opts.concurrency) return now;
    let free = Number.POSITIVE_INFINITY;
    for (const f of this.inFlight) free = Math.min(free, Math.max(now, f.startMs + this.model.predict(f.size)));
    return free;
  }

  private dropHopeless(now: number): void {
    const startAt = this.slotFreeAtMs(now);
    const keep: Pending[] = [];
    for (const p of this.queue) {
      const need = this.model.predict(p.job.inputs.length);
      if (Number.isFinite(p.deadlineMs) && startAt + need > p.deadlineMs) {
        if (this.settle(p)) {
          const left = Math.max(0, p.deadlineMs - now);
          p.reject(
            new DeadlineExceededError(
              p.job.budgetMs ?? 0,
              `remaining ${left.toFixed(1)} ms cannot cover the expected wait + service time of ${(startAt - now + need).toFixed(1)} ms`,
            ),
          );
        }
      } else keep.push(p);
    }
    this.queue = keep;
  }

  private pump(): void {
    const now = this.clock.now();
    this.dropHopeless(now);
    while (this.queue.length > 0 && this.inFlight.size < this.opts.concurrency) {
      const queuedInputs = this.queue.reduce((s, p) => s + p.job.inputs.length, 0);
      let oldest = Number.POSITIVE_INFINITY;
      let urgent = Number.POSITIVE_INFINITY;
      for (const p of this.queue) {
        oldest = Math.min(oldest, p.job.arrivalMs);
        urgent = Math.min(urgent, p.deadlineMs - this.model.predict(Math.min(queuedInputs, this.opts.maxBatch)));
      }
      const dueAt = Math.min(oldest + this.opts.maxWaitMs, urgent);
      const companyUnlikely = this.gapMs > this.opts.maxWaitMs;
      if (this.draining || queuedInputs >= this.opts.maxBatch || now >= dueAt || companyUnlikely) {
        this.dispatch(now);
        continue;
      }
      this.armWait(dueAt, now);
      break;
    }
    this.checkIdle();
  }

  private armWait(at: number, now: number): void {
    if (this.waitTimer !== undefined && this.waitTimerAt <= at) return;
    if (this.waitTimer !== undefined) this.clock.clearTimeout(this.waitTimer);
    this.waitTimerAt = at;
    this.waitTimer = this.clock.setTimeout(
      () => {
        this.waitTimer = undefined;
        this.waitTimerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - now),
    );
  }

  private dispatch(now: number): void {
    // EDF: earliest deadline first; requests without a deadline keep arrival order behind them.
    this.queue.sort((a, b) => a.deadlineMs - b.deadlineMs || a.seq - b.seq);
    const batch: Pending[] = [];
    let size = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && size + next.job.inputs.length > this.opts.maxBatch) break;
      batch.push(next);
      size += next.job.inputs.length;
      this.queue.shift();
    }
    const flight: InFlight = { startMs: now, size };
    this.inFlight.add(flight);
    const inputs = batch.flatMap((p) => p.job.inputs);
    const topK = Math.max(...batch.map((p) => p.job.topK));
    void this.runBatch(batch, inputs, topK, flight);
  }

  private async runBatch(
    batch: Pending[],
    inputs: EngineInput[],
    topK: number,
    flight: InFlight,
    owned = true,
  ): Promise<void> {
    try {
      const result = await this.opts.run(inputs, { topK });
      const ms = this.clock.now() - flight.startMs;
      this.model.observe(flight.size, ms);
      this.opts.onBatch?.(flight.size, ms);
      let offset = 0;
      for (const p of batch) {
        const n = p.job.inputs.length;
        const outputs = result.outputs.slice(offset, offset + n).map((top) => top.slice(0, p.job.topK));
        offset += n;
        if (!this.settle(p)) continue;
        p.resolve({
          outputs,
          queueMs: Math.max(0, flight.startMs - p.job.arrivalMs),
          preprocessMs: result.preprocessMs,
          inferenceMs: result.inferenceMs,
          batchSize: result.batchSize,
        });
      }
    } catch (err) {
      if (batch.length > 1) {
        // One bad input must not fail its batch-mates: re-run each request alone to isolate it.
        for (const p of batch) {
          if (p.settled) continue;
          await this.runBatch([p], [...p.job.inputs], p.job.topK, { startMs: this.clock.now(), size: p.job.inputs.length }, false);
        }
      } else for (const p of batch) if (this.settle(p)) p.reject(err);
    } finally {
      if (owned) {
        this.inFlight.delete(flight);
        this.pump();
      }
    }
  }

  private checkIdle(): void {
    if (this.queue.length === 0 && this.inFlight.size === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}
