/**
 * The control loop on the real clock (local stack and AWS): every tick it
 *   observe: fleet.describe() and pool.describe() into the policy host's views
 *   decide:  host.tick(now) -> the policy's decision and the actions the world's limits allow
 *   act:     fleet.launch / fleet.terminate, each result reported to the host (a quota refusal
 *            holds launches, core/launch-backoff.ts); pool.setMemory as a background operation
 *            that later ticks observe (it may take the waiter's 120 s); then the warm pool's
 *            warm-up invokes (not awaited: a cold start must not delay the next tick)
 * The simulator drives the same host (core/host/policy-host.ts) in simulated time. Each phase has
 * its own try/catch so one failing call (a describe timing out, a launch refused) never kills the
 * loop; every decision is logged as one structured JSON line with the policy's notes.
 * Ticks never overlap: a slow act phase delays the next tick instead of stacking them.
 * This file imports ports and core only, never an adapter.
 */
import type { Logger } from 'pino';
import type { TickDecision } from '../core/policy-types.js';
import type { MetricsPort, ServerlessPoolPort, VmFleetPort } from '../ports.js';
import { LaunchQuotaError, LaunchTokenSpentError } from '../errors.js';
import type { ControllerRuntime } from '../server/runtime.js';
import { LoopPhaseError } from './errors.js';
import { runWarmUp } from './warm-up.js';

export interface ControlLoopOptions {
  runtime: ControllerRuntime<unknown>;
  fleet: VmFleetPort;
  pool: ServerlessPoolPort;
  tickIntervalMs: number;
  log: Logger;
  now?: () => number;
  /** Timeout for each port call so a hung adapter cannot stall the loop. */
  callTimeoutMs?: number;
  /** Fleet gauges once per tick + flush (CloudWatch in the aws world); failures are logged, never fatal. */
  metrics?: MetricsPort;
  /** A warm-up invoke (a cold start included) that takes longer counts as failed. @default 30 000 */
  warmUpTimeoutMs?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class ControlLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private tickNo = 0;
  private readonly now: () => number;
  private readonly callTimeoutMs: number;
  private readonly warming = new Set<Promise<void>>();
  private readonly memoryOps = new Map<string, { memoryMb: number; startedMs: number; promise: Promise<void> }>();
  /** Warm-ups (slots claimed) waiting for the variant's memory update before they are sent. */
  private readonly warmUpsAwaitingMemory = new Map<string, number>();
  /** Aborts the memory updates' waits at stop (a waiter may otherwise hold shutdown for 120 s). */
  private stopping = new AbortController();

  constructor(private readonly o: ControlLoopOptions) {
    this.now = o.now ?? Date.now;
    this.callTimeoutMs = o.callTimeoutMs ?? Math.max(5_000, o.tickIntervalMs * 2);
  }

  start(): void {
    this.stopped = false;
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.o.tickIntervalMs);
    this.timer.unref?.();
  }

  /** Stops scheduling and waits for an in-progress tick, the warm-ups it started and the memory updates (their waits aborted). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.stopping.abort(new LoopPhaseError('act', 'control loop stopped'));
    await this.warmUpsSettled();
    await this.memoryUpdatesSettled();
  }

  /** Resolves when every warm-up started so far has ended (each one has a timeout). */
  async warmUpsSettled(): Promise<void> {
    while (this.warming.size > 0) await Promise.all([...this.warming]);
  }

  /**
   * Starts a memory update as a tracked background operation: UpdateFunctionConfiguration plus the
   * wait until it is Successful takes up to the pool's 120 s waiter (a 409 while an earlier update
   * runs waits too), far past one tick and the per-call timeout, so a tick never awaits it. Later
   * ticks see it in flight (no second update of that variant) and its end applies the new memory to
   * the Lambda view, which retires the warm-instance estimate (new configuration = cold instances).
   * Returns false when an update of the variant is already running.
   */
  private startMemoryUpdate(variant: string, memoryMb: number, tickNo: number): boolean {
    if (this.memoryOps.has(variant)) return false;
    const { runtime: rt, log } = this.o;
    const startedMs = this.now();
    // Through a promise, so that even a pool that throws synchronously cannot fail the tick.
    const promise = Promise.resolve()
      .then(() => this.o.pool.setMemory(variant, memoryMb, { signal: this.stopping.signal }))
      .then(
        () => {
          rt.host.lambda.memoryApplied(variant, memoryMb, this.warmUpsAwaitingMemory.get(variant) ?? 0);
          log.info({ event: 'memory-updated', variant, memoryMb, tookMs: this.now() - startedMs }, 'lambda memory updated');
        },
        (err: unknown) => {
          log.warn(
            { tick: tickNo, err: new LoopPhaseError('act', `setMemory ${variant}=${memoryMb} failed`, { cause: err }) },
            'act failed',
          );
        },
      )
      .finally(() => this.memoryOps.delete(variant));
    this.memoryOps.set(variant, { memoryMb, startedMs, promise });
    return true;
  }

  /** Memory updates still running, by variant (the tick log and tests read it). */
  memoryUpdatesInFlight(): Record<string, number> {
    return Object.fromEntries([...this.memoryOps].map(([v, op]) => [v, op.memoryMb]));
  }

  /** Resolves when every memory update started so far has ended (succeeded, failed or aborted). */
  async memoryUpdatesSettled(): Promise<void> {
    while (this.memoryOps.size > 0) await Promise.all([...this.memoryOps.values()].map((op) => op.promise));
  }

  /** Refresh the fleet view without deciding (used right after start and by tests). */
  async refreshFleet(): Promise<void> {
    const records = await withTimeout(this.o.fleet.describe(), this.callTimeoutMs, 'fleet.describe');
    this.o.runtime.host.fleet.sync(records, this.now());
  }

  /** One observe -> decide -> act cycle. Never throws. */
  async tick(): Promise<TickDecision | undefined> {
    const { runtime: rt, log } = this.o;
    const host = rt.host;
    const tickNo = ++this.tickNo;

    // ---- observe
    try {
      await this.refreshFleet();
    } catch (err) {
      log.warn(
        { tick: tickNo, err: new LoopPhaseError('observe', 'fleet.describe failed', { cause: err }) },
        'observe failed',
      );
    }
    try {
      const fns = await withTimeout(this.o.pool.describe(), this.callTimeoutMs, 'pool.describe');
      for (const f of fns) if (rt.variants.has(f.variant)) host.lambda.memoryApplied(f.variant, f.memoryMb);
    } catch (err) {
      log.warn(
        { tick: tickNo, err: new LoopPhaseError('observe', 'pool.describe failed', { cause: err }) },
        'observe failed',
      );
    }

    // ---- decide (policy.tick runs on the router's event loop: a slow plan delays requests, so it is logged)
    const nowMs = this.now();
    const decideStart = performance.now();
    const { decision, actions, error } = host.tick(nowMs);
    if (error !== undefined) {
      log.error({ tick: tickNo, err: new LoopPhaseError('decide', 'policy.tick threw', { cause: error }) }, 'decide failed');
    }
    const decideMs = performance.now() - decideStart;
    const actStart = performance.now();

    // ---- act
    const launched: Array<{ variant: string; count: number }> = [];
    for (const l of actions.launch) {
      try {
        const records = await withTimeout(this.o.fleet.launch(l), this.callTimeoutMs, 'fleet.launch');
        // Confirmed: counted at once (no re-listing here: a listing right after RunInstances may
        // not show the new instances yet), and the next launch of this pair gets a new token.
        host.launchConfirmed(l, records, this.now());
        launched.push({ variant: l.variant, count: records.length });
      } catch (err) {
        if (err instanceof LaunchQuotaError) {
          const b = host.launchRefused({ code: err.code, message: err.message }, this.now());
          log.error(
            { tick: tickNo, code: err.code, refusals: b.refusals, heldUntilMs: b.untilMs, err },
            `launch ${l.variant} x${l.count} refused by a quota: launches held ${Math.round((b.untilMs - this.now()) / 1000)} s`,
          );
          break;
        }
        if (err instanceof LaunchTokenSpentError) host.launchTokenSpent(l);
        // A timeout leaves the token unconfirmed: the next tick retries the same intended launch.
        log.error(
          { tick: tickNo, err: new LoopPhaseError('act', `launch ${l.variant} x${l.count} failed`, { cause: err }) },
          'act failed',
        );
      }
    }
    if (actions.terminate.length > 0) {
      try {
        await withTimeout(this.o.fleet.terminate(actions.terminate), this.callTimeoutMs, 'fleet.terminate');
      } catch (err) {
        log.error({ tick: tickNo, err: new LoopPhaseError('act', 'terminate failed', { cause: err }) }, 'act failed');
      }
    }
    const memoryStarted: Record<string, number> = {};
    for (const { variant, memoryMb } of actions.setMemory) {
      if (this.startMemoryUpdate(variant, memoryMb, tickNo)) memoryStarted[variant] = memoryMb;
    }
    const warmUps: Record<string, number> = {};
    for (const w of actions.warmUp) {
      warmUps[w.variant] = w.count;
      // While a memory update of the variant runs, an invoke lands on the old configuration, whose
      // environments the update then retires: the warm-ups wait for it and warm the new one (the
      // order the simulator applies). Measured in the README demo: 4 warm-ups at 2,048 MB retired
      // 250 ms later by a change to 1,769 MB left the VM's variant cold for a tick (~5 s).
      const op = this.memoryOps.get(w.variant);
      if (op) this.warmUpsAwaitingMemory.set(w.variant, (this.warmUpsAwaitingMemory.get(w.variant) ?? 0) + w.count);
      const after = op
        ? op.promise.then(() => {
            const left = (this.warmUpsAwaitingMemory.get(w.variant) ?? 0) - w.count;
            if (left > 0) this.warmUpsAwaitingMemory.set(w.variant, left);
            else this.warmUpsAwaitingMemory.delete(w.variant);
          })
        : Promise.resolve();
      for (let k = 0; k < w.count; k++) {
        const p = after
          .then(() => runWarmUp({ host, pool: this.o.pool, timeoutMs: this.o.warmUpTimeoutMs ?? 30_000, now: this.now, log }, w.variant))
          .finally(() => this.warming.delete(p));
        this.warming.add(p);
      }
    }
    log.info(
      {
        event: 'tick',
        tick: tickNo,
        decideMs: Math.round(decideMs * 10) / 10,
        actMs: Math.round((performance.now() - actStart) * 10) / 10,
        arrivalRps: host.arrivalRpsHistory[host.arrivalRpsHistory.length - 1] ?? 0,
        forecastRps: decision.forecastRps,
        vms: host.fleet.vms.map((v) => `${v.id}:${v.variant}:${v.state}:${v.outstanding}`),
        lambdaInFlight: host.lambda.view.inFlight,
        launch: launched,
        terminate: actions.terminate,
        lambdaMemoryMb: memoryStarted,
        memoryUpdatesInFlight: Object.fromEntries([...this.memoryOps].map(([v, op]) => [v, op.memoryMb])),
        warmUps,
        variantShares: decision.variantShares,
        notes: [...decision.notes, ...actions.notes],
      },
      'decision',
    );
    await this.reportMetrics(nowMs);
    return decision;
  }

  /**
   * Fleet gauges for the dashboard: VM count, Lambda share of recent answers, and dollars per hour
   * as the slope of cost-so-far since the previous tick (e.g. $0.0004 over a 5 s tick = $0.29/h).
   */
  private lastCost: { atMs: number; usd: number } | undefined;
  private async reportMetrics(nowMs: number): Promise<void> {
    const m = this.o.metrics;
    if (!m) return;
    try {
      const rt = this.o.runtime;
      const usd = rt.ec2Cost(nowMs).total + rt.lambdaUsd;
      const prev = this.lastCost;
      this.lastCost = { atMs: nowMs, usd };
      const dtH = prev ? (nowMs - prev.atMs) / 3_600_000 : 0;
      m.fleet({
        vmCount: rt.vms.filter((v) => v.state !== 'draining').length,
        lambdaShare: rt.traffic(nowMs).recentLambdaShare,
        dollarsPerHour: prev && dtH > 0 ? Math.max(0, usd - prev.usd) / dtH : 0,
      });
      await withTimeout(m.flush(), this.callTimeoutMs, 'metrics.flush');
    } catch (err) {
      this.o.log.warn({ err, phase: 'metrics' }, 'metrics phase failed');
    }
  }
}
