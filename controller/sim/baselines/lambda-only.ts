/**
 * lambda-only: every request on Lambda at a fixed 3,008 MB (the memory MArk and Spock used for
 * their Lambda paths; 1.70 vCPU). Never launches a VM. The serverless end of the spectrum: no
 * provisioning gap, no idle cost, but the highest price per request at steady load.
 */
import type { Policy } from '../../core/policy-types.js';
import { defaultVariant, emptyDecision, type PolicyFactoryContext } from './common.js';

export const FIXED_LAMBDA_MEMORY_MB = 3008;

export interface LambdaOnlyState {
  variant: string;
}

export function createLambdaOnlyPolicy(ctx: PolicyFactoryContext, memoryMb = FIXED_LAMBDA_MEMORY_MB): Policy<LambdaOnlyState> {
  return {
    name: 'lambda-only',
    usesLambda: true,
    init(env) {
      return { variant: defaultVariant(env, ctx.minAccuracy).name };
    },
    tick(_obs, s) {
      const d = emptyDecision();
      d.lambdaMemoryMb[s.variant] = memoryMb;
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
        memoryMb,
        expectedMs: 0,
        cold: (lam.warmIdleByVariant[s.variant] ?? 0) === 0,
      };
    },
    observe(_c, s) {
      return s;
    },
  };
}
