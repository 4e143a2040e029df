/**
 * lambda-only: every request on Lambda at the cheapest memory meeting the SLO (Spillway's
 * right-sizing helper on the profile's priors, common.ts baselineLambdaMemory; MArk and Spock used
 * a fixed 3,008 MB, which costs more per request for these models). Never launches a VM. The
 * serverless end of the spectrum: no provisioning gap, no idle cost, but the highest price per
 * request at steady load.
 */
import type { Policy } from '../../core/policy-types.js';
import { baselineLambdaMemory, defaultVariant, emptyDecision, type PolicyFactoryContext } from './common.js';

/** The memory MArk and Spock used for their Lambda paths (1.70 vCPU); lambda-only takes it only when asked. */
export const FIXED_LAMBDA_MEMORY_MB = 3008;

export interface LambdaOnlyState {
  variant: string;
  memoryMb: number;
}

export function createLambdaOnlyPolicy(ctx: PolicyFactoryContext, memoryMb?: number): Policy<LambdaOnlyState> {
  return {
    name: 'lambda-only',
    usesLambda: true,
    init(env) {
      const v = defaultVariant(env, ctx.minAccuracy);
      return { variant: v.name, memoryMb: memoryMb ?? baselineLambdaMemory(env, v) };
    },
    tick(_obs, s) {
      const d = emptyDecision();
      d.lambdaMemoryMb[s.variant] = s.memoryMb;
      d.variantShares[s.variant] = 1;
      return { decision: d, state: s };
    },
    route(_req, view, s) {
      const lam = view.lambda;
      if (lam.inFlight >= lam.concurrencyLimit) {
        return { kind: 'reject', status: 503, retryAfterS: 1, reason: 'Lambda concurrency limit reached' };
      }
      return {
        kind: 'lambda',
        variant: s.variant,
        memoryMb: s.memoryMb,
        expectedMs: 0,
        cold: (lam.warmIdleByVariant[s.variant] ?? 0) === 0,
      };
    },
    observe(_c, s) {
      return s;
    },
  };
}
