/** Named errors of the simulator module (trace loading, bad scenario options). Each carries `cause`. */
import { SpillwayError } from '../../functions/engine/spillway-error.js';

export class SimError extends SpillwayError {}

/** A trace spec could not be read or parsed; the message names the file/line and the problem. */
export class TraceError extends SimError {}

/** A simulation option is out of range; the message names the field and the limit. */
export class SimConfigError extends SimError {}
