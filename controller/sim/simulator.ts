/**
 * Discrete-event, request-level simulator with a simulated clock. It drives the SAME policy
 * host as the local stack and AWS (core/host/policy-host.ts): the host builds every observation
 * (fleet and Lambda views from events, the warm-instance ESTIMATE, arrivals incl. rejected
 * requests) and turns decisions into actions under the same limits (maxVms, memory changes
 * deferred during bursts). This file is only the world: VMs, queues, Lambda instances, clocks.
 *
 * World model (each choice is a parameter; defaults in DEFAULT_SIM_OPTIONS):
 * - Arrivals: Poisson inside each trace step at that step's rate (memoryless, so crossing a step
 *   boundary just restarts the draw at the new rate).
 * - VMs: `slots` replicas x `threads` = the instance's vCPUs (from the profile's instance estimate),
 *   one variant per VM. Each slot takes a dynamic batch of up to `maxBatch` queued requests as
 *   soon as it is free; the queue is earliest-deadline-first (insertion from the tail, O(1) when
 *   every request has the same SLO) with a length limit (503 beyond it, like the real server).
 *   Batch service = predictLatencyMs(l, b, threads) x true-latency multiplier x VM interference x
 *   lognormal noise (median 1, p99/p50 from the profile).
 * - VM provisioning: ready at launch + boot delay (catalog typicalBootDelayMs or an override,
 *   x (1 +- bootJitter) uniform); observed delays are fed back in TickObservation.
 * - Lambda: one function per variant at the memory the policy sets; warm instances kept
 *   `keepAliveMs` (catalog) after their last request, reused most-recent-first; a request with no
 *   warm idle instance is a cold start (profile coldStartMs at that memory). Account concurrency
 *   limit: a request beyond it is throttled (429); the policy gets one more route() with
 *   `throttledUntilMs` set and may fall back, otherwise the request counts as rejected.
 *   A memory change discards the warm pool (new configuration = new instances).
 * - Billing: controller/core/cost.ts: EC2 per second with the 60 s minimum, from launch request to
 *   stop (the boot time is billed: a slight over-estimate, EC2 does not bill the short 'pending'
 *   state); Lambda GB-s per 1 ms including the INIT phase on cold starts (AWS bills INIT since
 *   2025-08) + $0.20/M requests.
 *
 * - Spot (a catalog with `<type>:spot` types, withSpotTypes): a Spot launch goes to the type's AZ
 *   pool with the fewest of its VMs (core/spot-placement.ts); a pool without capacity (drawn per
 *   attempt, `spot.capacityNotAvailableProbability`) falls back to its other AZs, other Spot types,
 *   then on-demand. Each pool is reclaimed at Poisson times at its type's rate per VM-hour
 *   (catalog spotInterruptionsPerHour; a pool event takes `reclaimFraction` of its VMs), drawn from
 *   their own seeded stream before the run (every policy meets the same reclaim times), or replayed
 *   from `spot.replay`. On notice a ready VM drains (the host sees it terminating: the router stops
 *   sending to it at once and the policy launches a replacement at its next tick); whatever is left
 *   at notice + catalog noticeMs (two minutes) is lost (rejected). A booting VM is lost at once.
 *   Each VM is billed at its own AZ's Spot price.
 *
 * Speed: the hot path (arrival -> route -> enqueue/invoke -> completion) uses typed-array pools
 * and a typed-array event heap; no closures per request. The RouteRequest object is reused and
 * mutated between calls (policies must not keep references to it).
 */
import { build as buildHistogram } from 'hdr-histogram-js';
import type { Catalog } from '../../profiles/catalog.js';
import { lambdaColdStartMs, lambdaLatencyMs } from '../../profiles/lib/estimates.js';
import { instanceEstimate, type LatencyModel, predictLatencyMs } from '../../profiles/schema.js';
import { spotInterruptionsPerHour, spotNoticeMs } from '../../profiles/catalog.js';
import { chooseSpotPlacement, type SpotPool } from '../core/spot-placement.js';
import {
  lambdaBilledDurationMs,
  lambdaComputeCostUsd,
  lambdaGbSeconds,
  lambdaRequestFeesUsd,
  lambdaVcpu,
  vmBilledSeconds,
} from '../../profiles/pricing.js';
import type { FleetRecord } from '../core/host/fleet-view.js';
import { PolicyHost } from '../core/host/policy-host.js';
import type { TickActions } from '../core/host/tick-actions.js';
import type { CompletionRecord, Policy, PolicyEnv, RouteRequest } from '../core/policy-types.js';
import { SimConfigError } from './errors.js';
import { checkSimOptions, SIM_SLOT_SHIFT } from './sim-options-schema.js';
import { Rng, sigmaForP99OverP50 } from './rng.js';
import type { Trace } from './trace.js';
import { EventHeap } from './event-heap.js';
import { transportMs, type WorldModel } from './world.js';

export interface SimOptions {
  seed: number;
  /** Task of every request (default: the first variant's task). */
  task?: string;
  /** Minimum published accuracy every request asks for (default 0). */
  minAccuracy: number;
  /** Max batch per VM slot; default: the profile's instance estimate batch size (else 8). */
  maxBatch?: number;
  /** VM server queue limit (SPILLWAY_QUEUE_LIMIT). */
  queueLimit: number;
  /** Network + proxy overhead per request to a VM (ms). */
  vmOverheadMs: number;
  /** Invoke API overhead per Lambda request (ms), not billed. */
  lambdaOverheadMs: number;
  /** Boot delay override per instance type (ms). */
  bootDelayMs?: Record<string, number>;
  /** Uniform +- fraction applied to each boot delay (0.15 -> 85 %..115 %). */
  bootJitter: number;
  /** Variant -> true latency / profiled latency (1.5 = the profile is 33 % optimistic). */
  trueLatencyMultiplier?: Record<string, number>;
  /** Per-VM interference: each VM is, with this probability, `slowdown`x slower for its whole life. */
  interference?: { probability: number; slowdown: number };
  /** Whether Lambda INIT time is billed on cold starts. */
  billLambdaInit: boolean;
  /** Time-series bucket (ms). */
  seriesIntervalMs: number;
  /** How many past tick intervals arrivalRpsHistory carries. */
  historyTicks: number;
  /** Called after each tick with (simulated ms, total ms). */
  onProgress?: (simMs: number, totalMs: number) => void;
  /**
   * VMs launched by the tick at t = 0 are ready at once: the system was already running before
   * the window starts (otherwise every VM policy loses the first ~90 s to boot).
   */
  prewarm: boolean;
  /** With prewarm: how many past ticks of history the policy sees at t = 0. */
  preHistoryTicks: number;
  /** Record arrivals per second (needed by the clairvoyant bound). */
  recordArrivalsPerSecond: boolean;
  /** World limit on booting + ready VMs (the local stack's SPILLWAY_MAX_VMS). @default unlimited */
  maxVms?: number;
  /** Lambda memory updates deferred while a variant is busy, as the real pools do. @default true */
  deferMemoryDuringBursts: boolean;
  /**
   * Explicit arrival times (ms of simulated time, ascending) instead of Poisson draws from the
   * trace's rates (which then only set the duration and the load series): the fidelity bench
   * gives the simulator exactly the arrivals it replays against the live stack.
   */
  arrivalTimesMs?: ArrayLike<number>;
  /** Service slots per VM instead of the profile's replicas (the local stack: one per thread). */
  vmSlots?: number;
  /** Intra-op threads per VM instead of the profile's estimate (the local stack: 1). */
  vmThreads?: number;
  /**
   * Time per request outside session.run as the world measured it (image decode/resize, the
   * host's CPU contention), ms per input, by backend and variant; added to the service time.
   */
  extraServiceMs?: { vm?: Record<string, number>; lambda?: Record<string, number> };
  /**
   * The same measured time as per-request samples (one per live answer), drawn uniformly for each
   * request instead of the constant extraServiceMs and the lognormal noise: the service time then
   * has the world's own spread and tail (a busy 2-core host's CPU contention), not the profile's.
   */
  extraServiceSamplesMs?: { vm?: Record<string, ArrayLike<number>>; lambda?: Record<string, ArrayLike<number>> };
  /** True Lambda INIT per variant (ms) instead of the profile's coldStartMs (the world's own, measured). */
  lambdaColdStartMs?: Record<string, number>;
  /** Lambda keep-alive (ms) instead of the catalog's (the local runtime keeps idle instances 60 s). */
  lambdaKeepAliveMs?: number;
  /** Lambda memory configured before the policy sets one (the local stack's SPILLWAY_LAMBDA_MEMORY_MB). */
  lambdaMemoryMb?: number;
  /**
   * Billed Lambda time per invoke beyond the modelled service (the handler's own work: event
   * parsing, (de)serialisation), ms; already part of lambdaOverheadMs's latency, not added to it.
   */
  lambdaBilledOverheadMs?: number;
  /** Lambda instances per variant warmed at t = 0 (SPILLWAY_LAMBDA_WARM_AT_START). @default 0 */
  lambdaWarmAtStart?: number;
  /**
   * Where the world departs from what the policies believe (world.ts: REALISTIC_WORLD). Absent:
   * the optimistic world, whose cold starts, keep-alive, boot times, noise and transport are
   * exactly the profiles' and the catalog's (the results of earlier rounds, reproducible).
   */
  world?: WorldModel;
  /** The Spot market's behaviour (see the header); used only when the catalog has Spot types. */
  spot?: SpotWorldOptions;
}

/** One reclaim of one pool (recorded, or to replay). */
export interface SpotReclaimEvent {
  atMs: number;
  /** Planned Spot type, e.g. `c5.large:spot`. */
  instanceType: string;
  az: string;
}

export interface SpotWorldOptions {
  /** Reclaim exactly these pool events instead of drawing them from the rates. */
  replay?: readonly SpotReclaimEvent[];
  /** Probability that a Spot launch attempt in a pool finds no capacity. @default 0 */
  capacityNotAvailableProbability?: number;
  /** Share of a pool's live VMs one reclaim takes (rounded up). @default 1 */
  reclaimFraction?: number;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = {
  seed: 1,
  minAccuracy: 0,
  queueLimit: 256,
  vmOverheadMs: 1,
  lambdaOverheadMs: 15,
  bootJitter: 0.15,
  billLambdaInit: true,
  seriesIntervalMs: 60_000,
  historyTicks: 720,
  recordArrivalsPerSecond: true,
  deferMemoryDuringBursts: true,
  prewarm: true,
  preHistoryTicks: 30,
};

export interface SimSeries {
  /** Start of each bucket, minutes of simulated time. */
  tMin: number[];
  loadRps: number[];
  vmCapacityRps: number[];
  vmCount: number[];
  lambdaShare: number[];
  cumulativeCostUsd: number[];
  forecastRps: number[];
  violationRate: number[];
  /** Served share per variant per bucket. */
  variantShare: Record<string, number[]>;
}

export interface SimResult {
  policy: string;
  trace: string;
  synthetic: boolean;
  simulatedS: number;
  requests: number;
  served: number;
  late: number;
  rejected: number;
  throttled: number;
  violations: number;
  violationRate: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  avgAccuracy: number | null;
  lambdaShare: number;
  cost: { ec2Usd: number; lambdaComputeUsd: number; lambdaRequestsUsd: number; totalUsd: number };
  vmHours: number;
  vmUtilisation: number;
  vmLaunches: number;
  coldStarts: number;
  /** Requests that waited for a busy Lambda instance ('wait' decisions), and those whose wait ran out (rejected). */
  lambdaWaits: { waited: number; expired: number };
  servedByVariant: Record<string, number>;
  /** Every VM launched: when (ms of simulated time) it was asked for, ready, stopped. */
  vmTimeline: Array<{ id: string; variant: string; launchedAtMs: number; readyAtMs?: number; stoppedAtMs: number }>;
  series: SimSeries;
  /** Arrivals per simulated second (for the clairvoyant bound); omitted from JSON output. */
  arrivalsPerSecond?: Uint32Array;
  wallMs: number;
  requestsPerWallSecond: number;
  tickNotes: string[];
  /** Spot: every pool event (with the VMs it took, 0 when the pool was empty) and launch fallbacks. */
  spot: {
    reclaims: Array<SpotReclaimEvent & { vms: number }>;
    fallbacks: { otherAz: number; otherType: number; onDemand: number };
    spotVmHours: number;
  };
}

// Event kinds.
const EV_TICK = 1;
const EV_VM_READY = 2;
const EV_VM_DONE = 3; // payload = vmIdx * SLOT_SHIFT + slot
const EV_LAMBDA_DONE = 4; // payload = request index
const EV_SAMPLE = 5;
const EV_LAMBDA_WARMED = 6; // payload = warm-up index (warmUpVariant / warmUpGen)
const EV_SPOT_RECLAIM = 7; // payload = pool index
const EV_SPOT_KILL = 8; // payload = vm index
const EV_WAIT_EXPIRE = 9; // payload = request index (still waiting iff rqWaitUntil[r] is this event's time)
const SLOT_SHIFT = SIM_SLOT_SHIFT;

const VM_BOOTING = 0;
const VM_READY = 1;
const VM_DRAINING = 2;
const VM_STOPPED = 3;

interface VariantRt {
  name: string;
  model: LatencyModel;
  sigma: number;
  trueMult: number;
  vmExtraMs: number;
  lambdaExtraMs: number;
  /** Measured per-request extras (SimOptions.extraServiceSamplesMs); undefined = constant + noise. */
  vmExtraSamples: ArrayLike<number> | undefined;
  lambdaExtraSamples: ArrayLike<number> | undefined;
  accuracy: number | null;
  profileIdx: number;
}

class SimVm {
  state = VM_BOOTING;
  /** Spot pool index, -1 for on-demand. */
  pool = -1;
  /** Reclaim notice received (a drain the policy did not ask for). */
  reclaimed = false;
  readyAtMs = 0;
  stopAtMs = -1;
  busySlots = 0;
  busyMs = 0;
  readyMs = 0;
  qHead = 0;
  qLen = 0;
  queue: Int32Array;
  /** Members of the batch in service per slot: slot * maxBatch + k. */
  batch: Int32Array;
  batchLen: Int32Array;
  batchStartMs: Float64Array;
  slotFree: Uint8Array;
  constructor(
    readonly idx: number,
    readonly id: string,
    readonly typeIdx: number,
    readonly pricePerHourUsd: number,
    readonly instanceType: string,
    readonly variantIdx: number,
    readonly launchedAtMs: number,
    readonly slots: number,
    readonly threads: number,
    readonly maxBatch: number,
    readonly capacityRps: number,
    readonly interference: number,
    queueLimit: number,
  ) {
    let cap = 16;
    while (cap < queueLimit) cap *= 2;
    this.queue = new Int32Array(cap);
    this.batch = new Int32Array(slots * maxBatch);
    this.batchLen = new Int32Array(slots);
    this.batchStartMs = new Float64Array(slots);
    this.slotFree = new Uint8Array(slots).fill(1);
  }
}

/** Runs one policy over one trace. */
export function simulate<S>(
  trace: Trace,
  policy: Policy<S>,
  env: PolicyEnv,
  partial: Partial<SimOptions> = {},
): SimResult {
  const opts: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...partial };
  checkSimOptions(opts);
  const wallStart = performance.now();
  const catalog: Catalog = env.catalog;
  if (env.variants.length === 0) throw new SimConfigError('env.variants is empty: no variant to serve');
  if (!(env.sloMs > 0)) throw new SimConfigError(`env.sloMs must be > 0 (got ${env.sloMs})`);
  if (!(env.tickIntervalMs >= 100)) throw new SimConfigError(`env.tickIntervalMs must be >= 100 (got ${env.tickIntervalMs})`);
  const rng = new Rng(opts.seed);
  // Arrivals have their own stream so every policy sees the same requests for the same seed.
  const arrivalRng = new Rng(opts.seed ^ 0x5eed);
  const heap = new EventHeap(4096);
  const endMs = trace.durationS * 1000;
  const sloMs = env.sloMs;
  const task = opts.task ?? env.variants[0]!.task;

  // ---- variants ----
  const variants: VariantRt[] = env.variants.map((v, i) => ({
    name: v.name,
    model: v.profile.latencyModel,
    sigma: sigmaForP99OverP50(v.profile.latencyModel.p99OverP50),
    trueMult: opts.trueLatencyMultiplier?.[v.name] ?? 1,
    vmExtraMs: opts.extraServiceMs?.vm?.[v.name] ?? 0,
    lambdaExtraMs: opts.extraServiceMs?.lambda?.[v.name] ?? 0,
    vmExtraSamples: opts.extraServiceSamplesMs?.vm?.[v.name],
    lambdaExtraSamples: opts.extraServiceSamplesMs?.lambda?.[v.name],
    accuracy: v.accuracyTop1,
    profileIdx: i,
  }));
  const variantIdx = new Map<string, number>();
  variants.forEach((v, i) => {
    variantIdx.set(v.name, i);
  });
  const typeIdx = new Map<string, number>();
  catalog.ec2.instanceTypes.forEach((t, i) => {
    typeIdx.set(t.name, i);
  });
  // ---- Spot pools: one per (Spot type, AZ) ----
  const pools: Array<{ instanceType: string; az: string; pricePerHourUsd: number; perMs: number }> = [];
  const poolIdx = new Map<string, number>();
  for (const t of catalog.ec2.instanceTypes) {
    if (!t.spotOf || !t.spot) continue;
    for (const az of Object.keys(t.spot.pricePerHourUsdByAz).sort()) {
      poolIdx.set(`${t.name}@${az}`, pools.length);
      pools.push({ instanceType: t.name, az, pricePerHourUsd: t.spot.pricePerHourUsdByAz[az]!, perMs: spotInterruptionsPerHour(t) / 3_600_000 });
    }
  }
  const poolLive = new Int32Array(pools.length);
  const spotOpts = opts.spot ?? {};
  const cnaP = Math.min(1, Math.max(0, spotOpts.capacityNotAvailableProbability ?? 0));
  // Own streams: reclaim times do not depend on what a policy does; capacity draws are per attempt.
  const reclaimRng = new Rng(opts.seed ^ 0x5b07);
  const capacityRng = new Rng(opts.seed ^ 0xca9a);
  const noticeMs = spotNoticeMs(catalog);
  const reclaims: SimResult['spot']['reclaims'] = [];
  const fallbacks = { otherAz: 0, otherType: 0, onDemand: 0 };

  // ---- request pool (typed arrays, recycled through a free list) ----
  let poolCap = 1 << 14;
  let rqArrival = new Float64Array(poolCap);
  let rqDeadline = new Float64Array(poolCap);
  let rqVariant = new Int32Array(poolCap);
  let rqMem = new Int32Array(poolCap);
  let rqCold = new Uint8Array(poolCap);
  /** 1 when the host counted the request's invoke as warm (started()'s answer, handed back to ended()). */
  let rqHostWarm = new Uint8Array(poolCap);
  let rqStart = new Float64Array(poolCap);
  let rqGen = new Int32Array(poolCap);
  /** End of the request's current wait for a Lambda instance ('wait' decision), -1 when not waiting. */
  let rqWaitUntil = new Float64Array(poolCap).fill(-1);
  /** Time waited so far (ms); while waiting it holds minus the wait's start (the release adds its time). */
  let rqWaited = new Float64Array(poolCap);
  let freeList = new Int32Array(poolCap);
  let freeTop = 0;
  for (let i = poolCap - 1; i >= 0; i--) freeList[freeTop++] = i;
  const growPool = (): void => {
    const cap = poolCap * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    rqArrival = f64(rqArrival);
    rqDeadline = f64(rqDeadline);
    rqStart = f64(rqStart);
    rqWaited = f64(rqWaited);
    const w = new Float64Array(cap).fill(-1);
    w.set(rqWaitUntil);
    rqWaitUntil = w;
    rqVariant = i32(rqVariant);
    rqMem = i32(rqMem);
    rqGen = i32(rqGen);
    const c = new Uint8Array(cap);
    c.set(rqCold);
    rqCold = c;
    const hw = new Uint8Array(cap);
    hw.set(rqHostWarm);
    rqHostWarm = hw;
    const fl = new Int32Array(cap);
    fl.set(freeList.subarray(0, freeTop));
    freeList = fl;
    for (let i = cap - 1; i >= poolCap; i--) freeList[freeTop++] = i;
    poolCap = cap;
  };
  const allocReq = (): number => {
    if (freeTop === 0) growPool();
    return freeList[--freeTop]!;
  };
  const freeReq = (r: number): void => {
    freeList[freeTop++] = r;
  };

  // ---- metrics ----
  const hist = buildHistogram({ numberOfSignificantValueDigits: 3 });
  // Latencies are pre-counted in 10 us bins up to 20 s (a typed-array increment per request) and
  // handed to the hdr histogram with their counts at the end; longer ones go to it directly.
  const BIN_US = 10;
  const latencyBins = new Uint32Array(2_000_000);
  let requests = 0;
  let served = 0;
  let late = 0;
  let rejected = 0;
  let throttled = 0;
  let sumLatency = 0;
  let accSum = 0;
  let accCount = 0;
  let lambdaServed = 0;
  let coldStarts = 0;
  let lambdaComputeUsd = 0;
  let lambdaRequests = 0;
  let vmLaunches = 0;
  const servedByVariant = new Float64Array(variants.length);
  const arrivalsPerSecond = opts.recordArrivalsPerSecond ? new Uint32Array(Math.ceil(trace.durationS)) : undefined;

  // Series buckets.
  const nBuckets = Math.max(1, Math.ceil(endMs / opts.seriesIntervalMs));
  const bArrivals = new Float64Array(nBuckets);
  const bLambda = new Float64Array(nBuckets);
  const bServed = new Float64Array(nBuckets);
  const bViol = new Float64Array(nBuckets);
  const bVariant = variants.map(() => new Float64Array(nBuckets));
  const series: SimSeries = {
    tMin: [],
    loadRps: [],
    vmCapacityRps: [],
    vmCount: [],
    lambdaShare: [],
    cumulativeCostUsd: [],
    forecastRps: [],
    violationRate: [],
    variantShare: {},
  };
  const bucketOf = (t: number): number => {
    const b = Math.floor(t / opts.seriesIntervalMs);
    return b < nBuckets ? b : nBuckets - 1;
  };

  // ---- the policy host (the same one the live worlds drive) ----
  const host = new PolicyHost(policy, env, {
    limits: {
      maxVms: opts.maxVms ?? env.maxVms ?? Number.POSITIVE_INFINITY,
      ...(opts.deferMemoryDuringBursts ? {} : { memoryUpdateGuard: false as const }),
    },
    lambdaMemoryMb: 0, // no function configured until the policy (or the first invoke) sets one
    lambdaKeepAliveMs: opts.lambdaKeepAliveMs ?? catalog.lambda.keepAliveMs,
    historyTicks: opts.historyTicks,
    nowMs: 0,
  });

  // ---- VM fleet ----
  const vms: SimVm[] = [];
  const vmById = new Map<string, SimVm>();
  const STATE_NAMES = ['pending', 'ready', 'terminating', 'terminated'] as const;
  const recordOf = (vm: SimVm): FleetRecord => ({
    id: vm.id,
    instanceType: vm.instanceType,
    variant: variants[vm.variantIdx]!.name,
    state: STATE_NAMES[vm.state]!,
    launchedAtMs: vm.launchedAtMs,
    ...(vm.state === VM_READY || vm.state === VM_DRAINING ? { readyAtMs: vm.readyAtMs } : {}),
    slots: vm.slots,
  });
  /** The world lists its fleet to the host after every change (launch, ready, stop). */
  const listFleet = (now: number): void => {
    const records: FleetRecord[] = [];
    for (const vm of vms) if (vm.state !== VM_STOPPED) records.push(recordOf(vm));
    host.fleet.sync(records, now);
  };

  // ---- Lambda ----
  const lambdaLimit = Math.min(env.lambdaConcurrencyLimit, catalog.lambda.accountConcurrencyLimit);
  let lambdaInFlight = 0;
  const keepAliveMs = opts.lambdaKeepAliveMs ?? catalog.lambda.keepAliveMs;
  // ---- the world's own draws (world.ts); without opts.world each is the policy's belief and no
  // random number is drawn, so the optimistic world reproduces earlier results exactly ----
  const world = opts.world;
  const drawKeepAliveMs = (): number =>
    world?.keepAlive ? keepAliveMs * (world.keepAlive.minFactor + (world.keepAlive.maxFactor - world.keepAlive.minFactor) * rng.uniform()) : keepAliveMs;
  const drawColdMs = (vi: number): number => {
    if (!world?.coldStart || opts.lambdaColdStartMs?.[variants[vi]!.name] !== undefined) return coldMsByVariant[vi]!;
    const c = world.coldStart;
    const load = env.variants[vi]!.profile.sessionLoadMs * c.sessionLoadFactor;
    const vcpu = vcpuByVariant[vi]!;
    return (c.runtimeInitMs + (vcpu < 1 ? load / vcpu : load)) * rng.lognormalMedian1(c.sigma);
  };
  const drawBootMs = (bootBase: number): number => {
    if (!world?.boot) return bootBase * (1 + opts.bootJitter * (2 * rng.uniform() - 1));
    // Lognormal with mean bootBase x meanFactor and this coefficient of variation.
    const sigma = Math.sqrt(Math.log(1 + world.boot.cv ** 2));
    return bootBase * world.boot.meanFactor * Math.exp(-(sigma ** 2) / 2) * rng.lognormalMedian1(sigma);
  };
  const drawNoise = (sigma: number): number => {
    const t = world?.serviceTail;
    if (!t) return rng.lognormalMedian1(sigma);
    const stall = t.stallProbability > 0 && rng.uniform() < t.stallProbability ? t.stallFactor : 1;
    return rng.lognormalMedian1(sigma * t.sigmaFactor) * stall;
  };
  /** Sum of n draws (with replacement) from measured samples. */
  const drawSamples = (samples: ArrayLike<number>, n: number): number => {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += samples[Math.floor(rng.uniform() * samples.length)]!;
    return sum;
  };
  const vmTransportMs = transportMs(world, 'vm', opts.vmOverheadMs);
  const lambdaTransportMs = transportMs(world, 'lambda', opts.lambdaOverheadMs);
  // Warm pool per variant: ring of idle-since times, newest at the top.
  const warmTimes: Float64Array[] = variants.map(() => new Float64Array(64));
  const warmHead = new Int32Array(variants.length);
  const warmLen = new Int32Array(variants.length);
  const memGen = new Int32Array(variants.length);
  const memByVariant = new Int32Array(variants.length);
  const coldMsByVariant = new Float64Array(variants.length);
  const vcpuByVariant = new Float64Array(variants.length);
  const setMemory = (vi: number, memoryMb: number): void => {
    if (memByVariant[vi] === memoryMb) return;
    const lo = catalog.lambda.minMemoryMb;
    const hi = catalog.lambda.maxMemoryMb;
    const m = Math.min(hi, Math.max(lo, Math.round(memoryMb)));
    memByVariant[vi] = m;
    memGen[vi] = memGen[vi]! + 1;
    warmLen[vi] = 0;
    host.lambda.memoryApplied(variants[vi]!.name, m);
    const vcpu = lambdaVcpu(catalog, m);
    vcpuByVariant[vi] = vcpu;
    const prof = env.variants[vi]!.profile;
    const est = prof.lambda.find((l) => l.memoryMb === m);
    coldMsByVariant[vi] =
      opts.lambdaColdStartMs?.[variants[vi]!.name] ??
      (est ? est.coldStartMs : lambdaColdStartMs(catalog, prof.sessionLoadMs, vcpu));
  };
  const expireWarm = (vi: number, now: number): void => {
    const ring = warmTimes[vi]!;
    const mask = ring.length - 1;
    while (warmLen[vi]! > 0) {
      const bottom = (warmHead[vi]! - warmLen[vi]! + 1 + ring.length) & mask;
      // The ring holds expiry times. With a varying keep-alive an instance above the bottom may
      // expire first; it goes when it reaches the bottom (most-recent-first reuse makes that soon).
      if (ring[bottom]! >= now) break;
      warmLen[vi] = warmLen[vi]! - 1;
    }
  };
  const pushWarm = (vi: number, now: number): void => {
    let ring = warmTimes[vi]!;
    if (warmLen[vi] === ring.length) {
      // Grow, unrolling the ring oldest-first.
      const bigger = new Float64Array(ring.length * 2);
      const mask = ring.length - 1;
      for (let k = 0; k < warmLen[vi]!; k++) {
        bigger[k] = ring[(warmHead[vi]! - warmLen[vi]! + 1 + k + ring.length) & mask]!;
      }
      warmHead[vi] = warmLen[vi]! - 1;
      warmTimes[vi] = bigger;
      ring = bigger;
    }
    const h = (warmHead[vi]! + 1) & (ring.length - 1);
    ring[h] = now + drawKeepAliveMs();
    warmHead[vi] = h;
    warmLen[vi] = warmLen[vi]! + 1;
  };

  // ---- reused hot-path objects ----
  const routeReq: RouteRequest = { nowMs: 0, task, sloMs, budgetMs: sloMs, minAccuracy: opts.minAccuracy, inputs: 1 };

  let lastForecast = 0;
  const tickNotes: string[] = [];

  const complete = (
    r: number,
    now: number,
    backend: 'vm' | 'lambda',
    resourceKey: string,
    vmId: string | undefined,
    serviceMs: number,
    cold: boolean,
  ): void => {
    const vi = rqVariant[r]!;
    const totalMs = now - rqArrival[r]!;
    const violated = totalMs > sloMs;
    served++;
    sumLatency += totalMs;
    const bin = Math.round((totalMs * 1000) / BIN_US);
    if (bin < latencyBins.length) latencyBins[bin] = latencyBins[bin]! + 1;
    else hist.recordValue(Math.round(totalMs * 1000));
    const b = bucketOf(rqArrival[r]!);
    bServed[b] = bServed[b]! + 1;
    bVariant[vi]![b] = bVariant[vi]![b]! + 1;
    servedByVariant[vi] = servedByVariant[vi]! + 1;
    if (violated) {
      late++;
      bViol[b] = bViol[b]! + 1;
    }
    const acc = variants[vi]!.accuracy;
    if (acc !== null) {
      accSum += acc;
      accCount++;
    }
    // One literal, one shape: a conditional spread here cost a quarter of the simulator's time.
    const rec: CompletionRecord = {
      atMs: now,
      variant: variants[vi]!.name,
      backend,
      resourceKey,
      vmId,
      serviceMs,
      totalMs,
      waitedMs: rqWaited[r]! > 0 ? rqWaited[r]! : undefined,
      sloMs,
      coldStart: cold,
      violated,
    };
    host.completed(rec);
  };

  const reject = (r: number): void => {
    rejected++;
    host.rejected();
    const b = bucketOf(rqArrival[r]!);
    bViol[b] = bViol[b]! + 1;
    freeReq(r);
  };

  // ---- VM mechanics ----
  const startBatches = (vm: SimVm, now: number): void => {
    if (vm.state !== VM_READY && vm.state !== VM_DRAINING) return;
    const v = variants[vm.variantIdx]!;
    for (let s = 0; s < vm.slots && vm.qLen > 0; s++) {
      if (vm.slotFree[s] === 0) continue;
      const mask = vm.queue.length - 1;
      let n = 0;
      const base = s * vm.maxBatch;
      while (n < vm.maxBatch && vm.qLen > 0) {
        vm.batch[base + n] = vm.queue[vm.qHead]!;
        vm.qHead = (vm.qHead + 1) & mask;
        vm.qLen--;
        n++;
      }
      vm.batchLen[s] = n;
      vm.slotFree[s] = 0;
      vm.busySlots++;
      vm.batchStartMs[s] = now;
      const serviceMs =
        v.vmExtraSamples === undefined
          ? Math.max(0.1, predictLatencyMs(v.model, n, vm.threads) * v.trueMult + n * v.vmExtraMs) * vm.interference * drawNoise(v.sigma)
          : Math.max(0.1, predictLatencyMs(v.model, n, vm.threads) * v.trueMult + drawSamples(v.vmExtraSamples, n)) * vm.interference;
      heap.push(now + serviceMs, EV_VM_DONE, vm.idx * SLOT_SHIFT + s);
    }
  };

  const finishVmBatch = (vm: SimVm, s: number, now: number): void => {
    const n = vm.batchLen[s]!;
    const serviceMs = now - vm.batchStartMs[s]!;
    vm.busyMs += serviceMs;
    vm.slotFree[s] = 1;
    vm.busySlots--;
    const base = s * vm.maxBatch;
    const done = now + vmTransportMs;
    for (let k = 0; k < n; k++) {
      const r = vm.batch[base + k]!;
      complete(r, done, 'vm', vm.instanceType, vm.id, serviceMs, false);
      freeReq(r);
    }
    host.fleet.finished(vm.id, n);
    if (vm.qLen > 0) startBatches(vm, now);
    else if (vm.state === VM_DRAINING && vm.busySlots === 0) stopVm(vm, now);
  };

  const enqueueVm = (vm: SimVm, r: number, now: number): boolean => {
    if (vm.qLen >= vm.queue.length || vm.qLen >= opts.queueLimit) return false;
    const mask = vm.queue.length - 1;
    // EDF insert from the tail: walk back past requests with a later deadline.
    const d = rqDeadline[r]!;
    let pos = vm.qLen;
    while (pos > 0) {
      const prev = vm.queue[(vm.qHead + pos - 1) & mask]!;
      if (rqDeadline[prev]! <= d) break;
      vm.queue[(vm.qHead + pos) & mask] = prev;
      pos--;
    }
    vm.queue[(vm.qHead + pos) & mask] = r;
    vm.qLen++;
    host.fleet.dispatched(vm.id);
    if (vm.busySlots < vm.slots) startBatches(vm, now);
    return true;
  };

  const stopVm = (vm: SimVm, now: number): void => {
    if (vm.state === VM_STOPPED) return;
    if (vm.state === VM_READY || vm.state === VM_DRAINING) vm.readyMs += now - vm.readyAtMs;
    vm.state = VM_STOPPED;
    vm.stopAtMs = now;
    if (vm.pool >= 0) poolLive[vm.pool] = poolLive[vm.pool]! - 1;
    // Anything still queued (a booting VM has none) would be lost: reject it.
    while (vm.qLen > 0) {
      const r = vm.queue[vm.qHead]!;
      vm.qHead = (vm.qHead + 1) & (vm.queue.length - 1);
      vm.qLen--;
      host.fleet.finished(vm.id);
      reject(r);
    }
    listFleet(now);
  };

  /** Other Spot types that can stand in for `requested` for a variant: as much capacity, cheapest per rps first. */
  const altCache = new Map<string, string[]>();
  const spotAlternatives = (requested: string, vi: number): string[] => {
    const key = `${requested}|${vi}`;
    const hit = altCache.get(key);
    if (hit) return hit;
    const prof = env.variants[vi]!.profile;
    const need = instanceEstimate(prof, requested)?.throughputRps ?? 0;
    const alts = catalog.ec2.instanceTypes
      .filter((t) => t.spotOf && t.name !== requested && env.instanceTypes.includes(t.name))
      .map((t) => ({ name: t.name, cap: instanceEstimate(prof, t.name)?.throughputRps ?? 0, price: t.pricePerHourUsd }))
      .filter((a) => a.cap >= need && a.cap > 0)
      .sort((a, b) => a.price / a.cap - b.price / b.cap)
      .map((a) => a.name);
    altCache.set(key, alts);
    return alts;
  };
  const spotPoolViews = (): SpotPool[] =>
    pools.map((p, i) => ({ instanceType: p.instanceType, az: p.az, liveVms: poolLive[i]!, pricePerHourUsd: p.pricePerHourUsd }));

  const launchVm = (requestedType: string, variant: string, now: number): SimVm | undefined => {
    let instanceType = requestedType;
    let ti = typeIdx.get(instanceType);
    const vi = variantIdx.get(variant);
    if (ti === undefined || vi === undefined) {
      tickNotes.push(`sim: ignored launch of unknown ${ti === undefined ? 'instance type' : 'variant'} ${ti === undefined ? instanceType : variant}`);
      return undefined;
    }
    let type = catalog.ec2.instanceTypes[ti]!;
    let pool = -1;
    let price = type.pricePerHourUsd;
    if (type.spotOf) {
      const placed = chooseSpotPlacement(instanceType, type.spotOf, spotPoolViews(), spotAlternatives(instanceType, vi), () => !(cnaP > 0 && capacityRng.uniform() < cnaP));
      if (placed.fallback === 'other-az') fallbacks.otherAz++;
      else if (placed.fallback === 'other-type') fallbacks.otherType++;
      else if (placed.fallback === 'on-demand') fallbacks.onDemand++;
      instanceType = placed.instanceType;
      ti = typeIdx.get(instanceType);
      if (ti === undefined) return undefined;
      type = catalog.ec2.instanceTypes[ti]!;
      price = type.pricePerHourUsd;
      if (placed.kind === 'spot') {
        pool = poolIdx.get(`${placed.instanceType}@${placed.az}`)!;
        price = pools[pool]!.pricePerHourUsd;
        poolLive[pool] = poolLive[pool]! + 1;
      }
    }
    const prof = env.variants[vi]!.profile;
    const est = instanceEstimate(prof, instanceType);
    const slots = opts.vmSlots ?? est?.replicas ?? type.vcpu;
    const threads = opts.vmThreads ?? est?.intraOpThreads ?? 1;
    // opts.maxBatch is checked to 1..SLOT_SHIFT (sim-options-schema.ts); a profile's batch size is capped.
    const maxBatch = opts.maxBatch ?? Math.max(1, Math.min(SLOT_SHIFT, est?.batchSize ?? 8));
    const capacityRps =
      (opts.vmSlots === undefined && opts.vmThreads === undefined ? est?.throughputRps : undefined) ?? (slots * maxBatch * 1000) / predictLatencyMs(prof.latencyModel, maxBatch, threads);
    const bootBase = opts.bootDelayMs?.[instanceType] ?? type.typicalBootDelayMs;
    const boot = now === 0 && opts.prewarm ? 0 : drawBootMs(bootBase);
    const interference =
      opts.interference && rng.uniform() < opts.interference.probability ? opts.interference.slowdown : 1;
    const idx = vms.length;
    const id = `sim-${idx}`;
    const vm = new SimVm(idx, id, ti, price, instanceType, vi, now, slots, threads, maxBatch, capacityRps, interference, opts.queueLimit);
    vm.pool = pool;
    vms.push(vm);
    vmById.set(id, vm);
    vmLaunches++;
    heap.push(now + boot, EV_VM_READY, idx);
    return vm;
  };

  const vmReady = (vm: SimVm, now: number): void => {
    if (vm.state !== VM_BOOTING) return;
    vm.state = VM_READY;
    vm.readyAtMs = now;
    listFleet(now); // the host records the boot delay (none for a VM prewarmed at t = 0)
  };

  const terminateVm = (vm: SimVm, now: number): void => {
    if (vm.state === VM_STOPPED || vm.state === VM_DRAINING) return;
    if (vm.state === VM_BOOTING || (vm.qLen === 0 && vm.busySlots === 0)) {
      stopVm(vm, now);
      return;
    }
    vm.state = VM_DRAINING;
  };

  // ---- Spot reclaims ----
  const reclaimPool = (p: number, now: number): void => {
    const live = vms.filter((vm) => vm.pool === p && (vm.state === VM_BOOTING || vm.state === VM_READY));
    const take = Math.min(live.length, Math.ceil(live.length * Math.min(1, Math.max(0, spotOpts.reclaimFraction ?? 1)) - 1e-9));
    reclaims.push({ atMs: now, instanceType: pools[p]!.instanceType, az: pools[p]!.az, vms: take });
    for (let k = 0; k < take; k++) {
      const vm = live[k]!;
      vm.reclaimed = true;
      if (vm.state === VM_BOOTING) {
        stopVm(vm, now); // never served: nothing to drain
        continue;
      }
      terminateVm(vm, now); // drains; stops itself once empty
      heap.push(now + noticeMs, EV_SPOT_KILL, vm.idx);
    }
    if (take > 0) {
      listFleet(now);
      if (tickNotes.length < 200) tickNotes.push(`${(now / 1000).toFixed(0)}s sim: Spot reclaim of ${pools[p]!.instanceType} in ${pools[p]!.az}: ${take} VM(s), ${noticeMs / 1000} s notice`);
    }
  };
  const scheduleReclaims = (): void => {
    if (spotOpts.replay) {
      for (const e of spotOpts.replay) {
        const p = poolIdx.get(`${e.instanceType}@${e.az}`);
        if (p === undefined) throw new SimConfigError(`spot.replay: no Spot pool ${e.instanceType} in ${e.az} (known: ${[...poolIdx.keys()].join(', ') || 'none'})`);
        if (e.atMs >= 0 && e.atMs < endMs) heap.push(e.atMs, EV_SPOT_RECLAIM, p);
      }
      return;
    }
    pools.forEach((pool, p) => {
      if (!(pool.perMs > 0)) return;
      for (let t = reclaimRng.exponential(pool.perMs); t < endMs; t += reclaimRng.exponential(pool.perMs)) heap.push(t, EV_SPOT_RECLAIM, p);
    });
  };

  // ---- Lambda mechanics ----
  const invokeLambda = (r: number, vi: number, memoryMb: number, now: number): boolean => {
    if (lambdaInFlight >= lambdaLimit) return false;
    if (memByVariant[vi] === 0) setMemory(vi, memoryMb);
    rqHostWarm[r] = host.lambda.started(variants[vi]!.name, now, true) ? 1 : 0;
    expireWarm(vi, now);
    let cold = 0;
    if (warmLen[vi]! > 0) {
      warmHead[vi] = (warmHead[vi]! - 1 + warmTimes[vi]!.length) & (warmTimes[vi]!.length - 1);
      warmLen[vi] = warmLen[vi]! - 1;
    } else {
      cold = 1;
      coldStarts++;
    }
    const v = variants[vi]!;
    const serviceMs =
      v.lambdaExtraSamples === undefined
        ? Math.max(0.1, lambdaLatencyMs(v.model, 1, vcpuByVariant[vi]!) * v.trueMult + v.lambdaExtraMs) * drawNoise(v.sigma)
        : Math.max(0.1, lambdaLatencyMs(v.model, 1, vcpuByVariant[vi]!) * v.trueMult + drawSamples(v.lambdaExtraSamples, 1));
    const initMs = cold ? drawColdMs(vi) : 0;
    const mem = memByVariant[vi]!;
    const billedMs = lambdaBilledDurationMs(catalog, serviceMs + (opts.lambdaBilledOverheadMs ?? 0), opts.billLambdaInit ? initMs : 0);
    lambdaComputeUsd += lambdaComputeCostUsd(catalog, lambdaGbSeconds(mem, billedMs), env.lambdaArch);
    lambdaRequests++;
    lambdaInFlight++;
    rqMem[r] = mem;
    rqCold[r] = cold;
    rqStart[r] = serviceMs;
    rqGen[r] = memGen[vi]!;
    heap.push(now + lambdaTransportMs + initMs + serviceMs, EV_LAMBDA_DONE, r);
    return true;
  };

  const lambdaDone = (r: number, now: number): void => {
    const vi = rqVariant[r]!;
    lambdaInFlight--;
    if (rqGen[r] === memGen[vi]) pushWarm(vi, now - lambdaTransportMs / 2);
    host.lambda.ended(variants[vi]!.name, now, true, rqHostWarm[r] === 1);
    lambdaServed++;
    const b = bucketOf(rqArrival[r]!);
    bLambda[b] = bLambda[b]! + 1;
    const cold = rqCold[r] === 1;
    complete(r, now, 'lambda', String(rqMem[r]), undefined, rqStart[r]!, cold);
    freeReq(r);
  };

  // A warm-up the host asked for (a reject's `warm`, the warm pool): like any invoke it lands on an
  // idle warm instance if there is one (a 1 ms invoke that renews its keep-alive); otherwise a new
  // instance starts without a request, pays its INIT (billed like any cold start) and a 1 ms
  // invoke, and is then idle-warm.
  const warmUpVariant: number[] = [];
  const warmUpGen: number[] = [];
  const startWarmUp = (variant: string, memoryMb: number, now: number): void => {
    const vi = variantIdx.get(variant);
    if (vi === undefined || lambdaInFlight >= lambdaLimit) {
      host.warmUpEnded(variant, now, false);
      return;
    }
    if (memByVariant[vi] === 0) setMemory(vi, memoryMb);
    expireWarm(vi, now);
    let initMs = 0;
    if (warmLen[vi]! > 0) {
      warmHead[vi] = (warmHead[vi]! - 1 + warmTimes[vi]!.length) & (warmTimes[vi]!.length - 1);
      warmLen[vi] = warmLen[vi]! - 1;
    } else {
      initMs = drawColdMs(vi);
      coldStarts++;
    }
    const billedMs = lambdaBilledDurationMs(catalog, 1, opts.billLambdaInit ? initMs : 0);
    lambdaComputeUsd += lambdaComputeCostUsd(catalog, lambdaGbSeconds(memByVariant[vi]!, billedMs), env.lambdaArch);
    lambdaRequests++;
    lambdaInFlight++;
    const w = warmUpVariant.length;
    warmUpVariant.push(vi);
    warmUpGen.push(memGen[vi]!);
    heap.push(now + lambdaTransportMs + initMs + 1, EV_LAMBDA_WARMED, w);
  };
  const warmUpDone = (w: number, now: number): void => {
    const vi = warmUpVariant[w]!;
    lambdaInFlight--;
    const ran = warmUpGen[w] === memGen[vi];
    if (ran) pushWarm(vi, now - lambdaTransportMs / 2);
    host.warmUpEnded(variants[vi]!.name, now, ran);
  };

  // ---- requests waiting for a Lambda instance ('wait' decisions) ----
  // Per variant, FIFO pairs (request, its wait's end); an entry is stale once that request's wait
  // ended (released, expired). An invoke's end that leaves a warm instance idle releases the
  // oldest waiter of its variant, after the event that freed it (host.lambda.onWarmFreed is called
  // inside ended()); the waiter is routed again with what is left of its SLO.
  const waitQ: number[][] = variants.map(() => []);
  const freedVariants: number[] = [];
  let lambdaWaits = 0;
  let lambdaWaitsExpired = 0;
  host.lambda.onWarmFreed = (variant) => {
    const vi = variantIdx.get(variant);
    if (vi !== undefined) freedVariants.push(vi);
  };
  const releaseWaiters = (now: number): void => {
    for (let f = 0; f < freedVariants.length; f++) {
      const q = waitQ[freedVariants[f]!]!;
      while (q.length > 0) {
        const r = q.shift()!;
        const until = q.shift()!;
        if (rqWaitUntil[r] !== until) continue; // stale
        rqWaitUntil[r] = -1;
        rqWaited[r] = rqWaited[r]! + now;
        host.lambda.waitEnded(variants[rqVariant[r]!]!.name);
        routeOne(r, now, false);
        break;
      }
    }
    freedVariants.length = 0;
  };
  const waitExpired = (r: number, now: number): void => {
    if (rqWaitUntil[r] !== now) return; // released before its end (or a later wait of a reused slot)
    rqWaitUntil[r] = -1;
    host.lambda.waitEnded(variants[rqVariant[r]!]!.name);
    lambdaWaitsExpired++;
    reject(r);
  };

  // ---- routing one arrival ----
  let lastVariantName = '';
  let lastVariantIdx = 0;
  const routeOne = (r: number, now: number, retry: boolean): void => {
    routeReq.nowMs = now;
    // What is left of the SLO: all of it for a new arrival, less the wait for a released waiter.
    routeReq.budgetMs = rqDeadline[r]! - now;
    const d = retry ? host.route(routeReq) : host.reroute(routeReq);
    if (d.kind === 'reject') {
      if (d.warm) startWarmUp(d.warm.variant, d.warm.memoryMb, now);
      reject(r);
      return;
    }
    // Policies return the same interned name strings: a one-entry cache skips the Map lookup.
    let vi: number | undefined;
    if (d.variant === lastVariantName) vi = lastVariantIdx;
    else {
      vi = variantIdx.get(d.variant);
      if (vi !== undefined) {
        lastVariantName = d.variant;
        lastVariantIdx = vi;
      }
    }
    if (vi === undefined) {
      reject(r);
      return;
    }
    rqVariant[r] = vi;
    if (d.kind === 'wait') {
      if (d.warm) startWarmUp(d.warm.variant, d.warm.memoryMb, now);
      const until = now + Math.max(0, d.maxWaitMs);
      rqWaitUntil[r] = until;
      rqWaited[r] = rqWaited[r]! - now;
      waitQ[vi]!.push(r, until);
      host.lambda.waitStarted(d.variant);
      lambdaWaits++;
      heap.push(until, EV_WAIT_EXPIRE, r);
      return;
    }
    if (d.kind === 'vm') {
      const vm = vmById.get(d.vmId);
      // A VM that is not serving (booting, stopped) refuses the connection: like the real router
      // seeing BackendUnavailableError, the request fails (policies must route to ready VMs).
      if (!vm || vm.state !== VM_READY || !enqueueVm(vm, r, now)) reject(r);
      return;
    }
    if (!invokeLambda(r, vi, d.memoryMb, now)) {
      throttled++;
      host.lambda.throttled(now);
      if (retry) routeOne(r, now, false);
      else reject(r);
    }
  };

  // ---- tick: the host decides, the world carries out what the limits allow ----
  const applyActions = (actions: TickActions, now: number): void => {
    for (const { variant, memoryMb } of actions.setMemory) {
      const vi = variantIdx.get(variant);
      if (vi !== undefined) setMemory(vi, memoryMb);
    }
    for (const l of actions.launch) {
      const launched: FleetRecord[] = [];
      for (let k = 0; k < l.count; k++) {
        const vm = launchVm(l.instanceType, l.variant, now);
        if (vm) launched.push(recordOf(vm));
      }
      host.launchConfirmed(l, launched, now);
    }
    for (const id of actions.terminate) {
      const vm = vmById.get(id);
      if (vm) terminateVm(vm, now);
    }
    listFleet(now);
    for (const w of actions.warmUp) for (let k = 0; k < w.count; k++) startWarmUp(w.variant, w.memoryMb, now);
  };

  const doTick = (now: number): void => {
    for (let vi = 0; vi < variants.length; vi++) expireWarm(vi, now);
    const { decision, actions } = host.tick(now);
    applyActions(actions, now);
    if (Number.isFinite(decision.forecastRps)) lastForecast = decision.forecastRps;
    for (const n of [...decision.notes, ...actions.notes]) if (tickNotes.length < 200) tickNotes.push(`${(now / 1000).toFixed(0)}s ${n}`);
    opts.onProgress?.(now, endMs);
  };

  // A policy whose VMs are not plain EC2 (Lambda Managed Instances): price factor on the EC2 bill,
  // and a request fee per request its VMs serve (billed as Lambda requests).
  const vmPriceFactor = policy.vmBilling?.priceFactor ?? 1;
  const vmRequestFeesUsd = (): number =>
    policy.vmBilling ? ((served - lambdaServed) * policy.vmBilling.requestFeeUsdPerMillion) / 1e6 : 0;
  // Cost so far (for the cumulative series): EC2 run time so far, minimum applied at stop.
  const costSoFar = (now: number): number => {
    let ec2 = 0;
    for (const vm of vms) {
      const stop = vm.state === VM_STOPPED ? vm.stopAtMs : now;
      ec2 += vm.state === VM_STOPPED
        ? vmBilledSeconds(catalog, stop - vm.launchedAtMs) * (vm.pricePerHourUsd / 3600)
        : ((stop - vm.launchedAtMs) / 3_600_000) * vm.pricePerHourUsd;
    }
    return ec2 * vmPriceFactor + lambdaComputeUsd + lambdaRequestFeesUsd(catalog, lambdaRequests) + vmRequestFeesUsd();
  };

  const sample = (now: number): void => {
    // Bucket that just ended.
    const b = Math.round(now / opts.seriesIntervalMs) - 1;
    if (b < 0 || b >= nBuckets) return;
    let count = 0;
    let cap = 0;
    for (const vm of vms) {
      if (vm.state === VM_STOPPED) continue;
      count++;
      if (vm.state === VM_READY) cap += vm.capacityRps / vm.interference;
    }
    series.tMin.push((b * opts.seriesIntervalMs) / 60_000);
    series.loadRps.push(bArrivals[b]! / (opts.seriesIntervalMs / 1000));
    series.vmCapacityRps.push(cap);
    series.vmCount.push(count);
    series.cumulativeCostUsd.push(costSoFar(now));
    series.forecastRps.push(lastForecast);
  };

  // ---- main loop ----
  const stepMs = trace.stepS * 1000;
  const rates = trace.rps;
  let stepIdx = 0;
  let stepEnd = stepMs;
  let ratePerMs = (rates[0] ?? 0) / 1000;
  // Next arrival after t, Poisson at the piecewise-constant rate (restart the draw at each step end).
  const given = opts.arrivalTimesMs;
  let givenIdx = 0;
  const nextArrival = (t: number): number => {
    if (given) {
      while (givenIdx < given.length) {
        const a = given[givenIdx++]!;
        if (a >= endMs) break;
        if (a >= t) return a;
      }
      return Number.POSITIVE_INFINITY;
    }
    for (;;) {
      if (stepIdx >= rates.length) return Number.POSITIVE_INFINITY;
      if (ratePerMs > 0) {
        const c = t + arrivalRng.exponential(ratePerMs);
        if (c < stepEnd) return c;
      }
      t = stepEnd;
      stepIdx++;
      stepEnd += stepMs;
      ratePerMs = (rates[stepIdx] ?? 0) / 1000;
    }
  };

  if (opts.prewarm) {
    // The system was running before the window: policies see `preHistoryTicks` past ticks at the
    // mean rate of the first tick interval (a 1 s trace's first second alone is too noisy).
    const first = Math.max(1, Math.min(rates.length, Math.round(env.tickIntervalMs / stepMs)));
    let sum = 0;
    for (let i = 0; i < first; i++) sum += rates[i]!;
    host.seedHistory(sum / first, opts.preHistoryTicks);
  }
  for (let t = env.tickIntervalMs; t < endMs; t += env.tickIntervalMs) heap.push(t, EV_TICK, 0);
  scheduleReclaims();
  for (let t = opts.seriesIntervalMs; t <= endMs + 1e-6; t += opts.seriesIntervalMs) heap.push(t, EV_SAMPLE, 0);
  // A first tick at t=0 lets the policy buy its initial fleet.
  if (opts.lambdaMemoryMb !== undefined) for (let vi = 0; vi < variants.length; vi++) setMemory(vi, opts.lambdaMemoryMb);
  doTick(0);
  if (opts.lambdaWarmAtStart) {
    // As loop/warm-up.ts warmAtStart: top every variant up to n instances (idle + busy).
    for (let vi = 0; vi < variants.length; vi++) {
      const name = variants[vi]!.name;
      const mem = memByVariant[vi]! || opts.lambdaMemoryMb || catalog.lambda.minMemoryMb;
      const have = host.lambda.idleOf(name, 0).idle + host.lambda.burstInput(name, 0).inFlight;
      for (let k = have; k < opts.lambdaWarmAtStart; k++) {
        if (!host.claimWarmUpSlot(name, 0)) break;
        startWarmUp(name, mem, 0);
      }
    }
  }

  let tArr = nextArrival(0);
  for (;;) {
    const tEv = heap.peekTime();
    if (tArr <= tEv) {
      if (tArr === Number.POSITIVE_INFINITY) break;
      const now = tArr;
      requests++;
      const b = bucketOf(now);
      bArrivals[b] = bArrivals[b]! + 1;
      if (arrivalsPerSecond) {
        const s = Math.floor(now / 1000);
        if (s < arrivalsPerSecond.length) arrivalsPerSecond[s] = arrivalsPerSecond[s]! + 1;
      }
      const r = allocReq();
      rqArrival[r] = now;
      rqDeadline[r] = now + sloMs;
      rqWaited[r] = 0;
      routeOne(r, now, true);
      tArr = nextArrival(now);
      continue;
    }
    const kind = heap.peekKind();
    const payload = heap.peekPayload();
    heap.pop();
    const now = tEv;
    switch (kind) {
      case EV_VM_DONE: {
        const vm = vms[Math.floor(payload / SLOT_SHIFT)]!;
        finishVmBatch(vm, payload % SLOT_SHIFT, now);
        break;
      }
      case EV_LAMBDA_DONE:
        lambdaDone(payload, now);
        if (freedVariants.length > 0) releaseWaiters(now);
        break;
      case EV_LAMBDA_WARMED:
        warmUpDone(payload, now);
        if (freedVariants.length > 0) releaseWaiters(now);
        break;
      case EV_WAIT_EXPIRE:
        waitExpired(payload, now);
        break;
      case EV_TICK:
        doTick(now);
        break;
      case EV_VM_READY: {
        const vm = vms[payload]!;
        if (now <= endMs) vmReady(vm, now);
        break;
      }
      case EV_SAMPLE:
        sample(now);
        break;
      case EV_SPOT_RECLAIM:
        reclaimPool(payload, now);
        break;
      case EV_SPOT_KILL: {
        const vm = vms[payload]!;
        if (vm.state !== VM_STOPPED) stopVm(vm, now); // what is left at the end of the notice is lost
        break;
      }
    }
  }

  for (let b = 0; b < latencyBins.length; b++) {
    const n = latencyBins[b]!;
    if (n > 0) hist.recordValueWithCount(b * BIN_US, n);
  }

  // ---- finish: everything still running stops at the end of the trace ----
  let ec2Usd = 0;
  let vmRunMs = 0;
  let spotVmRunMs = 0;
  let busyMs = 0;
  let slotReadyMs = 0;
  for (const vm of vms) {
    if (vm.state !== VM_STOPPED) {
      if (vm.state === VM_READY || vm.state === VM_DRAINING) vm.readyMs += Math.max(0, endMs - vm.readyAtMs);
      vm.stopAtMs = Math.max(vm.launchedAtMs, endMs);
      vm.state = VM_STOPPED;
    }
    const run = vm.stopAtMs - vm.launchedAtMs;
    vmRunMs += run;
    ec2Usd += vmBilledSeconds(catalog, run) * (vm.pricePerHourUsd / 3600) * vmPriceFactor;
    if (vm.pool >= 0) spotVmRunMs += run;
    busyMs += vm.busyMs;
    slotReadyMs += vm.readyMs * vm.slots;
  }
  const lambdaRequestsUsd = lambdaRequestFeesUsd(catalog, lambdaRequests) + vmRequestFeesUsd();
  for (let b = 0; b < series.tMin.length; b++) {
    series.lambdaShare.push(bServed[b]! > 0 ? bLambda[b]! / bServed[b]! : 0);
    const all = bArrivals[b]!;
    series.violationRate.push(all > 0 ? bViol[b]! / all : 0);
  }
  variants.forEach((v, vi) => {
    const arr: number[] = [];
    for (let b = 0; b < series.tMin.length; b++) arr.push(bServed[b]! > 0 ? bVariant[vi]![b]! / bServed[b]! : 0);
    series.variantShare[v.name] = arr;
  });
  const violations = late + rejected;
  const wallMs = performance.now() - wallStart;
  const byVariant: Record<string, number> = {};
  variants.forEach((v, i) => {
    if (servedByVariant[i]! > 0) byVariant[v.name] = servedByVariant[i]!;
  });
  return {
    policy: policy.name,
    trace: trace.name,
    synthetic: trace.synthetic,
    simulatedS: trace.durationS,
    requests,
    served,
    late,
    rejected,
    throttled,
    violations,
    violationRate: requests > 0 ? violations / requests : 0,
    p50Ms: served > 0 ? hist.getValueAtPercentile(50) / 1000 : 0,
    p99Ms: served > 0 ? hist.getValueAtPercentile(99) / 1000 : 0,
    meanMs: served > 0 ? sumLatency / served : 0,
    avgAccuracy: accCount > 0 ? accSum / accCount : null,
    lambdaShare: served > 0 ? lambdaServed / served : 0,
    cost: {
      ec2Usd,
      lambdaComputeUsd,
      lambdaRequestsUsd,
      totalUsd: ec2Usd + lambdaComputeUsd + lambdaRequestsUsd,
    },
    vmHours: vmRunMs / 3_600_000,
    vmUtilisation: slotReadyMs > 0 ? busyMs / slotReadyMs : 0,
    vmLaunches,
    coldStarts,
    lambdaWaits: { waited: lambdaWaits, expired: lambdaWaitsExpired },
    servedByVariant: byVariant,
    vmTimeline: vms.map((vm) => ({
      id: vm.id,
      variant: variants[vm.variantIdx]!.name,
      launchedAtMs: vm.launchedAtMs,
      ...(vm.readyMs > 0 || vm.readyAtMs > 0 ? { readyAtMs: vm.readyAtMs } : {}),
      stoppedAtMs: vm.stopAtMs,
    })),
    series,
    arrivalsPerSecond,
    wallMs,
    requestsPerWallSecond: wallMs > 0 ? (requests / wallMs) * 1000 : 0,
    tickNotes,
    spot: { reclaims, fallbacks, spotVmHours: spotVmRunMs / 3_600_000 },
  };
}
