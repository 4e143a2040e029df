/**
 * Lambda API errors, shaped exactly as the real service sends them so @aws-sdk/client-lambda
 * (restJson1) deserialises them into its named exception classes unchanged:
 * - the SDK takes the error name from the `x-amzn-ErrorType` header first (then body `code`/`__type`);
 * - it reads `message` (or `Message`) for the text, plus the shape's members (`Type`, `Reason`);
 * - TooManyRequestsException also binds `Retry-After` (seconds) to `retryAfterSeconds`.
 * Member casing follows the SDK's shapes: ResourceNotFoundException/ServiceException use `Message`,
 * the others `message`.
 */
import { SpillwayError } from '../../../functions/engine/spillway-error.js';

export class LambdaApiError extends SpillwayError {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    // Named after the AWS error type (what the SDK and the x-amzn-ErrorType header show), not the class.
    this.name = errorType;
  }

  body(): Record<string, string> {
    const key = this.errorType === 'ResourceNotFoundException' || this.errorType === 'ServiceException' ? 'Message' : 'message';
    return { Type: this.status >= 500 ? 'Service' : 'User', [key]: this.message, ...this.extra };
  }
}

export const functionArn = (region: string, accountId: string, name: string): string =>
  `arn:aws:lambda:${region}:${accountId}:function:${name}`;

export const notFound = (arn: string): LambdaApiError =>
  new LambdaApiError(404, 'ResourceNotFoundException', `Function not found: ${arn}`);

export const invalidParameter = (message: string): LambdaApiError =>
  new LambdaApiError(400, 'InvalidParameterValueException', message);

/**
 * Reason 'ReservedFunctionConcurrentInvocationLimitExceeded' when the function's own reserved
 * concurrency is used up, 'ConcurrentInvocationLimitExceeded' when the account's unreserved pool is.
 */
export const throttled = (
  reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded',
  retryAfterSeconds: number,
): LambdaApiError =>
  new LambdaApiError(429, 'TooManyRequestsException', 'Rate Exceeded.', { Reason: reason }, { 'Retry-After': String(retryAfterSeconds) });

export const conflict = (arn: string): LambdaApiError =>
  new LambdaApiError(
    409,
    'ResourceConflictException',
    `The operation cannot be performed at this time. An update is in progress for resource: ${arn}`,
  );
