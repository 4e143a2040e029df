/**
 * Named errors of the decision core. The core returns values (`{ok:false, reason}`) on the hot and
 * control paths and never throws there; these are for programming/config mistakes detected at
 * construction time (unknown instance type, bad option), each carrying `cause` when wrapping.
 */
export class CoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An instance type, variant or memory size that the catalog/profiles do not know. */
export class UnknownResourceError extends CoreError {}

/** An option outside its accepted range (the message names the field and the limit). */
export class InvalidOptionError extends CoreError {}
