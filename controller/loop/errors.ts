/** Errors of the control loop. Each phase catches its own, logs it, and the loop carries on. */
import { SpillwayError } from '../../functions/engine/spillway-error.js';

export class LoopPhaseError extends SpillwayError {
  constructor(
    readonly phase: 'observe' | 'decide' | 'act',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
