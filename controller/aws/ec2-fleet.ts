/**
 * Ec2Fleet: the VM pool over @aws-sdk/client-ec2. Instances are launched from one launch template
 * per instance type (name pattern '{fleet}-{instanceType}' by default, created by infra/), tagged
 * spillway:fleet / spillway:variant / spillway:instance-type / spillway:client-token, tracked
 * with DescribeInstances filtered by the fleet tag, and adopted after a controller restart
 * (describe() picks up every running tagged instance instead of launching again).
 *
 * Capacity: InsufficientInstanceCapacity is per Availability Zone, so a launch first tries the
 * other subnets (one per AZ in the CDK VPC) with the same type, then the next-cheapest catalog type
 * with the same or more vCPUs; throttling (RequestLimitExceeded) retries the same type up to 3
 * times; full-jitter exponential backoff between attempts. MinCount is 1: EC2 launches what it has
 * (up to MaxCount = the count asked) and the caller counts what came. An account quota
 * (VcpuLimitExceeded, InstanceLimitExceeded, MaxSpotInstanceCountExceeded) is no capacity problem
 * another type or AZ would fix: LaunchQuotaError at once (the policy host backs off).
 *
 * Eventual consistency (EC2 API reference, "Eventual consistency"): a tag-filtered
 * DescribeInstances may omit a just-launched instance. An instance missing from the listing is
 * asked for by id and dropped only as core/unlisted-vm.ts decides (launched here: kept 120 s while
 * NotFound). A `stopped` (or `stopping`) fleet instance serves nothing but keeps its EBS volume and
 * ENI: it is terminated, not forgotten. Slots follow how the VM runs the server (core/vm-layout.ts).
 * Provisioning latency (RunInstances request -> /readyz 200) is measured per instance type.
 *
 * Spot: a LaunchSpec of `<type>:spot` runs `<type>` with InstanceMarketOptions spot (one-time,
 * terminate, no MaxPrice: capped at on-demand), tagged spillway:market=spot; describe() maps an
 * instance with that tag or InstanceLifecycle 'spot' back to `<type>:spot`. Capacity errors try the
 * other subnets, then the same type on-demand (launch-order.ts); the record's instanceType is what
 * was bought. A reclaim seen in the describe (a Spot request status `marked-for-termination` or
 * `instance-terminated-*`, a StateReason Server.SpotInstanceTermination, or shutting-down) makes
 * the record 'terminating': the router stops sending to it and the policy replaces it.
 * A ready Spot instance keeps being probed each describe(); when its server reports EC2's
 * interruption notice (/readyz 503 'spot-notice'), it turns 'terminating' too (core/vm-readiness.ts,
 * the rule the local fleet applies). With `spotNotices` (the EventBridge warning through SQS,
 * spot-notice-queue.ts, as AWS recommends) the warning makes it 'terminating' on the next describe.
 */
import { createHash } from 'node:crypto';
import {
  DescribeInstancesCommand,
  DescribeSpotInstanceRequestsCommand,
  EC2Client,
  type Instance,
  type _InstanceType,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { type Catalog, ec2TypeOf, isSpotType, loadCatalog, SPOT_SUFFIX } from '../../profiles/catalog.js';
import { ConfigError, LaunchQuotaError, LaunchTokenSpentError } from '../errors.js';
import { type ByIdAnswer, keepUnlistedVm, UNLISTED_VM_GRACE_MS } from '../core/unlisted-vm.js';
import { vmServerLayout } from '../core/vm-layout.js';
import { type ReadinessAnswer, readinessAnswerOf, stateAfterReadiness } from '../core/vm-readiness.js';
import type { LaunchSpec, VmFleetPort, VmRecord } from '../ports.js';
import { type AwsClientOptions, resolveClientConfig } from './client-config.js';
import { FleetCapacityError, FleetLaunchError, LaunchTemplateMissingError } from './errors.js';
import {
  CAPACITY_CODES,
  type FailedAttempt,
  isSpotReclaimStateReason,
  isSpotReclaimStatus,
  type LaunchAttempt,
  nextLaunchAttempt,
  SPOT_MARKET_OPTIONS,
  THROTTLE_CODES,
} from './launch-order.js';
import { type BackoffOptions, fullJitterDelayMs, sdkErrorCode, sleepMs } from './retry.js';
import type { SpotNotice, SpotNoticeSource } from './spot-warning-event.js';

export const TAG_FLEET = 'spillway:fleet';
export const TAG_VARIANT = 'spillway:variant';
export const TAG_INSTANCE_TYPE = 'spillway:instance-type';
export const TAG_CLIENT_TOKEN = 'spillway:client-token';
/** The launching planner's lease fence (issue 12: coord/fenced-fleet.ts), when it ran under a lease. */
export const TAG_FENCE = 'spillway:fence';

/** 'spot' on instances bought on the Spot market (describe() maps them to `<type>:spot`). */
export const TAG_MARKET = 'spillway:market';
/** Account quotas: no other type or AZ helps, and neither does retrying soon. */
export const QUOTA_CODES = new Set(['VcpuLimitExceeded', 'InstanceLimitExceeded', 'MaxSpotInstanceCountExceeded']);

export interface ReadinessTarget {
  id: string;
  instanceType: string;
  endpoint: string;
}
/**
 * What the VM's inference server says: ready (true), not yet (false), or the full answer
 * (core/vm-readiness.ts: ready, not-ready or spot-notice); must not throw.
 */
export type ReadinessProber = (vm: ReadinessTarget) => Promise<boolean | ReadinessAnswer>;

/** Default prober: GET <endpoint>/readyz, 2 s timeout, read by readinessAnswerOf (200 ready; 503 'spot-notice'). */
export function httpReadinessProber(timeoutMs = 2000): ReadinessProber {
  return async (vm) => {
    try {
      const res = await fetch(`${vm.endpoint}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return readinessAnswerOf(res.status, body);
    } catch {
      return { kind: 'not-ready' };
    }
  };
}

const asAnswer = (a: boolean | ReadinessAnswer): ReadinessAnswer =>
  typeof a === 'boolean' ? { kind: a ? 'ready' : 'not-ready' } : a;

export interface Ec2FleetOptions extends AwsClientOptions {
  /** Use this client instead of building one. */
  client?: EC2Client;
  /** Value of the spillway:fleet tag; everything this fleet owns carries it. */
  fleetName: string;
  /** Launch template name pattern; {fleet} and {instanceType} are replaced. @default '{fleet}-{instanceType}' */
  launchTemplatePattern?: string;
  /** Instance types that have a launch template (fallback candidates). @default every catalog type */
  instanceTypes?: readonly string[];
  /** @default profiles/catalog.json */
  catalog?: Catalog;
  /** @default httpReadinessProber() on http://<privateIp>:<serverPort> */
  readinessProber?: ReadinessProber;
  /** Port of the VM inference server. @default 8081 */
  serverPort?: number;
  /** Service slots per instance. @default core/vm-layout.ts: one server, threads = vCPUs, 1 slot */
  slotsFor?: (instanceType: string) => number;
  /** How long an instance launched here survives missing from the listing. @default 120 000 (core/unlisted-vm.ts) */
  unlistedGraceMs?: number;
  /** Subnets to launch into, round-robin (the template has none). @default the template's/default VPC */
  subnetIds?: readonly string[];
  /** Throttled attempts on one type before moving to the next. @default 3 */
  maxAttemptsPerType?: number;
  /** @default base 200 ms, cap 5 s */
  backoff?: BackoffOptions;
  /** @default Date.now */
  now?: () => number;
  /** @default real setTimeout sleep */
  sleep?: (ms: number) => Promise<void>;
  /** Where launch fallbacks are reported (pino-compatible). @default none */
  log?: { warn(fields: object, msg: string): void };
  /** EC2's Spot warnings from EventBridge (spot-notice-queue.ts), drained on every describe(). @default none */
  spotNotices?: SpotNoticeSource;
  /**
   * While `spotNotices` answers, the DescribeSpotInstanceRequests fallback runs this often instead
   * of on every describe() (one EC2 call per tick, 86,400 a day, for what the queue already says).
   * @default 30 000
   */
  spotDescribeFallbackMs?: number;
}

/**
 * A notice about an instance this fleet does not track (yet) is kept this long: EC2 may list a new
 * instance late (eventual consistency), and the warning may come before it is listed. Notices about
 * other fleets' instances in the account expire with it. Worked number: the notice's 120 s plus a
 * minute of listing delay.
 */
export const HELD_SPOT_NOTICE_MS = 180_000;

interface Tracked {
  record: VmRecord;
  privateIp?: string;
  /** Launched by this process: its readiness time measures provisioning latency. */
  launchedHere: boolean;
  /** A Spot instance: probed while ready too, for EC2's interruption notice. */
  spot?: boolean;
}

export class Ec2Fleet implements VmFleetPort {
  readonly client: EC2Client;
  private readonly catalog: Catalog;
  private readonly pattern: string;
  private readonly typeNames: readonly string[];
  private readonly prober: ReadinessProber;
  private readonly serverPort: number;
  private readonly maxAttemptsPerType: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly tracked = new Map<string, Tracked>();
  private readonly bootDelays = new Map<string, number[]>();
  /** Spot notices about instances not tracked yet, with when they were received. */
  private readonly heldNotices = new Map<string, { notice: SpotNotice; receivedAtMs: number }>();
  private lastSpotDescribeMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: Ec2FleetOptions) {
    if (!opts.fleetName || !/^[A-Za-z0-9._-]{1,64}$/.test(opts.fleetName)) {
      throw new ConfigError(`Ec2Fleet fleetName must match [A-Za-z0-9._-]{1,64}, got '${opts.fleetName}'`);
    }
    this.catalog = opts.catalog ?? loadCatalog();
    this.pattern = opts.launchTemplatePattern ?? '{fleet}-{instanceType}';
    const known = new Set(this.catalog.ec2.instanceTypes.map((t) => t.name));
    this.typeNames = opts.instanceTypes ?? [...known];
    for (const t of this.typeNames) {
      // `c5.large:spot` is c5.large's launch template with Spot market options.
      if (!known.has(ec2TypeOf(t))) {
        throw new ConfigError(`Ec2Fleet instanceTypes: '${t}' is not in the catalog (${[...known].join(', ')})`);
      }
    }
    this.serverPort = opts.serverPort ?? 8081;
    this.maxAttemptsPerType = opts.maxAttemptsPerType ?? 3;
    this.prober = opts.readinessProber ?? httpReadinessProber();
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => sleepMs(ms));
    this.client = opts.client ?? new EC2Client({ ...resolveClientConfig(opts), maxAttempts: 2 });
  }

  launchTemplateName(instanceType: string): string {
    return this.pattern.replaceAll('{fleet}', this.opts.fleetName).replaceAll('{instanceType}', instanceType);
  }

  /**
   * The requested type first, then every other allowed catalog type with at least as many vCPUs,
   * cheapest first. E.g. c5.large (2 vCPU, $0.085/h) -> c6g.large $0.068, c7g.large $0.0725,
   * m5.large $0.096, c5.xlarge $0.17, c5.2xlarge $0.34. On-demand types only: `c5.large:spot`
   * gives the same list (its on-demand fallbacks, launch-order.ts).
   */
  fallbackOrder(planned: string): string[] {
    const instanceType = ec2TypeOf(planned);
    const types = this.catalog.ec2.instanceTypes;
    const want = types.find((t) => t.name === instanceType);
    if (!want) throw new ConfigError(`instanceType '${instanceType}' is not in the catalog`);
    const rest = types
      .filter((t) => t.name !== instanceType && !t.spotOf && this.typeNames.includes(t.name) && t.vcpu >= want.vcpu)
      .sort((a, b) => a.pricePerHourUsd - b.pricePerHourUsd || a.vcpu - b.vcpu);
    return [instanceType, ...rest.map((t) => t.name)];
  }

  async launch(spec: LaunchSpec): Promise<VmRecord[]> {
    if (!Number.isInteger(spec.count) || spec.count < 1 || spec.count > 100) {
      throw new ConfigError(`launch count must be an integer in 1..100, got ${spec.count}`);
    }
    if (!spec.clientToken) throw new ConfigError('launch clientToken must be a non-empty string');
    // Idempotency first: instances already carrying this token are the answer (a retried
    // launch after a timeout or a controller restart must not buy a second set).
    const existing = await this.findByToken(spec.clientToken);
    if (existing.length > 0) return existing.map((t) => t.record);

    const failed: FailedAttempt[] = [];
    let lastErr: unknown;
    const order = {
      requested: spec.instanceType,
      onDemandTypes: this.fallbackOrder(spec.instanceType),
      subnets: this.subnetOrder(spec.clientToken),
      maxThrottledPerStage: this.maxAttemptsPerType,
    };
    for (let next = nextLaunchAttempt(order, failed); next.kind === 'attempt'; next = nextLaunchAttempt(order, failed)) {
      const { attempt, step } = next;
      if (step !== 'first' && step !== 'retry-throttled') {
        const prev = failed[failed.length - 1]!;
        this.opts.log?.warn(
          { variant: spec.variant, requested: spec.instanceType, step, from: describeAttempt(prev), code: prev.code, to: describeAttempt(attempt) },
          `launch ${spec.variant} ${spec.instanceType}: ${prev.code} on ${describeAttempt(prev)}, trying ${describeAttempt(attempt)} (${step})`,
        );
      }
      const instanceType = attempt.instanceType;
      try {
        return await this.runInstances(spec, attempt);
      } catch (err) {
        const code = sdkErrorCode(err);
        if (code.startsWith('InvalidLaunchTemplateName') || code === 'InvalidLaunchTemplateId.NotFound') {
          throw new LaunchTemplateMissingError(
            `no launch template '${this.launchTemplateName(instanceType)}' for ${instanceType} (deploy infra/ first)`,
            { cause: err },
          );
        }
        if (QUOTA_CODES.has(code)) {
          throw new LaunchQuotaError(
            `RunInstances ${instanceType}${attempt.market === 'spot' ? SPOT_SUFFIX : ''} x${spec.count} refused by an account quota: ${code}: ${(err as Error).message}`,
            code,
            { cause: err },
          );
        }
        if (code === 'IdempotentParameterMismatch') {
          // This token already bought instances with another count: they show up in the
          // listing (tagged with it) and the policy host moves on to the next token.
          throw new LaunchTokenSpentError(
            `client token '${spec.clientToken}' already launched ${instanceType} with other parameters; not launching again`,
            { cause: err },
          );
        }
        if (!CAPACITY_CODES.has(code) && !THROTTLE_CODES.has(code)) {
          throw new FleetLaunchError(`RunInstances ${instanceType} x${spec.count} failed: ${code}`, { cause: err });
        }
        failed.push({ ...attempt, code });
        lastErr = err;
        // Capacity is per type, market and AZ: the next subnet (AZ) at once. Throttling is
        // account-wide and may clear: the same call again, then the next stage (launch-order.ts).
        await this.sleep(fullJitterDelayMs(failed.length - 1, { baseMs: 200, capMs: 5000, ...this.opts.backoff }));
      }
    }
    const attempts = failed.map((f) => ({
      instanceType: f.market === 'spot' ? `${f.instanceType}${SPOT_SUFFIX}` : f.instanceType,
      code: f.code,
      ...(f.subnetId ? { subnetId: f.subnetId } : {}),
    }));
    throw new FleetCapacityError(
      `no capacity for ${spec.variant} on ${spec.instanceType} or its fallbacks: ${attempts
        .map((a) => `${a.instanceType}${a.subnetId ? `@${a.subnetId}` : ''}:${a.code}`)
        .join(', ')}`,
      attempts,
      { cause: lastErr },
    );
  }

  /**
   * Subnets in the order a launch tries them: the token's own first (a retried launch repeats its
   * exact parameters; EC2 rejects a reused ClientToken with different ones), then the others in
   * list order from there. E.g. subnets [a, b, c], token hashing to 1 -> b, c, a. No subnets ->
   * one attempt without SubnetId (the template's or the default VPC's).
   */
  private subnetOrder(clientToken: string): Array<string | undefined> {
    const subnets = this.opts.subnetIds ?? [];
    if (subnets.length === 0) return [undefined];
    const first = createHash('sha256').update(clientToken).digest().readUInt32BE(0) % subnets.length;
    return subnets.map((_, i) => subnets[(first + i) % subnets.length]!);
  }

  private async runInstances(spec: LaunchSpec, attempt: LaunchAttempt): Promise<VmRecord[]> {
    const { instanceType, subnetId } = attempt;
    const spot = attempt.market === 'spot';
    const requestedAtMs = this.now();
    const tags = [
      { Key: TAG_FLEET, Value: this.opts.fleetName },
      { Key: TAG_VARIANT, Value: spec.variant },
      { Key: TAG_INSTANCE_TYPE, Value: instanceType },
      { Key: TAG_CLIENT_TOKEN, Value: spec.clientToken },
      ...(spec.fence !== undefined ? [{ Key: TAG_FENCE, Value: String(spec.fence) }] : []),
      ...(spot ? [{ Key: TAG_MARKET, Value: 'spot' }] : []),
    ];
    const out = await this.client.send(
      new RunInstancesCommand({
        ...(subnetId ? { SubnetId: subnetId } : {}),
        LaunchTemplate: { LaunchTemplateName: this.launchTemplateName(instanceType), Version: '$Default' },
        InstanceType: instanceType as _InstanceType,
        ...(spot ? { InstanceMarketOptions: SPOT_MARKET_OPTIONS } : {}),
        // Whatever EC2 has, up to the count: 3 of 4 now beats 0 of 4 and a retry next tick.
        MinCount: 1,
        MaxCount: spec.count,
        // EC2 ClientToken: <= 64 ASCII chars, one per parameter set (a fallback type or subnet gets
        // its own, derived from the caller's) and per fleet (tokens are account-wide).
        ClientToken: ec2ClientToken(
          `${this.opts.fleetName}:${spec.clientToken}`,
          `${instanceType}${spot ? SPOT_SUFFIX : ''}${subnetId ? `@${subnetId}` : ''}`,
        ),
        TagSpecifications: [
          { ResourceType: 'instance', Tags: tags },
          { ResourceType: 'volume', Tags: tags },
        ],
      }),
    );
    return (out.Instances ?? []).map((inst) => {
      const t = this.track(inst, true);
      t.record.launchedAtMs = requestedAtMs;
      return t.record;
    });
  }

  private async findByToken(clientToken: string): Promise<Tracked[]> {
    const local = [...this.tracked.values()].filter(
      (t) => t.record.state !== 'terminated' && this.tokenOf.get(t.record.id) === clientToken,
    );
    if (local.length > 0) return local;
    const found = await this.describeRaw([
      { Name: `tag:${TAG_CLIENT_TOKEN}`, Values: [clientToken] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]);
    return found.map((inst) => this.track(inst, false));
  }

  private readonly tokenOf = new Map<string, string>();
  /** Instance id -> its Spot request (RunInstances creates a one-time request per Spot instance). */
  private readonly spotRequestOf = new Map<string, string>();

  private track(inst: Instance, launchedHere: boolean): Tracked {
    const id = inst.InstanceId ?? '';
    const tag = (k: string) => inst.Tags?.find((t) => t.Key === k)?.Value;
    const ec2Type = ec2TypeOf(tag(TAG_INSTANCE_TYPE) ?? inst.InstanceType ?? 'unknown');
    const spot = tag(TAG_MARKET) === 'spot' || inst.InstanceLifecycle === 'spot';
    const instanceType = spot ? `${ec2Type}${SPOT_SUFFIX}` : ec2Type;
    if (inst.SpotInstanceRequestId) this.spotRequestOf.set(id, inst.SpotInstanceRequestId);
    const token = tag(TAG_CLIENT_TOKEN);
    if (token) this.tokenOf.set(id, token);
    let t = this.tracked.get(id);
    if (!t) {
      t = {
        record: {
          id,
          instanceType,
          variant: tag(TAG_VARIANT) ?? 'unknown',
          state: 'pending',
          launchedAtMs: inst.LaunchTime ? inst.LaunchTime.getTime() : this.now(),
          slots: this.slotsFor(instanceType),
        },
        launchedHere,
      };
      this.tracked.set(id, t);
    }
    if (inst.PrivateIpAddress) {
      t.privateIp = inst.PrivateIpAddress;
      t.record.endpoint = `http://${inst.PrivateIpAddress}:${this.serverPort}`;
    }
    if (inst.InstanceLifecycle === 'spot' || isSpotType(instanceType)) t.spot = true;
    const ec2State = inst.State?.Name;
    // stopping/stopped: out of service; describe() terminates it.
    // A Spot reclaim (StateReason) ends a running instance too: it serves nothing from here on.
    if (ec2State === 'shutting-down' || ec2State === 'stopping' || ec2State === 'stopped') t.record.state = 'terminating';
    else if (isSpotReclaimStateReason(inst.StateReason?.Code) && ec2State !== 'terminated') t.record.state = 'terminating';
    else if (ec2State === 'terminated') t.record.state = 'terminated';
    return t;
  }

  private slotsFor(instanceType: string): number {
    if (this.opts.slotsFor) return this.opts.slotsFor(instanceType);
    const vcpu = this.catalog.ec2.instanceTypes.find((t) => t.name === ec2TypeOf(instanceType))?.vcpu ?? 1;
    return vmServerLayout(vcpu).slots;
  }

  /**
   * DescribeInstances by id (no tag filter): what EC2 says about each id. A NotFound for a batch
   * names no single id reliably, so the batch is split into one call per id.
   */
  private async describeByIds(ids: readonly string[]): Promise<Map<string, { answer: ByIdAnswer; inst?: Instance }>> {
    const out = new Map<string, { answer: ByIdAnswer; inst?: Instance }>();
    if (ids.length === 0) return out;
    try {
      const res = await this.client.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
      for (const r of res.Reservations ?? []) {
        for (const inst of r.Instances ?? []) {
          const id = inst.InstanceId ?? '';
          out.set(id, { answer: inst.State?.Name === 'terminated' ? 'gone' : 'alive', inst });
        }
      }
      for (const id of ids) if (!out.has(id)) out.set(id, { answer: 'not-found' });
    } catch (err) {
      if (sdkErrorCode(err) !== 'InvalidInstanceID.NotFound') {
        for (const id of ids) out.set(id, { answer: 'unknown' });
      } else if (ids.length === 1) {
        out.set(ids[0]!, { answer: 'not-found' });
      } else {
        for (const id of ids) out.set(id, (await this.describeByIds([id])).get(id)!);
      }
    }
    return out;
  }

  private async describeRaw(filters: Array<{ Name: string; Values: string[] }>): Promise<Instance[]> {
    const instances: Instance[] = [];
    let NextToken: string | undefined;
    do {
      const out = await this.client.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: `tag:${TAG_FLEET}`, Values: [this.opts.fleetName] }, ...filters],
          ...(NextToken ? { NextToken } : {}),
        }),
      );
      for (const r of out.Reservations ?? []) instances.push(...(r.Instances ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return instances;
  }

  /** Refreshes the fleet from EC2 (adopting tagged instances) and probes pending ones, and ready Spot ones for a notice. */
  async describe(): Promise<VmRecord[]> {
    const instances = await this.describeRaw([
      { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] },
    ]);
    const seen = new Set<string>();
    const toProbe: Tracked[] = [];
    const stopped: string[] = [];
    const consider = (inst: Instance) => {
      const t = this.track(inst, false);
      seen.add(t.record.id);
      const st = inst.State?.Name;
      const probe = t.record.state === 'pending' || (t.record.state === 'ready' && t.spot === true);
      if (st === 'running' && probe && t.record.endpoint && !toProbe.includes(t)) toProbe.push(t);
      if (st === 'stopped' || st === 'stopping') stopped.push(t.record.id);
    };
    for (const inst of instances) consider(inst);
    // Tracked but not listed: ask by id before forgetting (eventual consistency, see the header).
    const nowBeforeProbe = this.now();
    const unseen = [...this.tracked.values()].filter((t) => !seen.has(t.record.id));
    const answers = await this.describeByIds(unseen.map((t) => t.record.id));
    for (const t of unseen) {
      const a = answers.get(t.record.id) ?? { answer: 'unknown' as const };
      if (a.answer === 'alive' && a.inst) {
        consider(a.inst);
        continue;
      }
      const grace = this.opts.unlistedGraceMs ?? UNLISTED_VM_GRACE_MS;
      if (keepUnlistedVm({ launchedHere: t.launchedHere, launchedAtMs: t.record.launchedAtMs }, a.answer, nowBeforeProbe, grace)) {
        seen.add(t.record.id);
      }
    }
    // The queue first (EventBridge's warning, as AWS recommends); the describe-based fallback on
    // every describe without a working queue, every spotDescribeFallbackMs with one.
    const queueAnswered = await this.applySpotNotices();
    const nowSpot = this.now();
    if (!queueAnswered || nowSpot - this.lastSpotDescribeMs >= (this.opts.spotDescribeFallbackMs ?? 30_000)) {
      this.lastSpotDescribeMs = nowSpot;
      await this.markSpotReclaims();
    }
    // A reclaimed Spot VM is not probed into 'ready' again (pending ones and ready Spot ones stay).
    for (let i = toProbe.length - 1; i >= 0; i--) {
      const st = toProbe[i]!.record.state;
      if (st !== 'pending' && st !== 'ready') toProbe.splice(i, 1);
    }
    if (stopped.length > 0) {
      // Fleet-tagged and stopped: nobody serves from it, its volume still bills. Terminate.
      try {
        await this.client.send(new TerminateInstancesCommand({ InstanceIds: stopped }));
      } catch (err) {
        // Visible as the loop's "observe failed"; the next describe lists them stopped and retries.
        throw new FleetLaunchError(`terminating stopped fleet instances ${stopped.join(', ')} failed: ${sdkErrorCode(err)}`, { cause: err });
      }
      for (const id of stopped) this.tracked.get(id)!.record.state = 'terminating';
    }
    // Probe in parallel: a tick with 20 booting VMs must not wait 20 probe timeouts in a row.
    const probed = await Promise.all(
      toProbe.map((t) =>
        this.prober({ id: t.record.id, instanceType: t.record.instanceType, endpoint: t.record.endpoint! }).then(asAnswer),
      ),
    );
    const nowMs = this.now();
    toProbe.forEach((t, i) => {
      const was = t.record.state;
      t.record.state = stateAfterReadiness(was, probed[i]!);
      if (was !== 'pending' || t.record.state !== 'ready') return;
      t.record.readyAtMs = nowMs;
      // Adopted instances were launched by an earlier controller: their request time is
      // unknown (LaunchTime is when EC2 accepted it), so only our own launches are measured.
      if (t.launchedHere) {
        const list = this.bootDelays.get(t.record.instanceType) ?? [];
        list.push(nowMs - t.record.launchedAtMs);
        this.bootDelays.set(t.record.instanceType, list);
      }
    });
    // Anything we tracked that EC2 no longer lists as alive is gone.
    for (const [id, t] of this.tracked) {
      if (!seen.has(id)) {
        t.record.state = 'terminated';
        this.tracked.delete(id);
      }
    }
    return [...this.tracked.values()].map((t) => ({ ...t.record }));
  }

  /**
   * Drains the Spot notice source: a tracked live instance it names turns 'terminating' (the router
   * moves its share at once, the planner replaces it); a notice about an instance not tracked yet is
   * held HELD_SPOT_NOTICE_MS. False when there is no source or it failed (the caller falls back).
   */
  private async applySpotNotices(): Promise<boolean> {
    const source = this.opts.spotNotices;
    if (!source) return false;
    let fresh: SpotNotice[];
    try {
      fresh = await source.poll();
    } catch (err) {
      this.opts.log?.warn({ code: sdkErrorCode(err) }, `Spot notice queue unreadable: ${sdkErrorCode(err)}; using DescribeSpotInstanceRequests`);
      return false;
    }
    const nowMs = this.now();
    for (const notice of fresh) this.heldNotices.set(notice.instanceId, { notice, receivedAtMs: nowMs });
    for (const [id, held] of this.heldNotices) {
      const t = this.tracked.get(id);
      if (t) {
        this.heldNotices.delete(id);
        if (t.record.state === 'pending' || t.record.state === 'ready') {
          t.record.state = 'terminating';
          this.opts.log?.warn(
            { id, instanceType: t.record.instanceType, action: held.notice.action, noticedAt: new Date(held.notice.noticedAtMs).toISOString() },
            `Spot reclaim of ${id}: EC2 interruption warning (${held.notice.action})`,
          );
        }
      } else if (nowMs - held.receivedAtMs > HELD_SPOT_NOTICE_MS) {
        this.heldNotices.delete(id);
      }
    }
    return true;
  }

  /**
   * The describe-based reclaim fallback (the VM itself watches the metadata's spot/instance-action):
   * a live Spot instance whose request status says EC2 takes it back (launch-order.ts
   * isSpotReclaimStatus; `marked-for-termination` during the two-minute notice, while the instance
   * still shows 'running') becomes 'terminating'. Best effort: a failed call changes nothing (the
   * instance still turns 'shutting-down' when the notice ends).
   */
  private async markSpotReclaims(): Promise<void> {
    const live = [...this.tracked.values()].filter(
      (t) => (t.record.state === 'pending' || t.record.state === 'ready') && isSpotType(t.record.instanceType) && this.spotRequestOf.has(t.record.id),
    );
    if (live.length === 0) return;
    try {
      const out = await this.client.send(
        new DescribeSpotInstanceRequestsCommand({ SpotInstanceRequestIds: live.map((t) => this.spotRequestOf.get(t.record.id)!) }),
      );
      for (const r of out.SpotInstanceRequests ?? []) {
        const t = r.InstanceId ? this.tracked.get(r.InstanceId) : undefined;
        if (t && isSpotReclaimStatus(r.Status?.Code) && t.record.state !== 'terminated') {
          t.record.state = 'terminating';
          this.opts.log?.warn({ id: t.record.id, instanceType: t.record.instanceType, status: r.Status?.Code }, `Spot reclaim of ${t.record.id}: ${r.Status?.Code}`);
        }
      }
    } catch (err) {
      this.opts.log?.warn({ code: sdkErrorCode(err) }, `DescribeSpotInstanceRequests failed: ${sdkErrorCode(err)}; reclaims show when the instance shuts down`);
    }
  }

  /** Observed provisioning latencies (RunInstances request -> /readyz 200), ms, per instance type. */
  observedBootDelayMs(): Record<string, number[]> {
    return Object.fromEntries([...this.bootDelays].map(([k, v]) => [k, [...v]]));
  }

  async terminate(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const unknown = ids.filter((id) => !this.tracked.has(id));
    if (unknown.length > 0) await this.describe();
    const foreign = ids.filter((id) => !this.tracked.has(id));
    if (foreign.length > 0) {
      throw new FleetLaunchError(`refusing to terminate instances not in fleet '${this.opts.fleetName}': ${foreign.join(', ')}`);
    }
    await this.client.send(new TerminateInstancesCommand({ InstanceIds: [...ids] }));
    for (const id of ids) {
      const t = this.tracked.get(id);
      if (t) t.record.state = 'terminating';
    }
  }

  async close(): Promise<void> {
    const alive = (await this.describe()).filter((r) => r.state !== 'terminated' && r.state !== 'terminating');
    await this.terminate(alive.map((r) => r.id));
    this.client.destroy();
    this.opts.spotNotices?.close?.();
  }
}

/** Deterministic EC2 ClientToken (<= 64 chars) from the caller's token and the instance type. */
export function ec2ClientToken(clientToken: string, instanceType: string): string {
  const raw = `${clientToken}:${instanceType}`;
  if (raw.length <= 64 && /^[\x20-\x7e]+$/.test(raw)) return raw;
  return createHash('sha256').update(raw).digest('hex').slice(0, 64);
}

/** `c5.large:spot@subnet-1` / `c5.large@subnet-1`: one attempt, for logs and errors. */
function describeAttempt(a: LaunchAttempt): string {
  return `${a.instanceType}${a.market === 'spot' ? SPOT_SUFFIX : ''}${a.subnetId ? `@${a.subnetId}` : ''}`;
}
