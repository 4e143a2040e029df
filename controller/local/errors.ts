/**
 * Errors of the local adapters (the embedded default: child-process "VMs" and the local Lambda
 * runtime). Transport failures towards backends use controller/errors.ts instead, so the router
 * treats local and AWS backends alike.
 */
import { SpillwayError } from '../../functions/engine/spillway-error.js';

export class LocalAdapterError extends SpillwayError {}

/** The same clientToken was used again with different launch parameters (EC2's IdempotentParameterMismatch). */
export class IdempotentParameterMismatchError extends LocalAdapterError {}

/** A child process could not be started or died before it said it was listening/ready. */
export class ChildStartError extends LocalAdapterError {}

/** Unknown instance type or variant in a launch spec. */
export class InvalidLaunchSpecError extends LocalAdapterError {}
