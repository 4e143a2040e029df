/**
 * The decision core's contract. A policy is Ray-Serve-shaped: pure functions of
 * (observation/request, state, env) returning (decision, nextState). Time is an input
 * (`nowMs`), never read from a clock. Hysteresis, cooldowns and learned estimates live in the
 * state value, not in timers. The simulator (controller/sim), the local stack and AWS all drive
 * the same Policy objects through this interface.
 *
 * CONTRACT: the simulator, the control loop and the baselines code against this file.
 */
import type { DemandCount } from './demand-classes.js';
import type { Catalog } from '../../profiles/catalog.js';
import type { VariantProfile } from '../../profiles/schema.js';

/** Static facts a policy decides from. */
export interface PolicyEnv {
  catalog: Catalog;
  /** Variants the policy may use, with their measured profiles. */
  variants: readonly VariantInfo[];
  /** Default latency SLO (ms) for requests that do not carry their own. */
  sloMs: number;
  /** How often tick() is called (ms); e.g. 10_000. */
  tickIntervalMs: number;
  /** Optional spend cap in dollars per hour for the planner. */
  budgetUsdPerHour?: number;
  /** Instance types the policy may buy (names from the catalog). */
  instanceTypes: readonly string[];
  /** Lambda architecture for pricing. */
  lambdaArch: 'x86_64' | 'arm64';
  /**
   * Lambda concurrency Spillway may use: local, the configured pool size; AWS, the account's
   * unreserved concurrency (GetAccountSettings) or the functions' reserved concurrency. A
   * constraint in the plan, not only a 429 at the door.
   */
  lambdaConcurrencyLimit: number;
  /**
   * VMs (booting + ready) the world allows: local SPILLWAY_MAX_VMS, AWS the deployment's max VMs
   * (and instance quotas). The planner plans within it and the policy host caps launches at it.
   * @default unlimited
   */
  maxVms?: number;
  /**
   * vCPUs the world's instance quota leaves for the fleet (AWS: SPILLWAY_VCPU_QUOTA, the region's
   * "Running On-Demand Standard instances" quota less what else runs there). A constraint in the
   * plan: the planner buys within it and says so when the load needs more. @default unlimited
   */
  vcpuLimit?: number;
}

export interface VariantInfo {
  name: string;
  task: string;
  /** Published top-1 %, null if none (a null never satisfies a minAccuracy > 0). */
  accuracyTop1: number | null;
  weights: 'real' | 'synthetic';
  profile: VariantProfile;
}

/** One VM as the policy sees it. A VM serves one variant (replicas x threads = its vCPUs). */
export interface VmView {
  id: string;
  instanceType: string;
  variant: string;
  state: 'booting' | 'ready' | 'draining';
  launchedAtMs: number;
  readyAtMs?: number;
  /** Requests queued + in service right now. */
  outstanding: number;
  /** Concurrent service slots (replicas). */
  slots: number;
  /** Observed / expected latency, 1 = nominal (IRIS-style interference estimate kept by the caller or the policy). */
  slowdown: number;
  /**
   * Cluster routers only (unset in the single process and the simulator): requests other routers
   * had on this VM at its last answer to this router (its reported load minus this router's own
   * outstanding), and when that answer came. Fresh for LOAD_REPORT_FRESH_MS (core/router.ts).
   */
  othersOutstanding?: number;
  othersReportedAtMs?: number;
  /** Cluster routers only: this router's share of `slots`, used while no fresh report says how busy the VM is. */
  slotsWithoutReport?: number;
}

export interface LambdaView {
  /** Memory currently configured per variant's function. */
  memoryMbByVariant: Record<string, number>;
  /** Warm idle instances per variant right now (a request to one of these is not cold). */
  warmIdleByVariant: Record<string, number>;
  /** Invocations in flight across all functions. */
  inFlight: number;
  /**
   * Requests in flight per variant that started on a warm instance: they end within a warm
   * invoke, so these are the instances a waiting request may take next (a 'wait' decision,
   * core/router.ts). Cold starts and warm-ups are not counted (they take a whole INIT). Absent:
   * unknown, so no request waits.
   */
  warmBusyByVariant?: Record<string, number>;
  /** Requests waiting for an instance of the variant to free up, per variant. Absent: none. */
  waitingByVariant?: Record<string, number>;
  concurrencyLimit: number;
  /** Set after a 429: the pool is throttling until this time. */
  throttledUntilMs?: number;
}

/** A completed (or failed) request, fed back for learning. */
export interface CompletionRecord {
  atMs: number;
  variant: string;
  backend: 'vm' | 'lambda';
  /** Instance type for 'vm', memory size as a string (e.g. '2048') for 'lambda'. */
  resourceKey: string;
  vmId?: string;
  /** Pure service time (inference incl. preprocessing) in ms. */
  serviceMs: number;
  /** End-to-end time the caller saw, in ms. */
  totalMs: number;
  /** Of totalMs, the time spent waiting for a busy Lambda instance ('wait' decisions); absent = 0. */
  waitedMs?: number;
  sloMs: number;
  coldStart: boolean;
  /** totalMs > sloMs or the request failed. */
  violated: boolean;
}

export interface TickObservation {
  nowMs: number;
  /** Mean arrival rate (rps) for each past tick interval, oldest first, most recent last. */
  arrivalRpsHistory: readonly number[];
  vms: readonly VmView[];
  lambda: LambdaView;
  /** Completions since the previous tick. */
  completions: readonly CompletionRecord[];
  /**
   * Arrivals since the previous tick by what they asked for (task + minimum accuracy, or a pinned
   * variant), rejected ones included: the plan is made for the classes that arrive
   * (core/demand-classes.ts). Omitted by a world that only sets a rate: completions stand in.
   */
  demand?: readonly DemandCount[];
  /** Observed provisioning latencies (request -> server ready), ms, per instance type. */
  observedBootDelayMs: Readonly<Record<string, readonly number[]>>;
}

export interface TickDecision {
  launch: Array<{ instanceType: string; variant: string; count: number }>;
  /** VM ids to stop (policy has already checked billing minimums and hysteresis). */
  terminate: string[];
  /** Desired Lambda memory per variant (MB); unchanged entries may be omitted. */
  lambdaMemoryMb: Record<string, number>;
  /** Target traffic split across variants (sums to 1 over the variants in use). */
  variantShares: Record<string, number>;
  /**
   * Lambda instances to hold warm per variant (idle + busy), ahead of demand (core/warm-pool.ts).
   * The host warms the shortfall as far as free concurrency allows. Omitted = no warm pool.
   */
  lambdaWarm?: Record<string, number>;
  /** Forecast load (rps) over the provisioning horizon that the plan was made for. */
  forecastRps: number;
  /** Human-readable reasons, written to the decision log. */
  notes: string[];
  /** The figures the plan was made from (the dashboard and /v1/status show them). Omitted by baselines. */
  facts?: PlannerFacts;
}

/** One VM option's economics against the variant's Lambda memory, as the planner judged it this tick. */
export interface BreakEvenFact {
  instanceType: string;
  variant: string;
  /** Requests per second one VM serves at the planner's target utilisation. */
  capacityRps: number;
  pricePerHourUsd: number;
  lambdaCostPerRequestUsd: number;
  /** u*: the VM beats Lambda only when busier than this share of its capacity (> 1: never). */
  utilisation: number;
  /** The bar for a VM not running yet: u* x (1 + boot / hold). */
  newVmUtilisation: number;
  /** A burst at the VM's full capacity must last this long for a new VM to pay off (core/break-even.ts); null = never. */
  burstMs: number | null;
  /** Learned boot delay of the type (median of the last observed, else the catalog's). */
  bootDelayMs: number;
}

export interface PlannerFacts {
  /** Forecast horizon: longest learned boot delay + 1 tick. */
  horizonMs: number;
  /** Learned forecast headroom (0.2 = +20 %): the forecast without it is forecastRps / (1 + headroom). */
  headroom: number;
  /** Load the plan was sized for (the peak forecast of the hold window). */
  planRps: number;
  /** How long a VM decision is held (ski-rental window); also the memory of the load distribution. */
  holdWindowMs: number;
  /** Rate Lambda may absorb: 80 % of the concurrency limit over the learned time a request holds a slot. */
  lambdaAbsorbRps: number;
  /** Capacity the plan counts on per `${instanceType}|${variant}` VM (rps). */
  vmCapacityRps: Record<string, number>;
  /** Per VM option of the variants in use, cheapest break-even first. */
  breakEven: BreakEvenFact[];
}

/** A model-less request as the router sees it. */
export interface RouteRequest {
  nowMs: number;
  task: string;
  /** End-to-end latency SLO in ms. */
  sloMs: number;
  /** Minimum published top-1 accuracy in percent (0 = any). */
  minAccuracy: number;
  /** Remaining budget in ms if the caller already spent some (Sponge-style); defaults to sloMs. */
  budgetMs?: number;
  /** Pinned variant (model-specific endpoint), bypassing selection. */
  variant?: string;
  /**
   * Model-less only: the variants that can take this request's input (a tensor's dtype and shape,
   * an image needs image preprocessing); the others are never selected. Undefined = all of them.
   */
  acceptedVariants?: ReadonlySet<string>;
  /** Number of inputs in the request (batch). */
  inputs: number;
  /**
   * "Late is better than nothing": take a Lambda cold start that will miss the budget (as long
   * as a warm instance would fit) instead of a 503. Undefined = the policy's default (coldSpill).
   */
  acceptLate?: boolean;
}

/** A Lambda instance to start without a request, so the next ones find it warm (see router.ts). */
export interface WarmUp {
  variant: string;
  memoryMb: number;
}

export type RouteDecision =
  | { kind: 'vm'; vmId: string; variant: string; expectedMs: number }
  | { kind: 'lambda'; variant: string; memoryMb: number; expectedMs: number; cold: boolean }
  | {
      /**
       * No warm instance is idle, but the variant's busy ones free up soon enough: the driver holds
       * the request until an instance of `variant` ends an invoke (then routes it again with what is
       * left of its budget) or `maxWaitMs` passes (then 503). Knative's activator does the same
       * for a revision at its concurrency limit.
       */
      kind: 'wait';
      variant: string;
      memoryMb: number;
      /** Longest the request may wait: its budget less a warm invoke's p99. */
      maxWaitMs: number;
      /** p99 of wait + warm service (what the budget was checked against). */
      expectedMs: number;
      /** An instance to start meanwhile (the spike needs more of them), claimed like a reject's. */
      warm?: WarmUp;
    }
  | {
      kind: 'reject';
      /** 400/404: bad request; 422: the SLO is below what any backend can do; 503: not now, retry. */
      status: 400 | 404 | 422 | 503;
      retryAfterS: number;
      reason: string;
      /** The request field the reason is about (422: sloMs or budgetMs). */
      field?: string;
      /** 503 because only a too-slow cold start was free: the instance to warm meanwhile. */
      warm?: WarmUp;
    };

export interface RouterView {
  nowMs: number;
  vms: readonly VmView[];
  lambda: LambdaView;
  /**
   * Routers that send to these VMs (this one included); above 1 the VMs' outstanding counts are
   * partial between load reports and a VM is picked by two choices (core/router.ts). @default 1
   */
  routers?: number;
  /** Per-router offset of the two-choices draw, so routers with the same plan draw differently. @default 0 */
  routerSeed?: number;
}

/**
 * How a policy's VMs are billed when they are not plain EC2: Lambda Managed Instances bill the EC2
 * price x (1 + 15 %) management fee plus Lambda's request fee for every request they serve.
 */
export interface VmBilling {
  /** Multiplier on the EC2 price (1.15 for Lambda Managed Instances). */
  priceFactor: number;
  /** Fee per million requests served on these VMs ($0.20 for Lambda Managed Instances). */
  requestFeeUsdPerMillion: number;
}

export interface Policy<S> {
  readonly name: string;
  /** Whether this policy may send traffic to Lambda (lambda-only, spock, mark, spillway: yes). */
  readonly usesLambda: boolean;
  /** How this policy's VMs are billed (the simulator's bill); default plain EC2. */
  readonly vmBilling?: VmBilling;
  init(env: PolicyEnv, nowMs: number): S;
  /** Called every env.tickIntervalMs: forecast -> plan -> decide. Must not throw; return a decision with notes instead. */
  tick(obs: TickObservation, state: S, env: PolicyEnv): { decision: TickDecision; state: S };
  /**
   * Per-request routing. Hot path (the simulator calls it > 1 M times per wall second):
   * no allocation-heavy work; it reads state, never returns a new one.
   */
  route(req: RouteRequest, view: RouterView, state: S, env: PolicyEnv): RouteDecision;
  /**
   * Feedback from a completion (learned latency estimates, interference). Returns the next state.
   * May update internal estimators in place for speed as long as no other holder of `state`
   * observes the change (the caller always replaces its reference with the returned one).
   */
  observe(c: CompletionRecord, state: S, env: PolicyEnv): S;
}
