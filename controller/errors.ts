/**
 * Named errors the controller's adapters throw and its router/loop catch. Each carries `cause`.
 * Adapters (local, aws) map transport failures onto these so the router can decide the fallback
 * (retry elsewhere, spill to Lambda, or answer 503) without knowing which world it runs in.
 */
import { SpillwayError } from '../functions/engine/spillway-error.js';

export class SpillwayControllerError extends SpillwayError {}

/** Lambda (or the local runtime) answered 429 TooManyRequestsException: concurrency exhausted. */
export class ThrottledError extends SpillwayControllerError {
  constructor(
    message: string,
    readonly retryAfterMs: number = 1000,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The backend did not answer within the timeout we gave it. */
export class BackendTimeoutError extends SpillwayControllerError {
  constructor(
    message: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Connection refused/reset, process gone: safe to retry the request on another backend. */
export class BackendUnavailableError extends SpillwayControllerError {}

/** The backend answered with an error status; `status` < 500 means the request itself was bad. */
export class BackendResponseError extends SpillwayControllerError {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A configuration value was missing or invalid; message names the variable and the accepted values. */
export class ConfigError extends SpillwayControllerError {}

/**
 * The world refused a launch for an account quota (EC2 VcpuLimitExceeded, InstanceLimitExceeded,
 * MaxSpotInstanceCountExceeded): another instance type or subnet would not help, and retrying at
 * once would not either. The policy host backs off (core/launch-backoff.ts); `code` is the world's.
 */
export class LaunchQuotaError extends SpillwayControllerError {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The launch's idempotency token already bought instances with other parameters (EC2
 * IdempotentParameterMismatch: e.g. the same intended launch asked for 2, now for 3). That intended
 * launch is spent: its instances show in the fleet listing, and the policy host moves on to a new
 * token instead of repeating a call that can never succeed.
 */
export class LaunchTokenSpentError extends SpillwayControllerError {}
