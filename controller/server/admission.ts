/**
 * The public API's admission (the gate itself: functions/server/admission-gate.ts): every POST is
 * admitted or refused from its headers and the router's in-flight counts before its body is read.
 * Refused: 503 `overloaded` + Retry-After 1 s naming the limit and its setting. The GET routes
 * (health, readiness, status, metrics) never pass it, so they cannot be queued behind inference.
 */
import { AdmissionGate, type AdmissionLimits, type Refusal, refusalText } from '../../functions/server/admission-gate.js';
import { OverloadedError } from './errors.js';

export { AdmissionGate, type AdmissionLimits };

/** Defaults (also the config schema's): 512 requests, 128 MiB of bodies (worked number in admission-gate.ts). */
export const DEFAULT_ADMISSION = { maxInFlight: 512, maxInFlightBodyBytes: 128 * 1024 * 1024 } as const;

const SETTING = { maxInFlight: 'SPILLWAY_MAX_IN_FLIGHT', maxInFlightBodyBytes: 'SPILLWAY_MAX_IN_FLIGHT_BODY_BYTES' } as const;

export function overloaded(r: Refusal): OverloadedError {
  return new OverloadedError(`the router ${refusalText(r, 'inference requests', (l) => SETTING[l])}`);
}
