/**
 * A tiny tick-by-tick driver with a manual clock, for scenario tests of the policy (not the
 * simulator): VMs appear as 'booting' when launched, become 'ready' after the catalog boot delay,
 * and disappear when terminated. Requests are not simulated; tests call route() themselves.
 */
import type { Policy, PolicyEnv, TickDecision, VmView } from '../../controller/core/policy-types.js';

export interface HarnessVm extends VmView {
  terminatedAtMs?: number;
}

export class PolicyHarness<S> {
  nowMs = 0;
  state: S;
  vms: HarnessVm[] = [];
  history: number[] = [];
  decisions: Array<{ atMs: number; decision: TickDecision }> = [];
  stopped: Array<{ id: string; ageMs: number; atMs: number }> = [];
  private nextId = 0;

  constructor(
    readonly policy: Policy<S>,
    readonly env: PolicyEnv,
    readonly bootDelayMs: (instanceType: string) => number,
  ) {
    this.state = policy.init(env, 0);
  }

  /** Advance one tick with `rps` as the arrival rate of the tick that just ended. */
  tick(rps: number, completions: Parameters<Policy<S>['tick']>[0]['completions'] = []): TickDecision {
    this.nowMs += this.env.tickIntervalMs;
    for (const vm of this.vms) {
      if (vm.state === 'booting' && this.nowMs >= vm.launchedAtMs + this.bootDelayMs(vm.instanceType)) {
        vm.state = 'ready';
        vm.readyAtMs = vm.launchedAtMs + this.bootDelayMs(vm.instanceType);
      }
    }
    this.history.push(rps);
    const r = this.policy.tick(
      {
        nowMs: this.nowMs,
        arrivalRpsHistory: this.history,
        vms: this.vms,
        lambda: { memoryMbByVariant: {}, warmIdleByVariant: {}, inFlight: 0, concurrencyLimit: this.env.lambdaConcurrencyLimit },
        completions,
        observedBootDelayMs: {},
      },
      this.state,
      this.env,
    );
    this.state = r.state;
    this.decisions.push({ atMs: this.nowMs, decision: r.decision });
    for (const id of r.decision.terminate) {
      const vm = this.vms.find((v) => v.id === id);
      if (vm) this.stopped.push({ id, ageMs: this.nowMs - vm.launchedAtMs, atMs: this.nowMs });
    }
    this.vms = this.vms.filter((v) => !r.decision.terminate.includes(v.id));
    for (const l of r.decision.launch) {
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
    return r.decision;
  }

  readyCount(): number {
    return this.vms.filter((v) => v.state === 'ready').length;
  }
}
