/**
 * The one policy host every world drives: the simulator (simulated clock), the local stack and the
 * AWS controller (real clock). It is fed events — fleet listings and launches, Lambda invoke
 * start/end and memory changes, arrivals (every routed request, rejected or not: all of it is
 * demand), completions, throttles — and
 *   route(req)   asks the policy where one request goes (hot path, no allocation),
 *   tick(nowMs)  closes the interval into a TickObservation, runs policy.tick, and turns the
 *                decision plus the world's limits into actions (tick-actions.ts).
 * Worlds only carry actions out and report what happened. Time is always a parameter.
 * Each tick also puts the decision in plain words (plain-words.ts, `lastDecision.summary`) and,
 * when `historySamples` is set (the live worlds: an hour), one sample into the history that
 * GET /v1/history and the dashboard read (history.ts).
 * policy.tick/observe are caught here: a policy bug costs one decision, never the host.
 */
import type {
  CompletionRecord,
  Policy,
  PolicyEnv,
  RouteDecision,
  RouteRequest,
  RouterView,
  TickDecision,
  TickObservation,
} from '../policy-types.js';
import type { DemandCount } from '../demand-classes.js';
import { FleetView } from './fleet-view.js';
import { LambdaPoolView } from './lambda-view.js';
import { Ledger } from './ledger.js';
import { type LaunchBackoff, type LaunchBackoffOptions, launchBackoffAfterRefusal } from '../launch-backoff.js';
import { type LaunchAction, type TickActions, tickActions, type WorldLimits } from './tick-actions.js';
import type { FleetRecord } from './fleet-view.js';
import { buildHistorySample, ControllerHistory, type TickErrorCounts } from './history.js';
import { plainWords } from './plain-words.js';
import { learnedBootDelayMs } from '../spillway-policy.js';

/**
 * A copy of the demand and outcome events a host is fed. A cluster router (controller/cluster/)
 * sets one so that the planner, in another thread or process, sees every router's requests as if
 * it had served them itself. Lambda invoke start/end events are tapped in LambdaPoolView.
 * A host with a tap is a follower: it never ticks (the planner does), so it keeps no completions
 * of its own for a tick; they go to the tap only (else a router at 1 k req/s would hold 3.6 M
 * records an hour, and its garbage collector would scan all of them).
 */
export interface HostTap {
  arrival(req: Pick<RouteRequest, 'task' | 'minAccuracy' | 'variant'>): void;
  rejected(status: number | undefined): void;
  failed(status: number | undefined): void;
  completed(c: CompletionRecord, lambdaBilling: { billedDurationMs: number; memoryMb: number } | undefined): void;
  warmUpBilled(billing: { billedDurationMs: number; memoryMb: number }): void;
}

export interface PolicyHostOptions {
  limits: WorldLimits;
  /** Memory every function starts with (the world's current configuration). */
  lambdaMemoryMb: number;
  /** How long an idle Lambda instance stays warm (the world's figure: AWS ~5-15 min, local configured). */
  lambdaKeepAliveMs: number;
  /** Past tick intervals kept in arrivalRpsHistory. @default 720 */
  historyTicks?: number;
  nowMs: number;
  /**
   * Distinguishes this controller run's launch tokens from an earlier run's (EC2 keeps a
   * RunInstances token for at least 24 h after the instances end: a restarted controller reusing
   * `...-0` would get the old, terminated instances back instead of a launch). @default nowMs in base 36
   */
  runId?: string;
  /** Backoff after quota refusals. @default 30 s doubling to 10 min */
  launchBackoff?: LaunchBackoffOptions;
  /**
   * Ticks of history kept for people (GET /v1/history, the dashboard): one sample per tick. The
   * live worlds keep an hour (ControllerHistory.hourOf); @default 0 = none (the simulator).
   */
  historySamples?: number;
}

export interface TickResult {
  decision: TickDecision;
  actions: TickActions;
  observation: TickObservation;
  /** Set when policy.tick threw: the decision is empty and says so in its notes. */
  error?: unknown;
}

const EMPTY_DECISION = (why: string): TickDecision => ({
  launch: [],
  terminate: [],
  lambdaMemoryMb: {},
  variantShares: {},
  forecastRps: Number.NaN,
  notes: [why],
});

export class PolicyHost<S = unknown> {
  state: S;
  readonly fleet: FleetView;
  readonly lambda: LambdaPoolView;
  readonly ledger: Ledger;
  readonly arrivalRpsHistory: number[] = [];
  readonly totals = { arrivals: 0, vm: 0, lambda: 0, rejected: 0, failed: 0, warmUps: 0 };
  lastDecision: (TickDecision & { atMs: number; summary: string[] }) | null = null;
  /** Set by a cluster router (see HostTap); undefined everywhere else. */
  tap: HostTap | undefined;
  /** Set when opts.historySamples > 0. */
  readonly history: ControllerHistory | undefined;
  /** Refused and failed requests since the last tick, by what the caller got. */
  private errorsThisTick: TickErrorCounts = { rejected503: 0, timeouts504: 0, otherErrors: 0 };
  private arrivalsThisTick = 0;
  /** Warm-ups claimed and not yet reported ended. */
  private warmingNow = 0;
  /** This tick's arrivals by task -> minAccuracy (0.1 steps), and by pinned variant: the demand mix. */
  private demandByFloor = new Map<string, Map<number, number>>();
  private demandPinned = new Map<string, number>();
  private completions: CompletionRecord[] = [];
  private lastTickMs: number;
  private tickNo = 0;
  private readonly view: RouterView;
  private readonly variantNames: ReadonlySet<string>;
  /** Launches confirmed so far per `${variant}|${instanceType}`: the next intended launch's sequence number. */
  private readonly launchSeq = new Map<string, number>();
  private backoff: LaunchBackoff | undefined;
  readonly runId: string;

  constructor(
    readonly policy: Policy<S>,
    readonly env: PolicyEnv,
    readonly opts: PolicyHostOptions,
  ) {
    this.variantNames = new Set(env.variants.map((v) => v.name));
    this.ledger = new Ledger(env.catalog, env.lambdaArch);
    this.fleet = new FleetView({
      onAdded: (id, type, at) => this.ledger.vmStarted(id, type, at),
      onGone: (id, at) => this.ledger.vmEnded(id, at),
    });
    this.lambda = new LambdaPoolView(
      [...this.variantNames],
      opts.lambdaMemoryMb,
      Math.min(env.lambdaConcurrencyLimit, env.catalog.lambda.accountConcurrencyLimit),
      opts.lambdaKeepAliveMs,
    );
    this.view = { nowMs: opts.nowMs, vms: this.fleet.vms, lambda: this.lambda.view };
    this.lastTickMs = opts.nowMs;
    this.runId = opts.runId ?? Math.max(0, Math.floor(opts.nowMs)).toString(36);
    this.state = policy.init(env, opts.nowMs);
    this.history = (opts.historySamples ?? 0) > 0 ? new ControllerHistory(Math.floor(opts.historySamples!)) : undefined;
  }

  // ---- launches ------------------------------------------------------------------------------

  /**
   * The token of the next intended launch of `variant` on `instanceType`, e.g.
   * `sw-mh3k2x1c-mobilenet-c5.large-4`: the same on every tick until a launch of that pair is
   * confirmed, so a retry of a launch whose answer was lost finds the instances it bought.
   */
  /** vCPUs of one VM of a catalog type (0 for a type the catalog does not know). */
  private vcpuOf(instanceType: string): number {
    return this.env.catalog.ec2.instanceTypes.find((t) => t.name === instanceType)?.vcpu ?? 0;
  }

  launchToken(variant: string, instanceType: string): string {
    return `sw-${this.runId}-${variant}-${instanceType}-${this.launchSeq.get(`${variant}|${instanceType}`) ?? 0}`;
  }

  /**
   * The world answered a launch with these VMs (possibly fewer than asked): counted, and the next
   * launch of the pair gets a new token. A token EC2 remembers from instances since terminated
   * answers with those: they spend the token but are not counted.
   */
  launchConfirmed(action: Pick<LaunchAction, 'variant' | 'instanceType'>, records: readonly FleetRecord[], nowMs: number): void {
    this.fleet.launched(records.filter((r) => r.state !== 'terminated'), nowMs);
    if (records.length === 0) return;
    this.launchTokenSpent(action);
    this.backoff = undefined;
  }

  /** The token of this intended launch can buy nothing more (LaunchTokenSpentError): the next one gets a new token. */
  launchTokenSpent(action: Pick<LaunchAction, 'variant' | 'instanceType'>): void {
    const key = `${action.variant}|${action.instanceType}`;
    this.launchSeq.set(key, (this.launchSeq.get(key) ?? 0) + 1);
  }

  /** The world refused a launch for a quota: launches wait (core/launch-backoff.ts). */
  launchRefused(refusal: { code: string; message: string }, nowMs: number): LaunchBackoff {
    this.backoff = launchBackoffAfterRefusal(this.backoff, refusal, nowMs, this.opts.launchBackoff);
    return this.backoff;
  }

  /** Set while launches are held after quota refusals (shown in /v1/status). */
  get launchBackoff(): LaunchBackoff | undefined {
    return this.backoff;
  }

  /** Past load the system saw before this host started (the simulator's pre-warmed window). */
  seedHistory(rps: number, ticks: number): void {
    for (let i = 0; i < ticks; i++) this.arrivalRpsHistory.push(rps);
  }

  /**
   * How many routers send to this fleet (a cluster plan says; 1 alone): above 1, VMs are picked by
   * two choices, drawn with `seed` (distinct per router) so routers do not draw alike.
   */
  setRouters(n: number, seed = 0): void {
    this.view.routers = Math.max(1, Math.floor(n));
    this.view.routerSeed = seed >>> 0;
  }

  // ---- per request ---------------------------------------------------------------------------

  /** A new request: counted as demand, then routed. */
  route(req: RouteRequest): RouteDecision {
    this.recordArrival(req);
    return this.reroute(req);
  }

  /** A request counted as demand without routing it here (route() does both; a planner replays routers' arrivals). */
  recordArrival(req: Pick<RouteRequest, 'task' | 'minAccuracy' | 'variant'>): void {
    this.arrived(1);
    this.countDemand(req);
    this.tap?.arrival(req);
  }

  /** Counted without allocating once a (task, floor) has been seen: maps of numbers, not string keys. */
  private countDemand(req: Pick<RouteRequest, 'task' | 'minAccuracy' | 'variant'>): void {
    if (req.variant !== undefined) {
      this.demandPinned.set(req.variant, (this.demandPinned.get(req.variant) ?? 0) + 1);
      return;
    }
    let m = this.demandByFloor.get(req.task);
    if (!m) {
      m = new Map();
      this.demandByFloor.set(req.task, m);
    }
    const floor = req.minAccuracy > 0 ? Math.round(req.minAccuracy * 10) / 10 : 0;
    m.set(floor, (m.get(floor) ?? 0) + 1);
  }

  private takeDemand(): DemandCount[] {
    const out: DemandCount[] = [];
    for (const [task, m] of this.demandByFloor) for (const [minAccuracy, count] of m) if (count > 0) out.push({ task, minAccuracy, count });
    for (const [variant, count] of this.demandPinned) {
      const task = this.env.variants.find((v) => v.name === variant)?.task;
      if (task !== undefined && count > 0) out.push({ task, minAccuracy: 0, variant, count });
    }
    for (const m of this.demandByFloor.values()) for (const k of m.keys()) m.set(k, 0);
    for (const k of this.demandPinned.keys()) this.demandPinned.set(k, 0);
    return out;
  }

  /** Requests that arrived without being routed one by one (a test world that only sets a rate). */
  arrived(count: number): void {
    this.arrivalsThisTick += count;
    this.totals.arrivals += count;
  }

  /** Route an already-counted request again (after a throttle or a failed backend). */
  reroute(req: RouteRequest): RouteDecision {
    this.view.nowMs = req.nowMs;
    this.lambda.refresh(req.nowMs);
    const d = this.policy.route(req, this.view, this.state, this.env);
    return (d.kind === 'reject' || d.kind === 'wait') && d.warm !== undefined ? this.claimWarmUp(d, req.nowMs) : d;
  }

  /**
   * A reject that asks for a warm-up keeps it only while the pool has a free slot for it; the
   * warm-up then counts as an invoke in flight (it occupies a concurrency slot like any other)
   * until the driver reports warmUpEnded. A burst of 40 at concurrency 8 warms 8, not 40.
   */
  private claimWarmUp(d: Extract<RouteDecision, { kind: 'reject' | 'wait' }>, nowMs: number): RouteDecision {
    if (this.claimWarmUpSlot(d.warm!.variant, nowMs)) return d;
    const { warm: _dropped, ...rest } = d;
    return rest;
  }

  /**
   * Takes a Lambda concurrency slot for a warm-up of `variant` if one is free and the pool is not
   * throttled (false otherwise: nothing is counted). Used for a reject's warm-up and for the
   * instances warmed at start-up; the driver reports the end with warmUpEnded.
   */
  claimWarmUpSlot(variant: string, nowMs: number): boolean {
    this.lambda.refresh(nowMs);
    const lv = this.lambda.view;
    const throttled = lv.throttledUntilMs !== undefined && lv.throttledUntilMs > nowMs;
    if (throttled || lv.inFlight >= lv.concurrencyLimit) return false;
    // Warm-ups never hold more than half the pool: the rest serves the requests that arrive while
    // they start. Concurrency 8 with 6 warm-ups in flight left 2 slots for 30 rps and the pool's
    // own 429s turned into 503s (README demo, measured); now at most 4 warm at once.
    if (this.warmingNow >= Math.max(1, Math.ceil(lv.concurrencyLimit / 2))) return false;
    this.lambda.started(variant, nowMs);
    this.warmingNow++;
    this.totals.warmUps++;
    return true;
  }

  /** A warm-up the driver started for a reject's `warm` has finished (`ran`: an instance is warm). */
  warmUpEnded(variant: string, nowMs: number, ran: boolean, billing?: { billedDurationMs: number; memoryMb: number }): void {
    this.lambda.ended(variant, nowMs, ran);
    this.warmingNow = Math.max(0, this.warmingNow - 1);
    if (billing) this.warmUpBilled(billing);
  }

  /** Lambda's bill for a warm-up (also what a planner replays from a router's warm-ups). */
  warmUpBilled(billing: { billedDurationMs: number; memoryMb: number }): void {
    this.ledger.lambdaInvoked(billing.memoryMb, billing.billedDurationMs);
    this.tap?.warmUpBilled(billing);
  }

  /** A request refused by the router; `status` is what the caller got (503 counts for the dashboard). */
  rejected(status?: number): void {
    this.tap?.rejected(status);
    this.totals.rejected++;
    if (status === 503) this.errorsThisTick.rejected503++;
  }

  /** A routed request no backend answered: 503 (Lambda throttled), 504 (deadline) or another 5xx. */
  failed(status?: number): void {
    this.tap?.failed(status);
    this.totals.failed++;
    if (status === 503) this.errorsThisTick.rejected503++;
    else if (status === 504) this.errorsThisTick.timeouts504++;
    else this.errorsThisTick.otherErrors++;
  }

  completed(c: CompletionRecord, lambdaBilling?: { billedDurationMs: number; memoryMb: number }): void {
    try {
      this.state = this.policy.observe(c, this.state, this.env);
    } catch {
      // A learning hiccup must never fail a request that was answered.
    }
    if (this.tap) this.tap.completed(c, lambdaBilling);
    else this.completions.push(c);
    if (c.backend === 'vm') this.totals.vm++;
    else this.totals.lambda++;
    if (lambdaBilling) this.ledger.lambdaInvoked(lambdaBilling.memoryMb, lambdaBilling.billedDurationMs);
  }

  // ---- per tick ------------------------------------------------------------------------------

  tick(nowMs: number): TickResult {
    const tickNo = ++this.tickNo;
    const elapsedMs = nowMs - this.lastTickMs;
    if (elapsedMs > 0) {
      this.arrivalRpsHistory.push((this.arrivalsThisTick * 1000) / elapsedMs);
      const keep = this.opts.historyTicks ?? 720;
      if (this.arrivalRpsHistory.length > keep) this.arrivalRpsHistory.splice(0, this.arrivalRpsHistory.length - keep);
    }
    this.arrivalsThisTick = 0;
    this.lastTickMs = nowMs;
    this.lambda.expireAll(nowMs);
    this.lambda.refresh(nowMs);
    const observation: TickObservation = {
      nowMs,
      arrivalRpsHistory: this.arrivalRpsHistory.slice(),
      vms: this.fleet.snapshot(),
      lambda: this.lambda.snapshot(),
      completions: this.completions,
      demand: this.takeDemand(),
      observedBootDelayMs: Object.fromEntries(
        Object.entries(this.fleet.observedBootDelayMs).map(([k, v]) => [k, v.slice()]),
      ),
    };
    this.completions = [];
    let decision: TickDecision;
    let error: unknown;
    try {
      const out = this.policy.tick(observation, this.state, this.env);
      this.state = out.state;
      decision = out.decision;
    } catch (err) {
      error = err;
      decision = EMPTY_DECISION(`policy.tick threw: ${(err as Error)?.message ?? String(err)}`);
    }
    const actions = tickActions(
      decision,
      {
        nowMs,
        tickNo,
        activeVms: this.fleet.activeCount(),
        activeVcpus: this.fleet.activeVcpus((t) => this.vcpuOf(t)),
        vcpuOf: (t) => this.vcpuOf(t),
        vcpuOfVm: (id) => {
          const vm = this.fleet.get(id);
          return vm ? this.vcpuOf(vm.instanceType) : 0;
        },
        variants: this.variantNames,
        memoryMbByVariant: this.lambda.view.memoryMbByVariant,
        burstInput: (v) => this.lambda.burstInput(v, nowMs),
        lambdaIdle: (v) => this.lambda.idleOf(v, nowMs),
        lambdaInFlight: this.lambda.view.inFlight,
        lambdaConcurrencyLimit: this.lambda.view.concurrencyLimit,
        lambdaKeepAliveMs: this.opts.lambdaKeepAliveMs,
        launchToken: (v, t) => this.launchToken(v, t),
        ...(this.backoff ? { launchBackoff: this.backoff } : {}),
      },
      {
        ...this.opts.limits,
        maxVms: this.opts.limits.maxVms ?? this.env.maxVms,
        vcpuLimit: this.opts.limits.vcpuLimit ?? this.env.vcpuLimit,
      },
    );
    // Warm-ups occupy concurrency slots from now until the driver reports warmUpEnded.
    for (const w of actions.warmUp) {
      let claimed = 0;
      while (claimed < w.count && this.claimWarmUpSlot(w.variant, nowMs)) claimed++;
      w.count = claimed;
    }
    actions.warmUp = actions.warmUp.filter((w) => w.count > 0);
    const summary = plainWords({ decision, actions, vms: observation.vms });
    this.fleet.markDraining(actions.terminate);
    const notes = [...decision.notes, ...actions.notes];
    this.lastDecision = { ...decision, notes, summary, atMs: nowMs };
    if (this.history) {
      const sample = buildHistorySample({
        nowMs,
        tick: tickNo,
        env: this.env,
        arrivalRps: elapsedMs > 0 ? this.arrivalRpsHistory[this.arrivalRpsHistory.length - 1]! : 0,
        decision,
        vms: this.fleet.vms,
        bootDelayMs: (t) => learnedBootDelayMs(this.env.catalog, observation, t),
        lambdaInFlight: this.lambda.view.inFlight,
        lambdaConcurrencyLimit: this.lambda.view.concurrencyLimit,
        completions: observation.completions,
        errors: this.errorsThisTick,
        ec2Usd: this.ledger.ec2(nowMs).total,
        lambdaUsd: this.ledger.lambdaUsd,
        previous: this.history.samples.last(),
      });
      this.history.record(sample, { atMs: nowMs, tick: tickNo, summary, notes });
    }
    this.errorsThisTick = { rejected503: 0, timeouts504: 0, otherErrors: 0 };
    return { decision, actions, observation, ...(error !== undefined ? { error } : {}) };
  }
}
