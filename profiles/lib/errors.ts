/** Named errors of the profiles module (profiler, loader, `spillway models`). Each carries `cause`. */
import { SpillwayError } from '../../functions/engine/spillway-error.js';

/** A profile file does not parse or does not match VariantProfileSchema. */
export class ProfileFileError extends SpillwayError {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** The latency model cannot be fitted (too few or degenerate measurements). */
export class FitError extends SpillwayError {}

/** Measuring one variant failed (child process crash, session error, bad signature). */
export class ProfilingError extends SpillwayError {
  constructor(
    readonly variant: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${variant}: ${message}`, options);
  }
}

/** The model file of a variant cannot be found/built; the profiler skips it. */
export class ModelUnavailableError extends SpillwayError {}

/** `spillway models add` refuses a model it cannot serve (message says why and what would work). */
export class ModelRejectedError extends SpillwayError {}

/** An instance type, variant or memory size that the catalog/profiles do not know. */
export class UnknownResourceError extends SpillwayError {}

/** `spillway models verify` cannot run or record (unknown variant, a backend failed to start, a record exists). */
export class VerifyError extends SpillwayError {}
