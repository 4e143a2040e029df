/**
 * Errors of the AWS adapters (controller/aws). Transport-level failures seen by the router are
 * mapped onto the shared controller errors (controller/errors.ts); these cover what is specific
 * to managing AWS resources (fleet launches, memory updates).
 */
import { SpillwayControllerError } from '../errors.js';

/** Base class of every AWS-adapter error; carries `cause` (the SDK error). */
export class AwsAdapterError extends SpillwayControllerError {}

/** setMemory was refused by the burst guard; `reason` says why (in-flight count or recent rate). */
export class MemoryUpdateDeferredError extends AwsAdapterError {
  constructor(
    message: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The function configuration update did not become Successful (Failed or waiter timed out). */
export class MemoryUpdateFailedError extends AwsAdapterError {}

/** Every candidate instance type (in every subnet) failed with a capacity or throttling error. */
export class FleetCapacityError extends AwsAdapterError {
  constructor(
    message: string,
    /** Each attempt's instance type, subnet (when subnets are configured) and error code, in the order tried. */
    readonly attempts: ReadonlyArray<{ instanceType: string; code: string; subnetId?: string }>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No launch template exists for an instance type (name pattern shown in the message). */
export class LaunchTemplateMissingError extends AwsAdapterError {}

/** EC2 rejected the request for a reason that a different instance type would not fix. */
export class FleetLaunchError extends AwsAdapterError {}
