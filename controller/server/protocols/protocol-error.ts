/**
 * A request error raised while translating a foreign protocol (OIP, SageMaker) into Spillway's
 * own request. It is an ApiError (the one error base of the public API), so every protocol
 * renders it in its own shape from the same status, message and field.
 */
import { ApiError } from '../errors.js';

export class ProtocolRequestError extends ApiError {
  constructor(status: number, message: string, field?: string, options?: { cause?: unknown }) {
    super(status, status === 404 ? 'not_found' : 'invalid_request', message, field, undefined, options);
  }
}

/**
 * Spillway's internal field names (input.image, input.tensor.shape) in a foreign protocol's words
 * (OIP: inputs.0.shape; SageMaker: Body), in both the field and the message. Other errors pass.
 */
export function withFieldRenamed(err: unknown, rename: (field: string) => string): unknown {
  if (!(err instanceof ApiError) || !err.field?.startsWith('input')) return err;
  const field = rename(err.field);
  const message = err.message.replaceAll(err.field, field);
  return new ApiError(err.status, err.code, message, field, err.retryAfterS, { cause: err });
}
