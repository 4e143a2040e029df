/**
 * What routers and the planner share when they are separate processes (issue 12): one lease that
 * elects the planner, the plan it publishes, the observations routers publish, and the learned
 * state the planner persists so that a successor adopts it. Two adapters fill this port with the
 * same semantics (conditional writes, expiry): the local store (controller/coord/local-store-*.ts,
 * a loopback HTTP service owned by the `npm start` supervisor, so it outlives any planner or
 * router) and DynamoDB (controller/coord/dynamodb-store.ts, tested against moto). The lease rule
 * itself is a pure function (controller/coord/lease.ts); adapters only make its writes atomic.
 *
 * Time is always a parameter (nowMs): a store never reads a clock to decide, so a manual clock in
 * tests drives expiry exactly.
 */
import { SpillwayControllerError } from '../errors.js';

/** The planner lease as stored. `fence` grows by one on every change of holder, never otherwise. */
export interface Lease {
  holderId: string;
  /** Fencing number: carried into every launch's tags and client tokens (stale ones are refused). */
  fence: number;
  expiresAtMs: number;
}

export type LeaseResult =
  | { held: true; lease: Lease }
  /** Someone else holds an unexpired lease (returned so the caller can log and wait). */
  | { held: false; lease: Lease };

/** The planner's published decision for routers. Versioned: routers keep the newest they saw. */
export interface PlanDoc {
  /** Grows by one on every publish (per store, across planners). */
  version: number;
  /** The publishing planner's fence: a plan with an older fence than the lease's is refused. */
  fence: number;
  atMs: number;
  /** JSON-safe payload (the policy state routers route with, the VM list with endpoints, budgets). */
  body: unknown;
}

/** One router's observations over one interval (arrivals, completions, rejections). */
export interface ObservationDoc {
  routerId: string;
  /** Per-router sequence number: the planner consumes each (routerId, seq) at most once. */
  seq: number;
  fromMs: number;
  toMs: number;
  body: unknown;
}

/** Raised when a conditional write lost (stale fence, lost lease, version race). */
export class StaleFenceError extends SpillwayControllerError {
  constructor(
    message: string,
    readonly currentFence: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A caller passed a value the store cannot accept (empty holder id, ttl <= 0, body too large); names the field. */
export class CoordinationInputError extends SpillwayControllerError {}

/**
 * The store could not be reached or answered something other than the port's semantics (HTTP
 * transport failure, an unexpected DynamoDB error); `cause` keeps the underlying error.
 */
export class CoordinationUnavailableError extends SpillwayControllerError {}

/**
 * The largest JSON body (plan, learned state, one observation) any adapter accepts: DynamoDB's
 * item limit is 400 KB (409,600 bytes) including attribute names and the other attributes, so
 * 8 KB are left for those (key, fence, version, times: ~100 bytes today). Every adapter enforces
 * the same bound, so a plan that works locally also fits on AWS.
 */
export const MAX_COORD_BODY_BYTES = 400 * 1024 - 8 * 1024;

export interface CoordinationStore {
  /**
   * Take the lease if it is free or expired, or renew it if `holderId` holds it; conditional, so of
   * two planners racing exactly one wins. A new holder gets fence = previous fence + 1.
   */
  acquireOrRenewLease(holderId: string, nowMs: number, ttlMs: number): Promise<LeaseResult>;
  /** Give the lease up (clean shutdown) so a successor need not wait for expiry; conditional on fence. */
  releaseLease(holderId: string, fence: number): Promise<void>;
  readLease(): Promise<Lease | undefined>;

  /** Publish a plan; throws StaleFenceError unless `fence` is the lease's current fence. */
  publishPlan(fence: number, atMs: number, body: unknown): Promise<PlanDoc>;
  /** The newest plan, or undefined before the first publish. */
  readPlan(): Promise<PlanDoc | undefined>;

  /** A router's observations for one interval (seq grows per router). */
  publishObservations(doc: ObservationDoc): Promise<void>;
  /** Observations with seq > the given per-router cursor, oldest first; the caller advances its cursor. */
  readObservations(after: Readonly<Record<string, number>>): Promise<ObservationDoc[]>;
  /** Drop observations up to the given per-router cursor (the planner has folded them into its state). */
  trimObservations(upTo: Readonly<Record<string, number>>, fence: number): Promise<void>;

  /** The planner's learned state (forecasts, learned latencies, boot delays, Lambda warm estimates). */
  saveLearnedState(fence: number, atMs: number, body: unknown): Promise<void>;
  loadLearnedState(): Promise<{ fence: number; atMs: number; body: unknown } | undefined>;

  close(): Promise<void>;
}
