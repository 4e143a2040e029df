/**
 * Errors of the Lambda handler. The client-facing ones are shared with the VM server (same wire
 * contract, same ErrorBody), so they are re-exported from there rather than redefined.
 */
export {
  ClientFacingError,
  DeadlineExceededError,
  InvalidRequestError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  ServingConfigError,
  UnknownModelError,
  UnsupportedMediaTypeError,
} from '../server/errors.js';
import { ServingError } from '../server/errors.js';

/** The Lambda init phase failed (env, registry or model load); the message names what. */
export class LambdaInitError extends ServingError {}
