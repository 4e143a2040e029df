/**
 * The cluster's one planner. Every router process runs a candidate (in a worker thread, so the
 * plan never runs on a request event loop: planner-worker.ts); each step it takes or renews the
 * lease (controller/coord/), and only the holder plans:
 *   observe: every router's observations since its cursor, replayed into this host
 *            (observation-log.ts), then the control loop's own observe (fleet and pool describe)
 *   decide + act: the single-process stack's ControlLoop.tick, unchanged; its fleet is the
 *            supervisor's fleet service with this lease's fence on every launch and terminate
 *   publish: the plan for routers (plan-doc.ts), the learned state with the observation cursors
 *            (so a successor loses neither), then the consumed observations are trimmed.
 * A new holder starts a fresh host whose launch tokens carry its fence (`<runId>f<fence>`), restores
 * the learned state and adopts the fleet by describing it. A holder that loses the lease (it was
 * stopped past its expiry, the store refused its fence) steps down at once; anything it still
 * tries is refused by the store and the fleet service. step() never throws.
 */
import { deserialize, serialize } from 'node:v8';
import type { Logger } from 'pino';
import type { AppConfig } from '../app-config.js';
import type { CoordinationStore, Lease } from '../coord/coordination-port.js';
import type { Policy, PolicyEnv } from '../core/policy-types.js';
import { ControlLoop } from '../loop/control-loop.js';
import type { LaunchSpec, MetricsPort, ServerlessPoolPort, VmFleetPort, VmRecord } from '../ports.js';
import type { ControllerRuntime, ServedVariant } from '../server/runtime.js';
import { newControllerRuntime, policyOf } from '../server/stack.js';
import { ingestObservations, type ObservationBody } from './observation-log.js';
import { buildPlanBody } from './plan-doc.js';

/** What a planner persists each tick for its successor. */
interface LearnedState {
  policyStateB64: string;
  observedBootDelayMs: Record<string, number[]>;
  /** Per-router observation sequence numbers already folded into the state above. */
  cursor: Record<string, number>;
  lastSeenMs: Record<string, number>;
}

export interface ClusterPlannerOptions {
  plannerId: string;
  store: CoordinationStore;
  config: AppConfig;
  env: PolicyEnv;
  served: ReadonlyMap<string, ServedVariant>;
  /** The fleet for a lease: every launch/terminate carries `fence()`. */
  fleetFor: (fence: () => number) => VmFleetPort;
  pool: ServerlessPoolPort;
  log: Logger;
  leaseTtlMs: number;
  /** Fleet gauges each tick while this planner holds the lease (requests are the routers' to send). */
  metrics?: MetricsPort;
  now?: () => number;
  policy?: () => Policy<unknown>;
}

/**
 * The fleet as the control loop sees it, remembering the last describe(): the plan the planner
 * publishes carries exactly the VMs this tick planned with, without a second describe.
 */
class RecordingFleet implements VmFleetPort {
  last: VmRecord[] = [];
  constructor(private readonly inner: VmFleetPort) {}
  launch(spec: LaunchSpec): Promise<VmRecord[]> {
    return this.inner.launch(spec);
  }
  terminate(ids: readonly string[]): Promise<void> {
    return this.inner.terminate(ids);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async describe(): Promise<VmRecord[]> {
    this.last = await this.inner.describe();
    return this.last;
  }
}

interface Leadership {
  fence: number;
  runtime: ControllerRuntime<unknown>;
  loop: ControlLoop;
  fleet: RecordingFleet;
  cursor: Record<string, number>;
  lastSeenMs: Record<string, number>;
}

/** Routers that published within this many ticks share the Lambda budget. */
const LIVE_ROUTER_TICKS = 3;

export class ClusterPlanner {
  private leader: Leadership | undefined;
  private readonly now: () => number;
  /** Steps this candidate planned as the lease holder (tests and logs). */
  stepsAsLeader = 0;

  constructor(private readonly o: ClusterPlannerOptions) {
    this.now = o.now ?? Date.now;
  }

  get fence(): number | undefined {
    return this.leader?.fence;
  }

  async step(): Promise<void> {
    const { store, log } = this.o;
    let lease: Lease;
    try {
      const r = await store.acquireOrRenewLease(this.o.plannerId, this.now(), this.o.leaseTtlMs);
      if (!r.held) {
        if (this.leader) await this.stepDown(`the lease is held by ${r.lease.holderId} (fence ${r.lease.fence})`);
        return;
      }
      lease = r.lease;
    } catch (err) {
      log.warn({ err }, 'lease: the store did not answer; not planning this step');
      return;
    }
    try {
      if (!this.leader || this.leader.fence !== lease.fence) {
        if (this.leader) await this.stepDown('a newer fence');
        this.leader = await this.takeOver(lease.fence);
      }
      await this.plan(this.leader);
      this.stepsAsLeader++;
    } catch (err) {
      // A refused fence means someone else holds the lease now: stop acting at once.
      if ((err as Error)?.name === 'StaleFenceError') await this.stepDown(`the store refused fence ${lease.fence}`);
      else log.error({ err }, 'planner step failed');
    }
  }

  private async takeOver(fence: number): Promise<Leadership> {
    const { config, env, served, log } = this.o;
    const policy = this.o.policy?.() ?? policyOf(config);
    const runtime = newControllerRuntime(policy, env, served, config, { runId: `${Math.floor(this.now()).toString(36)}f${fence}` });
    const fleet = new RecordingFleet(this.o.fleetFor(() => fence));
    let cursor: Record<string, number> = {};
    let lastSeenMs: Record<string, number> = {};
    const saved = await this.o.store.loadLearnedState();
    if (saved) {
      const s = saved.body as LearnedState;
      try {
        runtime.host.state = deserialize(Buffer.from(s.policyStateB64, 'base64'));
        for (const [type, list] of Object.entries(s.observedBootDelayMs)) runtime.host.fleet.observedBootDelayMs[type] = [...list];
        cursor = { ...s.cursor };
        lastSeenMs = { ...s.lastSeenMs };
      } catch (err) {
        log.warn({ err }, 'learned state unreadable: planning from the priors');
      }
    }
    const loop = new ControlLoop({
      runtime,
      fleet,
      pool: this.o.pool,
      ...(this.o.metrics ? { metrics: this.o.metrics } : {}),
      tickIntervalMs: config.tickIntervalMs,
      log: log.child({ component: 'planner', fence }),
      now: this.now,
    });
    log.info({ event: 'planner-elected', plannerId: this.o.plannerId, fence, restored: saved !== undefined }, `planner ${this.o.plannerId} holds the lease (fence ${fence})`);
    return { fence, runtime, loop, fleet, cursor, lastSeenMs };
  }

  private async plan(L: Leadership): Promise<void> {
    const { store } = this.o;
    const docs = await store.readObservations(L.cursor);
    for (const d of docs) {
      ingestObservations(L.runtime.host, d.body as ObservationBody);
      L.cursor[d.routerId] = Math.max(L.cursor[d.routerId] ?? 0, d.seq);
      L.lastSeenMs[d.routerId] = Math.max(L.lastSeenMs[d.routerId] ?? 0, d.toMs);
    }
    await L.loop.tick();
    const nowMs = this.now();
    const routers = Object.entries(L.lastSeenMs)
      .filter(([, ms]) => ms >= nowMs - LIVE_ROUTER_TICKS * this.o.config.tickIntervalMs)
      .map(([id]) => id);
    const host = L.runtime.host;
    await store.publishPlan(
      L.fence,
      nowMs,
      buildPlanBody(host, { vms: L.fleet.last, routers, concurrencyLimit: this.o.env.lambdaConcurrencyLimit, plannerId: this.o.plannerId }),
    );
    const learned: LearnedState = {
      policyStateB64: serialize(host.state).toString('base64'),
      observedBootDelayMs: Object.fromEntries(Object.entries(host.fleet.observedBootDelayMs).map(([k, v]) => [k, [...v]])),
      cursor: L.cursor,
      lastSeenMs: L.lastSeenMs,
    };
    await store.saveLearnedState(L.fence, nowMs, learned);
    await store.trimObservations(L.cursor, L.fence);
  }

  private async stepDown(why: string): Promise<void> {
    const L = this.leader;
    this.leader = undefined;
    if (!L) return;
    this.o.log.warn({ event: 'planner-deposed', plannerId: this.o.plannerId, fence: L.fence }, `planner ${this.o.plannerId} steps down: ${why}`);
    await L.loop.stop().catch(() => {});
  }

  /** Clean shutdown: give the lease up so a successor takes over without waiting for expiry. */
  async close(): Promise<void> {
    const L = this.leader;
    await this.stepDown('shutting down');
    if (L) await this.o.store.releaseLease(this.o.plannerId, L.fence).catch(() => {});
  }
}
