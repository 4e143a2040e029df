/** Errors of the control loop. Each phase catches its own, logs it, and the loop carries on. */
export class LoopPhaseError extends Error {
  constructor(
    readonly phase: 'observe' | 'decide' | 'act',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
