/**
 * A tiny manual-clock world for scenario tests of the policy, driving the same policy host
 * (controller/core/host/policy-host.ts) as the simulator, the local stack and AWS: VMs appear as
 * 'booting' when launched, become 'ready' after the boot delay, and disappear when terminated.
 * Arrivals are a rate per tick (no request is simulated); tests call route() themselves.
 */
import { PolicyHost } from '../../controller/core/host/policy-host.js';
import type { FleetRecord } from '../../controller/core/host/fleet-view.js';
import type {
  CompletionRecord,
  Policy,
  PolicyEnv,
  RouteDecision,
  RouteRequest,
  TickDecision,
  VmView,
} from '../../controller/core/policy-types.js';

export interface HarnessVm extends VmView {
  terminatedAtMs?: number;
}

export class PolicyHarness<S> {
  nowMs = 0;
  vms: HarnessVm[] = [];
  decisions: Array<{ atMs: number; decision: TickDecision }> = [];
  stopped: Array<{ id: string; ageMs: number; atMs: number }> = [];
  readonly host: PolicyHost<S>;
  private nextId = 0;

  constructor(
    readonly policy: Policy<S>,
    readonly env: PolicyEnv,
    readonly bootDelayMs: (instanceType: string) => number,
    maxVms = Number.POSITIVE_INFINITY,
  ) {
    this.host = new PolicyHost(policy, env, {
      limits: { maxVms },
      lambdaMemoryMb: 0,
      lambdaKeepAliveMs: env.catalog.lambda.keepAliveMs,
      nowMs: 0,
    });
  }

  get state(): S {
    return this.host.state;
  }
  set state(s: S) {
    this.host.state = s;
  }
  get history(): readonly number[] {
    return this.host.arrivalRpsHistory;
  }

  /**
   * Routes one request. A reject that asks for a warm-up starts one here; this manual world's
   * instances finish their cold start by the next tick (then stay warm for the keep-alive).
   */
  route(req: RouteRequest): RouteDecision {
    const d = this.host.reroute({ ...req, nowMs: this.nowMs });
    if (d.kind === 'reject' && d.warm) this.warming.push(d.warm.variant);
    return d;
  }
  private warming: string[] = [];

  /** Advance one tick with `rps` as the arrival rate of the tick that just ended. */
  tick(rps: number, completions: readonly CompletionRecord[] = []): TickDecision {
    this.nowMs += this.env.tickIntervalMs;
    for (const variant of this.warming.splice(0)) this.host.warmUpEnded(variant, this.nowMs, true);
    for (const vm of this.vms) {
      if (vm.state === 'booting' && this.nowMs >= vm.launchedAtMs + this.bootDelayMs(vm.instanceType)) {
        vm.state = 'ready';
        vm.readyAtMs = vm.launchedAtMs + this.bootDelayMs(vm.instanceType);
      }
    }
    this.host.fleet.sync(this.vms.map(recordOf), this.nowMs);
    this.host.arrived((rps * this.env.tickIntervalMs) / 1000);
    for (const c of completions) this.host.completed(c);
    const { decision, actions } = this.host.tick(this.nowMs);
    this.decisions.push({ atMs: this.nowMs, decision });
    for (const id of actions.terminate) {
      const vm = this.vms.find((v) => v.id === id);
      if (vm) this.stopped.push({ id, ageMs: this.nowMs - vm.launchedAtMs, atMs: this.nowMs });
    }
    this.vms = this.vms.filter((v) => !actions.terminate.includes(v.id));
    for (const l of actions.launch) {
      for (let i = 0; i < l.count; i++) {
        this.vms.push({
          id: `vm-${this.nextId++}`,
          instanceType: l.instanceType,
          variant: l.variant,
          state: 'booting',
          launchedAtMs: this.nowMs,
          outstanding: 0,
          slots: 2,
          slowdown: 1,
        });
      }
    }
    this.host.fleet.sync(this.vms.map(recordOf), this.nowMs);
    return decision;
  }

  readyCount(): number {
    return this.vms.filter((v) => v.state === 'ready').length;
  }
}

function recordOf(v: HarnessVm): FleetRecord {
  return {
    id: v.id,
    instanceType: v.instanceType,
    variant: v.variant,
    state: v.state === 'booting' ? 'pending' : v.state === 'ready' ? 'ready' : 'terminating',
    launchedAtMs: v.launchedAtMs,
    ...(v.readyAtMs !== undefined ? { readyAtMs: v.readyAtMs } : {}),
    slots: v.slots,
  };
}
