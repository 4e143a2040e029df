/**
 * infaas: INFaaS (ATC'21), model-less: the system, not the caller, picks the variant. From the
 * profiles it serves the variant meeting the accuracy floor and the SLO at the lowest VM dollars per
 * request, and scales VMs reactively (replication, INFaaS's "scale out"; target tracking as in
 * vm-reactive). Variant switching under load: when the observed rate exceeds the ready capacity,
 * it switches new VMs to the highest-throughput eligible variant (INFaaS's "upgrade to a faster
 * variant"), back to the cheapest once load falls. No Lambda.
 */
import type { Policy, PolicyEnv, VariantInfo, VmView } from '../../core/policy-types.js';
import {
  activeVms,
  cheapestPerRequest,
  eligibleVariants,
  emptyDecision,
  meanLast,
  maxLast,
  type PolicyFactoryContext,
  pickToTerminate,
  type RouteLimits,
  routeVmFirst,
  vmOptions,
  type VmOption,
  defaultVariant,
  vmAdmissionCap,
} from './common.js';
import { REACTIVE_DEFAULTS } from './vm-reactive.js';

export interface InfaasState {
  cheap: { variant: VariantInfo; option: VmOption };
  fast: { variant: VariantInfo; option: VmOption };
  current: 'cheap' | 'fast';
  desiredHistory: number[];
  lastScaleOutMs: number;
  maxOutstanding: Record<string, number>;
  cheapLimits: RouteLimits;
  fastLimits: RouteLimits;
}

function best(env: PolicyEnv, v: VariantInfo): { variant: VariantInfo; option: VmOption } | undefined {
  const option = cheapestPerRequest(vmOptions(env, v));
  return option ? { variant: v, option } : undefined;
}

export function createInfaasPolicy(ctx: PolicyFactoryContext): Policy<InfaasState> {
  const p = REACTIVE_DEFAULTS;
  return {
    name: 'infaas',
    usesLambda: false,
    init(env) {
      const cheap = best(env, defaultVariant(env, ctx.minAccuracy))!;
      let fast = cheap;
      for (const v of eligibleVariants(env, ctx.minAccuracy)) {
        const b = best(env, v);
        if (b && b.option.capacityRps > fast.option.capacityRps) fast = b;
      }
      const maxOutstanding: Record<string, number> = {};
      for (const x of [cheap, fast]) {
        maxOutstanding[x.variant.name] = vmAdmissionCap(env, x.variant, x.option.instanceType, x.option.slots);
      }
      return {
        cheap,
        fast,
        current: 'cheap',
        desiredHistory: [],
        lastScaleOutMs: -Infinity,
        maxOutstanding,
        cheapLimits: { variant: cheap.variant.name, maxOutstanding: maxOutstanding[cheap.variant.name]! },
        fastLimits: { variant: fast.variant.name, maxOutstanding: maxOutstanding[fast.variant.name]! },
      };
    },
    tick(obs, s, env) {
      const d = emptyDecision();
      const rps = meanLast(obs.arrivalRpsHistory, Math.max(1, Math.round(p.observeWindowMs / env.tickIntervalMs)));
      const active = activeVms(obs.vms);
      let readyCap = 0;
      for (const vm of active) {
        if (vm.state !== 'ready') continue;
        readyCap += vm.variant === s.fast.variant.name ? s.fast.option.capacityRps : s.cheap.option.capacityRps;
      }
      // Switch when the ready fleet is short of the load (upgrade), back when it is comfortable.
      const current = rps > readyCap * p.targetUtilisation ? 'fast' : rps < readyCap * 0.5 ? 'cheap' : s.current;
      const pick = current === 'fast' ? s.fast : s.cheap;
      const raw = Math.max(1, Math.ceil(rps / (pick.option.capacityRps * p.targetUtilisation)));
      const window = Math.max(1, Math.round(p.scaleInWindowMs / env.tickIntervalMs));
      const count = Math.max(raw, maxLast(s.desiredHistory, window - 1));
      const desiredHistory = [...s.desiredHistory, raw].slice(-120);
      let lastScaleOutMs = s.lastScaleOutMs;
      if (count > active.length && obs.nowMs - s.lastScaleOutMs >= p.scaleOutCooldownMs) {
        d.launch.push({ instanceType: pick.option.instanceType, variant: pick.variant.name, count: count - active.length });
        lastScaleOutMs = obs.nowMs;
      } else if (count < active.length) {
        // Retire the variant we are not using first.
        const others = active.filter((v) => v.variant !== pick.variant.name);
        const mine = active.filter((v) => v.variant === pick.variant.name);
        const ordered = [...others, ...mine];
        d.terminate = pickToTerminate(ordered, count, obs.nowMs, env.catalog.ec2.billingMinimumSeconds * 1000);
      }
      d.forecastRps = rps;
      d.variantShares[pick.variant.name] = 1;
      if (current !== s.current) d.notes.push(`infaas: switch to ${pick.variant.name} (${current})`);
      return { decision: d, state: { ...s, current, desiredHistory, lastScaleOutMs } };
    },
    route(_req, view, s) {
      // Ready VM of the cheap variant with room, else of the fast one, else queue on the least loaded.
      if (s.fast === s.cheap) return routeVmFirst(view, s.cheapLimits);
      if (hasRoom(view.vms, s.cheapLimits)) return routeVmFirst(view, s.cheapLimits);
      if (hasRoom(view.vms, s.fastLimits)) return routeVmFirst(view, s.fastLimits);
      const a = routeVmFirst(view, s.cheapLimits);
      return a.kind === 'vm' ? a : routeVmFirst(view, s.fastLimits);
    },
    observe(_c, s) {
      return s;
    },
  };
}

function hasRoom(vms: readonly VmView[], l: RouteLimits): boolean {
  for (let i = 0; i < vms.length; i++) {
    const vm = vms[i]!;
    if (vm.state === 'ready' && vm.variant === l.variant && vm.outstanding < l.maxOutstanding) return true;
  }
  return false;
}
