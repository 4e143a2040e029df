/**
 * Named errors of the inference engine. Every class carries `cause` so adapters (VM server,
 * Lambda handler, profiler) can map them onto HTTP statuses without string matching:
 * UnknownVariantError -> 404, InvalidInputError -> 400, ModelSourceError / ChecksumMismatchError -> 500/503.
 */
import { SpillwayError } from './spillway-error.js';

export class EngineError extends SpillwayError {}

/** The variant name is not in the registry (built-in + $SPILLWAY_HOME/registry.json). */
export class UnknownVariantError extends EngineError {
  constructor(
    readonly variant: string,
    readonly known: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`unknown model variant '${variant}'; known variants: ${known.join(', ') || '(none)'}`, options);
  }
}

/**
 * A caller-supplied input cannot be used. `field` is the dotted path of the offending field
 * (e.g. 'inputs[1].tensor.shape'), `limit` says what was expected (e.g. '[3,224,224]').
 */
export class InvalidInputError extends EngineError {
  constructor(
    message: string,
    readonly field: string,
    readonly limit?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No source could provide the model (or label) file, or a source failed (I/O, HTTP status, build). */
export class ModelSourceError extends EngineError {
  constructor(
    message: string,
    readonly variant: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A downloaded (or found) file does not have the registry's sha256. Nothing is left in the cache. */
export class ChecksumMismatchError extends ModelSourceError {
  constructor(
    variant: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
    readonly from: string,
    options?: { cause?: unknown },
  ) {
    super(
      `sha256 mismatch for model '${variant}' from ${from}: expected ${expectedSha256}, got ${actualSha256}`,
      variant,
      options,
    );
  }
}

/** The user registry file is malformed or tries to shadow a built-in variant. */
export class RegistryError extends EngineError {}
