/**
 * Errors of the local adapters (the embedded default: child-process "VMs" and the local Lambda
 * runtime). Transport failures towards backends use controller/errors.ts instead, so the router
 * treats local and AWS backends alike.
 */
import { SpillwayError } from '../../functions/engine/spillway-error.js';
import { LaunchTokenSpentError } from '../errors.js';

export class LocalAdapterError extends SpillwayError {}

/**
 * The same clientToken was used again with different launch parameters (EC2's
 * IdempotentParameterMismatch): a LaunchTokenSpentError, so the control loop moves to a new token.
 */
export class IdempotentParameterMismatchError extends LaunchTokenSpentError {}

/** A child process could not be started or died before it said it was listening/ready. */
export class ChildStartError extends LocalAdapterError {}

/** Unknown instance type or variant in a launch spec. */
export class InvalidLaunchSpecError extends LocalAdapterError {}
