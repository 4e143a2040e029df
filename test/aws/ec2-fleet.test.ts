import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  DescribeSubnetsCommand,
  EC2Client,
  type Instance,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet, type ReadinessProber, TAG_FLEET } from '../../controller/aws/ec2-fleet.js';
import { FleetCapacityError, LaunchTemplateMissingError } from '../../controller/aws/errors.js';
import { ConfigError, LaunchQuotaError } from '../../controller/errors.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

const TYPES = ['c5.large', 'c6g.large', 'c7g.large', 'm5.large', 'c5.xlarge'];

/**
 * Readiness prober stand-in: moto's instances run no inference server, so readiness is decided
 * by the test (ids in `ready`) while the prober records what it was asked.
 */
function proberStandIn() {
  const ready = new Set<string>();
  const asked: string[] = [];
  const prober: ReadinessProber = async (vm) => {
    asked.push(`${vm.id}@${vm.endpoint}`);
    return ready.has(vm.id);
  };
  return { ready, asked, prober };
}

/** Injects an EC2 error code into RunInstances for the listed instance types (SDK middleware). */
function injectRunInstancesError(client: EC2Client, code: string, types: Set<string>, seen: string[]): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { InstanceType?: string };
      if (context.commandName === 'RunInstancesCommand') {
        seen.push(input.InstanceType ?? '?');
        if (input.InstanceType && types.has(input.InstanceType)) {
          throw Object.assign(new Error(`We currently do not have sufficient ${input.InstanceType} capacity`), {
            name: code,
            Code: code,
            $fault: 'server',
            $metadata: { httpStatusCode: 500 },
          });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectRunInstancesError' },
  );
}

/** Injects `code` into RunInstances when `when(input)` says so; records every RunInstances input. */
function injectRunError(
  client: EC2Client,
  code: string,
  when: (input: { InstanceType?: string; SubnetId?: string }) => boolean,
  inputs: Array<{ InstanceType?: string; SubnetId?: string; MinCount?: number; MaxCount?: number; ClientToken?: string }>,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'RunInstancesCommand') {
        const input = args.input as (typeof inputs)[number];
        inputs.push({ ...input });
        if (when(input)) {
          throw Object.assign(new Error(`injected ${code} for ${input.InstanceType}@${input.SubnetId}`), {
            name: code,
            Code: code,
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: `inject-${code}` },
  );
}

/**
 * EC2's documented eventual consistency, which moto does not reproduce (it lists at once): ids in
 * `hidden` are left out of tag-filtered listings, and `notFoundById` ids answer
 * InvalidInstanceID.NotFound to DescribeInstances by id. A mock of the lag on top of real moto.
 */
function injectListingLag(client: EC2Client, hidden: Set<string>, notFoundById: Set<string>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'DescribeInstancesCommand') return next(args);
      const input = args.input as { InstanceIds?: string[] };
      if (input.InstanceIds?.some((id) => notFoundById.has(id))) {
        throw Object.assign(new Error(`The instance ID '${input.InstanceIds.join(', ')}' does not exist`), {
          name: 'InvalidInstanceID.NotFound',
          Code: 'InvalidInstanceID.NotFound',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      const out = await next(args);
      if (!input.InstanceIds) {
        const listing = out.output as DescribeInstancesCommandOutput;
        for (const r of listing.Reservations ?? []) r.Instances = (r.Instances ?? []).filter((i) => !hidden.has(i.InstanceId ?? ''));
      }
      return out;
    },
    { step: 'initialize', name: 'injectListingLag' },
  );
}

describe.skipIf(!motoAvailable)('Ec2Fleet against moto', () => {
  let moto: Moto;
  let admin: EC2Client;
  let fleetName: string;
  let clock = 5_000_000;
  const noSleep = async () => {};

  const newFleet = (extra: { prober?: ReadinessProber; client?: EC2Client } = {}) =>
    new Ec2Fleet({
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
      fleetName,
      instanceTypes: TYPES,
      now: () => clock,
      sleep: noSleep,
      ...(extra.prober ? { readinessProber: extra.prober } : { readinessProber: async () => false }),
      ...(extra.client ? { client: extra.client } : {}),
    });

  async function fleetInstances(): Promise<Instance[]> {
    const out = await admin.send(
      new DescribeInstancesCommand({ Filters: [{ Name: `tag:${TAG_FLEET}`, Values: [fleetName] }] }),
    );
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  }

  beforeAll(async () => {
    moto = await startMoto();
    admin = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    fleetName = uniqueName('fleet');
    const images = await admin.send(new DescribeImagesCommand({}));
    const imageId = images.Images?.[0]?.ImageId;
    if (!imageId) throw new Error('moto returned no AMIs');
    for (const t of TYPES) {
      await admin.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: `${fleetName}-${t}`,
          LaunchTemplateData: { ImageId: imageId, InstanceType: t as 'c5.large' },
        }),
      );
    }
  });
  afterAll(async () => {
    admin?.destroy();
    await moto?.stop();
  });

  it('launches from the launch template with fleet/variant/type tags, describes, terminates', async () => {
    const fleet = newFleet();
    const vms = await fleet.launch({ instanceType: 'c5.large', variant: 'mobilenet', count: 2, clientToken: 'tok-a' });
    // MinCount 1, MaxCount 2: EC2 launches what it has, up to 2; moto launches MinCount. The
    // records are exactly what came, and they are what the fleet lists.
    expect(vms.length).toBeGreaterThanOrEqual(1);
    expect(vms.length).toBeLessThanOrEqual(2);
    expect((await fleetInstances()).filter((i) => i.Tags?.some((t) => t.Value === 'tok-a')).map((i) => i.InstanceId).sort()).toEqual(
      vms.map((v) => v.id).sort(),
    );
    // One server with intra-op threads = vCPUs runs one batch at a time: 1 slot (core/vm-layout.ts).
    expect(vms.every((v) => v.state === 'pending' && v.instanceType === 'c5.large' && v.slots === 1)).toBe(true);
    const raw = await fleetInstances();
    const tags = raw.find((i) => i.InstanceId === vms[0]?.id)?.Tags ?? [];
    expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value]))).toMatchObject({
      'spillway:fleet': fleetName,
      'spillway:variant': 'mobilenet',
      'spillway:instance-type': 'c5.large',
    });
    const described = await fleet.describe();
    expect(described.map((v) => v.id).sort()).toEqual(vms.map((v) => v.id).sort());
    expect(described.every((v) => v.endpoint?.endsWith(':8081'))).toBe(true);
    await fleet.terminate(vms.map((v) => v.id));
    const after = await fleet.describe();
    expect(after.filter((v) => vms.some((x) => x.id === v.id) && v.state !== 'terminating')).toEqual([]);
  });

  it('idempotent client token: the same token returns the same instances, even from a new controller', async () => {
    const fleet = newFleet();
    const first = await fleet.launch({ instanceType: 'c5.large', variant: 'resnet', count: 1, clientToken: 'tok-b' });
    const again = await fleet.launch({ instanceType: 'c5.large', variant: 'resnet', count: 1, clientToken: 'tok-b' });
    expect(again.map((v) => v.id)).toEqual(first.map((v) => v.id));
    const restarted = newFleet();
    const third = await restarted.launch({ instanceType: 'c5.large', variant: 'resnet', count: 1, clientToken: 'tok-b' });
    expect(third.map((v) => v.id)).toEqual(first.map((v) => v.id));
    const withToken = (await fleetInstances()).filter((i) =>
      i.Tags?.some((t) => t.Key === 'spillway:client-token' && t.Value === 'tok-b'),
    );
    expect(withToken).toHaveLength(1);
    await fleet.terminate(first.map((v) => v.id));
  });

  it('adoption after restart: a new Ec2Fleet sees the running tagged instances; probes and measures boot delay', async () => {
    const p1 = proberStandIn();
    const fleet = newFleet({ prober: p1.prober });
    const [vm] = await fleet.launch({ instanceType: 'c6g.large', variant: 'squeeze', count: 1, clientToken: 'tok-c' });
    if (!vm) throw new Error('no instance');
    clock += 70_000;
    expect((await fleet.describe()).find((v) => v.id === vm.id)?.state).toBe('pending');
    p1.ready.add(vm.id);
    clock += 5_000;
    const ready = (await fleet.describe()).find((v) => v.id === vm.id);
    expect(ready?.state).toBe('ready');
    expect(ready?.readyAtMs).toBe(clock);
    expect(fleet.observedBootDelayMs()['c6g.large']).toEqual([75_000]);

    const p2 = proberStandIn();
    p2.ready.add(vm.id);
    const restarted = newFleet({ prober: p2.prober });
    const adopted = (await restarted.describe()).find((v) => v.id === vm.id);
    expect(adopted).toMatchObject({ variant: 'squeeze', instanceType: 'c6g.large', state: 'ready' });
    expect(p2.asked.some((a) => a.startsWith(vm.id))).toBe(true);
    // Adopted instances were not launched by this process: no provisioning-latency sample.
    expect(restarted.observedBootDelayMs()['c6g.large']).toBeUndefined();
    await restarted.close();
    expect((await fleetInstances()).filter((i) => i.State?.Name === 'running')).toEqual([]);
  });

  it('injected capacity error: falls back to the next-cheapest type with >= vCPU', async () => {
    const client = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    const seen: string[] = [];
    injectRunInstancesError(client, 'InsufficientInstanceCapacity', new Set(['c5.large', 'c6g.large']), seen);
    const fleet = newFleet({ client });
    const vms = await fleet.launch({ instanceType: 'c5.large', variant: 'mobilenet', count: 1, clientToken: 'tok-d' });
    // c5.large fails, then the cheapest 2-vCPU alternative c6g.large fails, then c7g.large ($0.0725/h).
    expect(seen).toEqual(['c5.large', 'c6g.large', 'c7g.large']);
    expect(vms[0]?.instanceType).toBe('c7g.large');
    await fleet.terminate(vms.map((v) => v.id));
  });

  it('injected throttling retries the same type, then moves on; all failing -> FleetCapacityError', async () => {
    const client = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    const seen: string[] = [];
    injectRunInstancesError(client, 'RequestLimitExceeded', new Set(TYPES), seen);
    const fleet = newFleet({ client });
    const err = await fleet
      .launch({ instanceType: 'c5.xlarge', variant: 'mobilenet', count: 1, clientToken: 'tok-e' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetCapacityError);
    // c5.xlarge has 4 vCPU: the only allowed type with >= 4 is itself; 3 throttled attempts.
    expect(seen).toEqual(['c5.xlarge', 'c5.xlarge', 'c5.xlarge']);
    expect((err as FleetCapacityError).attempts.map((a) => a.code)).toEqual(Array(3).fill('RequestLimitExceeded'));
  });

  it('launches into the configured subnets, the same subnet for the same token', async () => {
    const subnets = (await admin.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const ids = subnets.map((x) => x.SubnetId!).slice(0, 2);
    expect(ids.length).toBeGreaterThan(0);
    const fleet = new Ec2Fleet({
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
      fleetName,
      instanceTypes: TYPES,
      subnetIds: ids,
      sleep: noSleep,
      readinessProber: async () => false,
    });
    const vms = await fleet.launch({ instanceType: 'm5.large', variant: 'sub', count: 1, clientToken: 'tok-g' });
    const raw = (await fleetInstances()).find((i) => i.InstanceId === vms[0]?.id);
    expect(ids).toContain(raw?.SubnetId);
    await fleet.terminate(vms.map((v) => v.id));
  });

  const newClient = () => new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
  async function twoSubnetsInTwoAzs(): Promise<string[]> {
    const subnets = (await admin.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const byAz = new Map<string, string>();
    for (const x of subnets) if (x.AvailabilityZone && !byAz.has(x.AvailabilityZone)) byAz.set(x.AvailabilityZone, x.SubnetId!);
    const ids = [...byAz.values()].slice(0, 2);
    if (ids.length < 2) throw new Error('moto default VPC has fewer than 2 AZs');
    return ids;
  }

  it('capacity error in one AZ: the other AZ\'s subnet with the same type before another type; MinCount 1', async () => {
    const subnetIds = await twoSubnetsInTwoAzs();
    const client = newClient();
    const inputs: Parameters<typeof injectRunError>[3] = [];
    // The token hashes to one of the two subnets; whichever is tried first has no c5.large capacity.
    let firstSubnet: string | undefined;
    injectRunError(client, 'InsufficientInstanceCapacity', (i) => {
      firstSubnet ??= i.SubnetId;
      return i.SubnetId === firstSubnet && i.InstanceType === 'c5.large';
    }, inputs);
    const fleet = new Ec2Fleet({ client, fleetName, instanceTypes: TYPES, subnetIds, sleep: noSleep, readinessProber: async () => false });
    const vms = await fleet.launch({ instanceType: 'c5.large', variant: 'az', count: 2, clientToken: 'tok-az' });
    expect(inputs.map((i) => [i.InstanceType, i.SubnetId])).toEqual([
      ['c5.large', firstSubnet],
      ['c5.large', subnetIds.find((x) => x !== firstSubnet)],
    ]);
    expect(inputs.every((i) => i.MinCount === 1 && i.MaxCount === 2)).toBe(true);
    // Each (type, subnet) has its own EC2 token (a reused token with other parameters is refused).
    expect(new Set(inputs.map((i) => i.ClientToken)).size).toBe(2);
    expect(vms.length).toBeGreaterThanOrEqual(1);
    expect(vms.every((v) => v.instanceType === 'c5.large')).toBe(true);
    const raw = (await fleetInstances()).filter((i) => vms.some((v) => v.id === i.InstanceId));
    expect(raw.every((i) => i.SubnetId !== firstSubnet)).toBe(true);
    await fleet.terminate(vms.map((v) => v.id));
  });

  it('a quota error (VcpuLimitExceeded) is a LaunchQuotaError at once: no other subnet or type is tried', async () => {
    const client = newClient();
    const inputs: Parameters<typeof injectRunError>[3] = [];
    injectRunError(client, 'VcpuLimitExceeded', () => true, inputs);
    const fleet = new Ec2Fleet({ client, fleetName, instanceTypes: TYPES, subnetIds: await twoSubnetsInTwoAzs(), sleep: noSleep, readinessProber: async () => false });
    const err = await fleet.launch({ instanceType: 'c5.large', variant: 'q', count: 1, clientToken: 'tok-q' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaunchQuotaError);
    expect((err as LaunchQuotaError).code).toBe('VcpuLimitExceeded');
    expect((err as Error).message).toMatch(/c5\.large x1 refused by an account quota: VcpuLimitExceeded/);
    expect(inputs).toHaveLength(1);
  });

  it('listing lag (mock of EC2 eventual consistency on moto): a launched instance is kept 120 s while NotFound, confirmed by id when the listing misses it', async () => {
    const client = newClient();
    const hidden = new Set<string>();
    const notFound = new Set<string>();
    injectListingLag(client, hidden, notFound);
    const fleet = newFleet({ client });
    const t0 = clock;
    const [a] = await fleet.launch({ instanceType: 'c5.large', variant: 'lag', count: 1, clientToken: 'tok-lag-a' });
    const [b] = await fleet.launch({ instanceType: 'c5.large', variant: 'lag', count: 1, clientToken: 'tok-lag-b' });
    if (!a || !b) throw new Error('expected 2 instances');
    // a: missing from the listing AND NotFound by id; b: missing from the listing, found by id.
    hidden.add(a.id).add(b.id);
    notFound.add(a.id);
    clock = t0 + 60_000;
    let ids = (await fleet.describe()).map((v) => v.id);
    expect(ids).toContain(a.id);
    expect(ids).toContain(b.id);
    // Past the grace: b is still confirmed by id, a (never confirmed) is dropped.
    clock = t0 + 121_000;
    ids = (await fleet.describe()).map((v) => v.id);
    expect(ids).toContain(b.id);
    expect(ids).not.toContain(a.id);
    // Terminated (and by id says so): dropped at once.
    notFound.clear();
    await fleet.terminate([b.id]);
    const after = await fleet.describe();
    expect(['dropped', 'terminating']).toContain(after.find((v) => v.id === b.id)?.state ?? 'dropped');
    clock = t0 + 5_000;
    await newFleet().terminate([a.id]);
  });

  it('a stopped fleet instance is terminated, not forgotten', async () => {
    const fleet = newFleet();
    const [vm] = await fleet.launch({ instanceType: 'c5.large', variant: 'stop', count: 1, clientToken: 'tok-stop' });
    if (!vm) throw new Error('no instance');
    await admin.send(new StopInstancesCommand({ InstanceIds: [vm.id] }));
    const seen = await fleet.describe();
    expect(seen.find((v) => v.id === vm.id)?.state).toBe('terminating');
    const state = (await fleetInstances()).find((i) => i.InstanceId === vm.id)?.State?.Name;
    expect(['shutting-down', 'terminated']).toContain(state);
  });

  it('a missing launch template is a clear error naming the template', async () => {
    const fleet = new Ec2Fleet({
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
      fleetName: uniqueName('nolt'),
      sleep: noSleep,
    });
    await expect(
      fleet.launch({ instanceType: 'c5.large', variant: 'x', count: 1, clientToken: 'tok-f' }),
    ).rejects.toBeInstanceOf(LaunchTemplateMissingError);
  });

  it('validates options and launch specs', () => {
    expect(() => new Ec2Fleet({ fleetName: 'bad name!' })).toThrow(ConfigError);
    expect(() => new Ec2Fleet({ fleetName: 'ok', instanceTypes: ['z9.huge'] })).toThrow(/z9\.huge/);
    const fleet = new Ec2Fleet({ fleetName: 'ok' });
    expect(fleet.fallbackOrder('c5.large')).toEqual(['c5.large', 'c6g.large', 'c7g.large', 'm5.large', 'c5.xlarge', 'c5.2xlarge']);
    fleet.client.destroy();
  });
});
