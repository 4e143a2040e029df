/**
 * The one base class of every Spillway error (engine, serving, profiles, controller, adapters).
 * Like AWS Lambda Powertools' errors: a standard `Error` whose `name` is the concrete class name
 * (so logs and `instanceof`-free matching see `ThrottledError`, not `Error`) and whose `cause`
 * keeps the wrapped error (ES2022 `ErrorOptions`), so a log shows the whole chain.
 *
 * Lives in functions/engine/ because that is the lowest layer: the deployed Lambda bundle, the VM
 * server, the profiler and the controller all import the engine, and the engine imports none of them.
 */
export class SpillwayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
