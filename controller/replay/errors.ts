/** Errors of `spillway replay`. */
import { SpillwayError } from '../../functions/engine/spillway-error.js';

export class ReplayError extends SpillwayError {}
