/**
 * The policy's view of the serverless pool, kept from invoke start/end events. AWS exposes no
 * count of idle warm execution environments, so every world estimates it the same way: an
 * instance that finished a request is idle-warm until `keepAliveMs` after that; a new invoke takes
 * the most recently idle one (as Lambda does). A memory change retires every warm instance (a new
 * configuration means new execution environments), so the estimate restarts at 0.
 *
 * Per variant it also keeps the invokes in flight and the start times of the last `burstWindowMs`,
 * which the memory-update burst rule (core/burst-guard.ts) decides from, and the requests waiting
 * for an instance to free up (a 'wait' decision: core/router.ts). The driver holds those requests
 * and learns from `onWarmFreed` when one of them may go.
 */
import type { LambdaView } from '../policy-types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A copy of the invoke events (a cluster router publishes them to the planner: controller/cluster/). */
export interface LambdaTap {
  started(variant: string, nowMs: number): void;
  ended(variant: string, nowMs: number, ran: boolean): void;
  throttled(nowMs: number, retryAfterMs: number): void;
}

/** How long a 429 closes Lambda routing when the world gives no Retry-After (an invocation ending reopens it). */
export const LAMBDA_THROTTLE_BACKOFF_MS = 1000;

export class LambdaPoolView {
  readonly view: LambdaView;
  /** Set by a cluster router; undefined everywhere else. */
  tap: LambdaTap | undefined;
  /**
   * Called (synchronously, inside ended()) when an invoke's instance of `variant` is idle-warm
   * again: the driver releases one request waiting for that variant. Undefined: nobody waits.
   */
  onWarmFreed: ((variant: string, nowMs: number) => void) | undefined;
  private readonly idleSince = new Map<string, number[]>();
  private readonly inFlightBy = new Map<string, number>();
  /** = view.warmBusyByVariant and view.waitingByVariant. */
  private readonly warmBusyBy: Record<string, number>;
  private readonly waitingBy: Record<string, number>;
  private readonly starts = new Map<string, { times: number[]; head: number }>();
  /** Invokes that were in flight when the memory changed: their environments end with them. */
  private readonly retiring = new Map<string, number>();

  constructor(
    variants: readonly string[],
    memoryMb: number,
    concurrencyLimit: number,
    private readonly keepAliveMs: number,
    private readonly burstWindowMs = 10_000,
  ) {
    const memoryMbByVariant: Record<string, number> = {};
    const warmIdleByVariant: Record<string, number> = {};
    const warmBusyByVariant: Record<string, number> = {};
    const waitingByVariant: Record<string, number> = {};
    for (const v of variants) {
      if (memoryMb > 0) memoryMbByVariant[v] = memoryMb; // 0: not configured yet
      warmIdleByVariant[v] = 0;
      warmBusyByVariant[v] = 0;
      this.inFlightBy.set(v, 0);
      waitingByVariant[v] = 0;
      this.idleSince.set(v, []);
      this.starts.set(v, { times: [], head: 0 });
    }
    this.warmBusyBy = warmBusyByVariant;
    this.waitingBy = waitingByVariant;
    this.view = { memoryMbByVariant, warmIdleByVariant, warmBusyByVariant, waitingByVariant, inFlight: 0, concurrencyLimit };
  }

  private prune(variant: string, nowMs: number): number[] {
    let list = this.idleSince.get(variant);
    if (!list) {
      list = [];
      this.idleSince.set(variant, list);
    }
    const cutoff = nowMs - this.keepAliveMs;
    let drop = 0;
    while (drop < list.length && list[drop]! < cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
    this.view.warmIdleByVariant[variant] = list.length;
    return list;
  }

  /**
   * An invoke starts; returns whether the estimate expected a warm instance. `request`: it serves a
   * request (not a warm-up), so when warm it counts in warmBusyByVariant until ended(..., true).
   */
  started(variant: string, nowMs: number, request = false): boolean {
    this.tap?.started(variant, nowMs);
    const list = this.prune(variant, nowMs);
    const warm = list.length > 0;
    if (warm) list.pop();
    this.view.warmIdleByVariant[variant] = list.length;
    (this.view as Mutable<LambdaView>).inFlight++;
    this.inFlightBy.set(variant, (this.inFlightBy.get(variant) ?? 0) + 1);
    if (warm && request) this.warmBusyBy[variant] = (this.warmBusyBy[variant] ?? 0) + 1;
    const s = this.starts.get(variant);
    if (s) {
      s.times.push(nowMs);
      // Compact now and then: the window holds at most a few thousand entries at 1 k rps.
      while (s.head < s.times.length && s.times[s.head]! <= nowMs - this.burstWindowMs) s.head++;
      if (s.head > 1024) {
        s.times.splice(0, s.head);
        s.head = 0;
      }
    }
    return warm;
  }

  /**
   * An invoke ended; `ran` = the function executed (its instance is now idle-warm); `warmRequest` =
   * started() counted it as a warm request (its return value, for a request).
   */
  ended(variant: string, nowMs: number, ran: boolean, warmRequest = false): void {
    this.tap?.ended(variant, nowMs, ran);
    (this.view as Mutable<LambdaView>).inFlight = Math.max(0, this.view.inFlight - 1);
    (this.view as Mutable<LambdaView>).throttledUntilMs = undefined;
    this.inFlightBy.set(variant, Math.max(0, (this.inFlightBy.get(variant) ?? 0) - 1));
    if (warmRequest) this.warmBusyBy[variant] = Math.max(0, (this.warmBusyBy[variant] ?? 0) - 1);
    const list = this.prune(variant, nowMs);
    const retiring = this.retiring.get(variant) ?? 0;
    let warmed = false;
    // One of the invokes that ran on the old configuration: Lambda does not reuse its environment.
    if (retiring > 0) this.retiring.set(variant, retiring - 1);
    else if (ran) {
      list.push(nowMs);
      warmed = true;
    }
    this.view.warmIdleByVariant[variant] = list.length;
    if (warmed && (this.waitingBy[variant] ?? 0) > 0) this.onWarmFreed?.(variant, nowMs);
  }

  /** A request starts waiting for an instance of `variant` (the driver holds it). */
  waitStarted(variant: string): void {
    this.waitingBy[variant] = (this.waitingBy[variant] ?? 0) + 1;
  }

  /** A waiting request was released or gave up. */
  waitEnded(variant: string): void {
    this.waitingBy[variant] = Math.max(0, (this.waitingBy[variant] ?? 0) - 1);
  }

  /**
   * The function's memory is now `memoryMb` (confirmed by the world): warm instances retire, idle
   * ones now and busy ones when their invoke ends (a new configuration means new execution
   * environments), so the router assumes cold starts until new instances have run. E.g. 3 idle +
   * 2 in flight at the change: 0 warm now, and still 0 after those 2 end.
   * `notSentYet`: of the invokes counted in flight, those whose slot is claimed but which are only
   * sent after the change (warm-ups that waited for it: loop/control-loop.ts); they run on the new
   * configuration, so their instances count as warm when they end.
   */
  memoryApplied(variant: string, memoryMb: number, notSentYet = 0): void {
    if (this.view.memoryMbByVariant[variant] === memoryMb) return;
    this.view.memoryMbByVariant[variant] = memoryMb;
    this.idleSince.set(variant, []);
    this.view.warmIdleByVariant[variant] = 0;
    this.retiring.set(variant, Math.max(0, (this.inFlightBy.get(variant) ?? 0) - notSentYet));
  }

  /**
   * The world answered 429: no Lambda routing until `untilMs` (the world's Retry-After, else
   * LAMBDA_THROTTLE_BACKOFF_MS) or until an invocation ends, whichever is first. A concurrency
   * throttle lifts as soon as one slot frees: holding the whole pool shut for 1 s at 30 rps turned
   * one 429 into ~30 503s (measured in the README demo), while a slot freed within ~20 ms.
   */
  throttled(nowMs: number, retryAfterMs: number = LAMBDA_THROTTLE_BACKOFF_MS): void {
    this.tap?.throttled(nowMs, retryAfterMs);
    (this.view as Mutable<LambdaView>).throttledUntilMs = nowMs + retryAfterMs;
  }

  /** Refresh time-dependent fields (throttle expiry, warm expiry) before a routing decision. */
  refresh(nowMs: number): void {
    if (this.view.throttledUntilMs !== undefined && this.view.throttledUntilMs <= nowMs) {
      (this.view as Mutable<LambdaView>).throttledUntilMs = undefined;
    }
  }

  /** Expire every variant's warm estimate (once per tick). */
  expireAll(nowMs: number): void {
    for (const v of this.idleSince.keys()) this.prune(v, nowMs);
  }

  /** Idle-warm instances of a variant and how long the oldest of them has been idle (0 if none). */
  idleOf(variant: string, nowMs: number): { idle: number; oldestIdleMs: number } {
    const list = this.prune(variant, nowMs);
    return { idle: list.length, oldestIdleMs: list.length > 0 ? nowMs - list[0]! : 0 };
  }

  /** In flight and recent start times of one variant, for the burst rule. */
  burstInput(variant: string, nowMs: number): { inFlight: number; recentInvokeTimesMs: readonly number[]; nowMs: number } {
    const s = this.starts.get(variant);
    return {
      inFlight: this.inFlightBy.get(variant) ?? 0,
      recentInvokeTimesMs: s ? s.times.slice(s.head) : [],
      nowMs,
    };
  }

  snapshot(): LambdaView {
    return {
      ...this.view,
      memoryMbByVariant: { ...this.view.memoryMbByVariant },
      warmIdleByVariant: { ...this.view.warmIdleByVariant },
      warmBusyByVariant: { ...this.warmBusyBy },
      waitingByVariant: { ...this.waitingBy },
    };
  }
}
