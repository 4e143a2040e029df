/**
 * When a profile's latency-model fit is too poor to trust, said once here for `models add`
 * (a warning) and `models list` (a marker).
 *
 * Why 10 %: the planner, the Lambda memory right-sizing and the selector's priors read latencies
 * at cells that were never measured (fractional Lambda vCPU shares, other batch sizes) from the
 * fitted Sponge model, so its error is their error. The committed profiles fit with MAPE 0.3-2.6 %
 * (9 variants, measured under a load average up to 3 on a 2-vCPU VM), so 10 % is ~4x the worst
 * fit seen from ordinary measurement noise and does not fire on it. Above it the model's SHAPE is
 * wrong (how latency scales with batch and threads), which the controller's learned per-resource
 * ratio does not correct (it rescales a whole curve, it does not bend it); at a 200 ms SLO a 10 %
 * error is already 20 ms, the order of the transport overhead the router budgets for a VM.
 */
import type { VariantProfile } from '../schema.js';

export const FIT_MAPE_WARN_PCT = 10;

/** A warning for a poorly fitted profile, or undefined when the fit is within FIT_MAPE_WARN_PCT. */
export function fitWarning(profile: Pick<VariantProfile, 'variant' | 'latencyModel'>): string | undefined {
  const mape = profile.latencyModel.fitMapePct;
  if (!(mape > FIT_MAPE_WARN_PCT)) return undefined;
  return (
    `profile fit error (MAPE) ${mape.toFixed(1)} % is above ${FIT_MAPE_WARN_PCT} %: latency estimates for batch sizes ` +
    `and Lambda memory sizes that were not measured are unreliable (the machine was probably busy while profiling); ` +
    `re-measure on a quiet machine with: npm run profile -- --variants ${profile.variant}`
  );
}
