/**
 * The control loop on the real clock: every tick it
 *   observe: fleet.describe(), Lambda function state, arrivals in the tick, completions, boot delays
 *   decide:  policy.tick(...)
 *   act:     fleet.launch / fleet.terminate, pool.setMemory
 * Each phase has its own try/catch so one failing call (a describe timing out, a launch refused)
 * never kills the loop; every decision is logged as one structured JSON line with the policy's notes.
 * Ticks never overlap: a slow act phase delays the next tick instead of stacking them.
 */
import type { Logger } from 'pino';
import type { TickDecision, TickObservation } from '../core/policy-types.js';
import { MemoryUpdateDeferredError } from '../aws/errors.js';
import type { MetricsPort, ServerlessPoolPort, VmFleetPort } from '../ports.js';
import type { ControllerRuntime } from '../server/runtime.js';
import { LoopPhaseError } from './errors.js';

export interface ControlLoopOptions {
  runtime: ControllerRuntime<unknown>;
  fleet: VmFleetPort;
  pool: ServerlessPoolPort;
  tickIntervalMs: number;
  /** Hard cap on VMs (pending + ready) whatever the plan says: local machines are small. */
  maxVms: number;
  log: Logger;
  now?: () => number;
  /** Timeout for each port call so a hung adapter cannot stall the loop. */
  callTimeoutMs?: number;
  /** Fleet gauges once per tick + flush (CloudWatch in the aws world); failures are logged, never fatal. */
  metrics?: MetricsPort;
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
  private lastTickMs: number;
  private tickNo = 0;
  private readonly now: () => number;
  private readonly callTimeoutMs: number;

  constructor(private readonly o: ControlLoopOptions) {
    this.now = o.now ?? Date.now;
    this.lastTickMs = this.now();
    this.callTimeoutMs = o.callTimeoutMs ?? Math.max(5_000, o.tickIntervalMs * 2);
  }

  start(): void {
    this.stopped = false;
    this.lastTickMs = this.now();
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

  /** Stops scheduling and waits for an in-progress tick. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Refresh the fleet view without deciding (used right after start and by tests). */
  async refreshFleet(): Promise<void> {
    const records = await withTimeout(this.o.fleet.describe(), this.callTimeoutMs, 'fleet.describe');
    this.o.runtime.syncFleet(records, this.now());
  }

  /** One observe -> decide -> act cycle. Never throws. */
  async tick(): Promise<TickDecision | undefined> {
    const { runtime: rt, log } = this.o;
    const tickNo = ++this.tickNo;
    const nowMs = this.now();
    rt.closeArrivalTick(nowMs - this.lastTickMs);
    this.lastTickMs = nowMs;

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
      for (const f of fns) if (rt.variants.has(f.variant)) rt.setLambdaMemory(f.variant, f.memoryMb);
    } catch (err) {
      log.warn(
        { tick: tickNo, err: new LoopPhaseError('observe', 'pool.describe failed', { cause: err }) },
        'observe failed',
      );
    }
    const obs: TickObservation = {
      nowMs,
      arrivalRpsHistory: rt.arrivalRpsHistory,
      vms: rt.vms,
      lambda: rt.lambda,
      completions: rt.takeCompletions(),
      observedBootDelayMs: rt.observedBootDelayMs,
    };

    // ---- decide
    const observedAt = performance.now();
    let decision: TickDecision;
    try {
      const out = rt.policy.tick(obs, rt.state, rt.env);
      rt.state = out.state;
      decision = out.decision;
    } catch (err) {
      log.error(
        { tick: tickNo, err: new LoopPhaseError('decide', 'policy.tick threw', { cause: err }) },
        'decide failed',
      );
      return undefined;
    }
    rt.lastDecision = { ...decision, atMs: nowMs };
    // policy.tick runs on the router's event loop: a slow plan delays requests, so it is logged.
    const decideMs = performance.now() - observedAt;
    const actStart = performance.now();

    // ---- act
    const active = rt.vms.filter((v) => v.state !== 'draining').length;
    let room = Math.max(0, this.o.maxVms - active + decision.terminate.length);
    const launched: Array<{ variant: string; count: number }> = [];
    const capped: string[] = [];
    for (const [i, l] of decision.launch.entries()) {
      const count = Math.min(l.count, room);
      if (count < l.count)
        capped.push(`${l.variant}: wanted ${l.count}, cap maxVms=${this.o.maxVms} allows ${count}`);
      if (count <= 0) continue;
      room -= count;
      try {
        await withTimeout(
          this.o.fleet.launch({
            instanceType: l.instanceType,
            variant: l.variant,
            count,
            clientToken: `spillway-${nowMs}-${tickNo}-${i}`,
          }),
          this.callTimeoutMs,
          'fleet.launch',
        );
        launched.push({ variant: l.variant, count });
      } catch (err) {
        log.error(
          {
            tick: tickNo,
            err: new LoopPhaseError('act', `launch ${l.variant} x${count} failed`, { cause: err }),
          },
          'act failed',
        );
      }
    }
    if (decision.terminate.length > 0) {
      rt.markDraining(decision.terminate);
      try {
        await withTimeout(this.o.fleet.terminate(decision.terminate), this.callTimeoutMs, 'fleet.terminate');
      } catch (err) {
        log.error(
          { tick: tickNo, err: new LoopPhaseError('act', 'terminate failed', { cause: err }) },
          'act failed',
        );
      }
    }
    for (const [variant, memoryMb] of Object.entries(decision.lambdaMemoryMb)) {
      if (!rt.variants.has(variant) || rt.lambda.memoryMbByVariant[variant] === memoryMb) continue;
      try {
        await withTimeout(this.o.pool.setMemory(variant, memoryMb), this.callTimeoutMs, 'pool.setMemory');
        rt.setLambdaMemory(variant, memoryMb);
      } catch (err) {
        if (err instanceof MemoryUpdateDeferredError) {
          // Expected during bursts: the pool refuses to reconfigure (and cold-start) a busy function.
          log.debug(
            { tick: tickNo, variant, memoryMb, reason: err.message },
            'lambda memory update deferred',
          );
        } else {
          log.warn(
            {
              tick: tickNo,
              err: new LoopPhaseError('act', `setMemory ${variant}=${memoryMb} failed`, { cause: err }),
            },
            'act failed',
          );
        }
      }
    }
    if (launched.length > 0 || decision.terminate.length > 0) {
      try {
        await this.refreshFleet();
      } catch {
        // next tick refreshes again
      }
    }
    log.info(
      {
        event: 'tick',
        tick: tickNo,
        decideMs: Math.round(decideMs * 10) / 10,
        actMs: Math.round((performance.now() - actStart) * 10) / 10,
        arrivalRps: rt.arrivalRpsHistory[rt.arrivalRpsHistory.length - 1] ?? 0,
        forecastRps: decision.forecastRps,
        vms: rt.vms.map((v) => `${v.id}:${v.variant}:${v.state}:${v.outstanding}`),
        lambdaInFlight: rt.lambda.inFlight,
        launch: launched,
        terminate: decision.terminate,
        lambdaMemoryMb: decision.lambdaMemoryMb,
        variantShares: decision.variantShares,
        notes: capped.length > 0 ? [...decision.notes, ...capped] : decision.notes,
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
