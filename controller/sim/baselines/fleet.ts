/**
 * The fleet mechanics the VM baselines share: one variant on one instance type, a target VM
 * count per tick, launch/terminate to reach it, and VM-first routing with optional Lambda spill.
 * Each baseline file supplies only its sizing rule (static peak, target tracking, peak x 1.2 ...).
 */
import type { Policy, PolicyEnv, TickDecision, TickObservation, VariantInfo, VmBilling, VmView } from '../../core/policy-types.js';
import {
  activeVms,
  baselineLambdaMemory,
  cheapestPerRequest,
  defaultVariant,
  emptyDecision,
  vmAdmissionCap,
  type PolicyFactoryContext,
  pickToTerminate,
  type RouteLimits,
  routeVmFirst,
  type VmOption,
  vmOptions,
} from './common.js';

export interface FleetState {
  variant: VariantInfo;
  option: VmOption;
  /** Outstanding-request cap per VM (from the SLO and the profile), by instance type. */
  maxOutstanding: number;
  lastScaleOutMs: number;
  lastScaleInMs: number;
  /** Raw desired counts of recent ticks (scale-in stabilisation). */
  desiredHistory: number[];
  /** Ready + booting VM counts of recent ticks, oldest first (at most 120). */
  activeHistory: number[];
  forecastRps: number;
  lambdaMemoryMb?: number;
  /** Routing limits, built once (the route hot path allocates nothing). */
  limits: RouteLimits;
}

export interface FleetConfig {
  name: string;
  /** Requests that find every VM full (Spillway's admission rule) go to Lambda at a right-sized memory. */
  usesLambda: boolean;
  /** Requests that find every VM full are rejected (a throttle) instead of queueing on the least loaded. */
  rejectWhenFull?: boolean;
  /** How the VMs are billed, if not as plain EC2 (Lambda Managed Instances). */
  vmBilling?: VmBilling;
  /** VM count wanted now; `active` = ready + booting VMs of the variant. */
  desired(
    obs: TickObservation,
    s: FleetState,
    env: PolicyEnv,
    active: VmView[],
  ): { count: number; forecastRps: number; note?: string; raw?: number };
  /** Whether scaling in is allowed now (cooldowns); default yes. */
  mayScaleIn?(obs: TickObservation, s: FleetState): boolean;
  mayScaleOut?(obs: TickObservation, s: FleetState): boolean;
  /** VM-only policies queue on full VMs; spill policies go to Lambda when the VM is full. */
  variantChoice?: (env: PolicyEnv, ctx: PolicyFactoryContext) => VariantInfo;
  /** The one instance option (default: cheapest per request at full utilisation, on-demand). */
  optionChoice?: (env: PolicyEnv, variant: VariantInfo) => VmOption | undefined;
}

export function createFleetPolicy(cfg: FleetConfig, ctx: PolicyFactoryContext): Policy<FleetState> {
  return {
    name: cfg.name,
    usesLambda: cfg.usesLambda,
    ...(cfg.vmBilling ? { vmBilling: cfg.vmBilling } : {}),
    init(env: PolicyEnv, nowMs: number): FleetState {
      const variant = (cfg.variantChoice ?? ((e, c) => defaultVariant(e, c.minAccuracy)))(env, ctx);
      const option = cfg.optionChoice ? cfg.optionChoice(env, variant) : cheapestPerRequest(vmOptions(env, variant));
      if (!option) throw new Error(`${cfg.name}: variant ${variant.name} has no instance estimate for ${env.instanceTypes.join(', ')}`);
      const maxOutstanding = vmAdmissionCap(env, variant, option.instanceType, option.slots);
      const lambdaMemoryMb = cfg.usesLambda ? baselineLambdaMemory(env, variant) : undefined;
      return {
        variant,
        option,
        maxOutstanding,
        limits: { variant: variant.name, maxOutstanding, lambdaMemoryMb, rejectWhenFull: cfg.rejectWhenFull },
        lastScaleOutMs: -Infinity,
        lastScaleInMs: nowMs,
        desiredHistory: [],
        activeHistory: [],
        forecastRps: 0,
        lambdaMemoryMb,
      };
    },
    tick(obs, s, env) {
      const d: TickDecision = emptyDecision();
      const active = activeVms(obs.vms, s.variant.name);
      const want = cfg.desired(obs, s, env, active);
      const count = Math.max(0, want.count);
      const desiredHistory = [...s.desiredHistory, want.raw ?? count].slice(-120);
      let { lastScaleOutMs, lastScaleInMs } = s;
      const activeHistory = [...s.activeHistory, active.length].slice(-120);
      const next: FleetState = { ...s, desiredHistory, activeHistory, forecastRps: want.forecastRps };
      if (count > active.length && (cfg.mayScaleOut?.(obs, next) ?? true)) {
        d.launch.push({ instanceType: s.option.instanceType, variant: s.variant.name, count: count - active.length });
        lastScaleOutMs = obs.nowMs;
      } else if (count < active.length && (cfg.mayScaleIn?.(obs, next) ?? true)) {
        d.terminate = pickToTerminate(active, count, obs.nowMs, env.catalog.ec2.billingMinimumSeconds * 1000);
        if (d.terminate.length > 0) lastScaleInMs = obs.nowMs;
      }
      if (s.lambdaMemoryMb !== undefined) d.lambdaMemoryMb[s.variant.name] = s.lambdaMemoryMb;
      d.variantShares[s.variant.name] = 1;
      d.forecastRps = want.forecastRps;
      if (want.note) d.notes.push(want.note);
      return { decision: d, state: { ...next, lastScaleOutMs, lastScaleInMs } };
    },
    route(_req, view, s) {
      return routeVmFirst(view, s.limits);
    },
    observe(_c, s) {
      return s;
    },
  };
}

/** Capacity (rps) of `n` VMs of the chosen option at a target utilisation. */
export function vmsFor(rps: number, s: FleetState, targetUtilisation: number): number {
  return Math.ceil(rps / (s.option.capacityRps * targetUtilisation));
}
