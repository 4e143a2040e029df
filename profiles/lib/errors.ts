/** Named errors of the profiles module (profiler, loader, `spillway models`). Each carries `cause`. */

/** A profile file does not parse or does not match VariantProfileSchema. */
export class ProfileFileError extends Error {
  override readonly name = 'ProfileFileError';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** The latency model cannot be fitted (too few or degenerate measurements). */
export class FitError extends Error {
  override readonly name = 'FitError';
}

/** Measuring one variant failed (child process crash, session error, bad signature). */
export class ProfilingError extends Error {
  override readonly name = 'ProfilingError';
  constructor(
    readonly variant: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${variant}: ${message}`, options);
  }
}

/** The model file of a variant cannot be found/built; the profiler skips it. */
export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
}

/** `spillway models add` refuses a model it cannot serve (message says why and what would work). */
export class ModelRejectedError extends Error {
  override readonly name = 'ModelRejectedError';
}

/** An instance type, variant or memory size that the catalog/profiles do not know. */
export class UnknownResourceError extends Error {
  override readonly name = 'UnknownResourceError';
}
