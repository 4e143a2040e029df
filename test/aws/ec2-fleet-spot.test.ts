/**
 * Spot launches of Ec2Fleet against moto. moto 5 applies RunInstances' InstanceMarketOptions
 * (InstanceLifecycle 'spot' in the answer and in DescribeInstances) but creates no Spot request for
 * it (no SpotInstanceRequestId; DescribeSpotInstanceRequests lists nothing), never answers a Spot
 * capacity error and never reclaims: those are injected (tests named so) as the SDK's own error
 * shape (EC2ServiceException) or answers on top of real moto.
 */
import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  EC2ServiceException,
  type Instance,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet, TAG_FLEET } from '../../controller/aws/ec2-fleet.js';
import { LaunchQuotaError } from '../../controller/errors.js';
import { injectSpotRequests, MOTO_CREDENTIALS, type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

const TYPES = ['c5.large', 'c6g.large'];

/** The SDK's error for an EC2 error code (what the client throws for an AWS answer). */
function sdkError(code: string, message: string, httpStatusCode: number): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
    message,
  });
}

/** Records every RunInstances input; throws `fail(input)`'s error when it returns one. */
function wrapRunInstances(
  client: EC2Client,
  inputs: RunInstancesCommandInput[],
  fail: (i: RunInstancesCommandInput, n: number) => Error | undefined,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'RunInstancesCommand') {
        const input = args.input as RunInstancesCommandInput;
        inputs.push(structuredClone(input));
        const err = fail(input, inputs.length);
        if (err) throw err;
      }
      return next(args);
    },
    { step: 'initialize', name: 'wrapRunInstances' },
  );
}

describe.skipIf(!motoAvailable)('Ec2Fleet Spot against moto', () => {
  let moto: Moto;
  let admin: EC2Client;
  let fleetName: string;
  let subnetIds: string[];
  const warnings: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const log = {
    warn: (fields: object, msg: string) =>
      void warnings.push({ fields: fields as Record<string, unknown>, msg }),
  };
  const newClient = () =>
    new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
  const newFleet = (client?: EC2Client, extra: { subnets?: boolean } = {}) =>
    new Ec2Fleet({
      ...(client ? { client } : { endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS }),
      fleetName,
      instanceTypes: TYPES,
      ...(extra.subnets ? { subnetIds } : {}),
      sleep: async () => {},
      readinessProber: async () => true,
      log,
    });
  async function raw(ids: readonly string[]): Promise<Instance[]> {
    const out = await admin.send(
      new DescribeInstancesCommand({ Filters: [{ Name: `tag:${TAG_FLEET}`, Values: [fleetName] }] }),
    );
    return (out.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => ids.includes(i.InstanceId ?? ''));
  }

  beforeAll(async () => {
    moto = await startMoto();
    admin = newClient();
    fleetName = uniqueName('spot');
    const imageId = (await admin.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    if (!imageId) throw new Error('moto returned no AMIs');
    for (const t of TYPES) {
      await admin.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: `${fleetName}-${t}`,
          LaunchTemplateData: { ImageId: imageId },
        }),
      );
    }
    const byAz = new Map<string, string>();
    for (const x of (await admin.send(new DescribeSubnetsCommand({}))).Subnets ?? []) {
      if (x.AvailabilityZone && !byAz.has(x.AvailabilityZone)) byAz.set(x.AvailabilityZone, x.SubnetId!);
    }
    subnetIds = [...byAz.values()].slice(0, 2);
    if (subnetIds.length < 2) throw new Error('moto default VPC has fewer than 2 AZs');
  });
  afterAll(async () => {
    admin?.destroy();
    await moto?.stop();
  });

  it('a c5.large:spot launch runs c5.large as a one-time Spot instance; mixed fleet describes as c5.large and c5.large:spot, also after a restart', async () => {
    const client = newClient();
    const inputs: RunInstancesCommandInput[] = [];
    wrapRunInstances(client, inputs, () => undefined);
    const fleet = newFleet(client);
    const [spot] = await fleet.launch({
      instanceType: 'c5.large:spot',
      variant: 'mobilenet',
      count: 1,
      clientToken: 'tok-spot-1',
    });
    const [od] = await fleet.launch({
      instanceType: 'c5.large',
      variant: 'mobilenet',
      count: 1,
      clientToken: 'tok-od-1',
    });
    if (!spot || !od) throw new Error('expected 2 instances');
    expect(spot.instanceType).toBe('c5.large:spot');
    expect(od.instanceType).toBe('c5.large');
    expect(
      inputs.map((i) => [i.InstanceType, i.LaunchTemplate?.LaunchTemplateName, i.InstanceMarketOptions]),
    ).toEqual([
      [
        'c5.large',
        `${fleetName}-c5.large`,
        {
          MarketType: 'spot',
          SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
        },
      ],
      ['c5.large', `${fleetName}-c5.large`, undefined],
    ]);
    // The two markets of one type get different EC2 tokens (a token is one parameter set).
    expect(inputs[0]?.ClientToken).not.toBe(inputs[1]?.ClientToken);
    const byId = new Map((await raw([spot.id, od.id])).map((i) => [i.InstanceId, i]));
    expect(byId.get(spot.id)?.InstanceLifecycle).toBe('spot');
    expect(byId.get(od.id)?.InstanceLifecycle).toBeUndefined();
    expect(byId.get(spot.id)?.Tags?.find((t) => t.Key === 'spillway:market')?.Value).toBe('spot');
    const types = (rs: Awaited<ReturnType<Ec2Fleet['describe']>>) =>
      Object.fromEntries(
        rs
          .filter((r) => r.id === spot.id || r.id === od.id)
          .map((r) => [r.id, `${r.instanceType} ${r.state}`]),
      );
    expect(types(await fleet.describe())).toEqual({
      [spot.id]: 'c5.large:spot ready',
      [od.id]: 'c5.large ready',
    });
    const restarted = newFleet();
    expect(types(await restarted.describe())).toEqual({
      [spot.id]: 'c5.large:spot ready',
      [od.id]: 'c5.large ready',
    });
    await restarted.terminate([spot.id, od.id]);
  });

  it('the market is read from InstanceLifecycle too: an untagged Spot instance of the fleet is c5.large:spot', async () => {
    const imageId = (await admin.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    const out = await admin.send(
      new RunInstancesCommand({
        ImageId: imageId,
        InstanceType: 'c6g.large',
        MinCount: 1,
        MaxCount: 1,
        InstanceMarketOptions: { MarketType: 'spot' },
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: TAG_FLEET, Value: fleetName },
              { Key: 'spillway:variant', Value: 'v' },
            ],
          },
        ],
      }),
    );
    const id = out.Instances?.[0]?.InstanceId ?? '';
    const fleet = newFleet();
    expect((await fleet.describe()).find((r) => r.id === id)?.instanceType).toBe('c6g.large:spot');
    await fleet.terminate([id]);
  });

  it('injected Spot capacity errors (first call only, then every Spot call): the other AZ, then on-demand of the same type, each step logged', async () => {
    // First call only: the other subnet's Spot pool has capacity.
    let client = newClient();
    let inputs: RunInstancesCommandInput[] = [];
    wrapRunInstances(client, inputs, (_i, n) =>
      n === 1
        ? sdkError(
            'InsufficientInstanceCapacity',
            'There is no Spot capacity available that matches your request.',
            500,
          )
        : undefined,
    );
    warnings.length = 0;
    const [inOtherAz] = await newFleet(client, { subnets: true }).launch({
      instanceType: 'c5.large:spot',
      variant: 'v',
      count: 1,
      clientToken: 'tok-ice-1',
    });
    expect(inputs.map((i) => [i.SubnetId, i.InstanceMarketOptions?.MarketType ?? 'on-demand'])).toEqual([
      [inputs[0]?.SubnetId, 'spot'],
      [subnetIds.find((s) => s !== inputs[0]?.SubnetId), 'spot'],
    ]);
    expect(inOtherAz?.instanceType).toBe('c5.large:spot');
    expect(warnings.map((w) => w.fields.step)).toEqual(['other-subnet']);

    // Every Spot call: on-demand c5.large, billed as such (the record says c5.large).
    client = newClient();
    inputs = [];
    wrapRunInstances(client, inputs, (i) =>
      i.InstanceMarketOptions
        ? sdkError(
            'InsufficientInstanceCapacity',
            'There is no Spot capacity available that matches your request.',
            500,
          )
        : undefined,
    );
    warnings.length = 0;
    const [od] = await newFleet(client, { subnets: true }).launch({
      instanceType: 'c5.large:spot',
      variant: 'v',
      count: 1,
      clientToken: 'tok-ice-2',
    });
    expect(
      inputs.map((i) => `${i.InstanceType} ${i.InstanceMarketOptions?.MarketType ?? 'on-demand'}`),
    ).toEqual(['c5.large spot', 'c5.large spot', 'c5.large on-demand']);
    expect(od?.instanceType).toBe('c5.large');
    expect((await raw([od!.id]))[0]?.InstanceLifecycle).toBeUndefined();
    expect(warnings.map((w) => w.fields.step)).toEqual(['other-subnet', 'on-demand']);
    expect(warnings[1]?.msg).toMatch(
      /InsufficientInstanceCapacity on c5\.large:spot@subnet-\S+, trying c5\.large@subnet-/,
    );
    await newFleet().terminate([inOtherAz!.id, od!.id]);
  });

  it('injected MaxSpotInstanceCountExceeded: a LaunchQuotaError at once, no on-demand fallback', async () => {
    const client = newClient();
    const inputs: RunInstancesCommandInput[] = [];
    wrapRunInstances(client, inputs, () =>
      sdkError('MaxSpotInstanceCountExceeded', 'Max spot instance count exceeded', 400),
    );
    const err = await newFleet(client, { subnets: true })
      .launch({ instanceType: 'c5.large:spot', variant: 'v', count: 1, clientToken: 'tok-q' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaunchQuotaError);
    expect((err as Error).message).toMatch(
      /c5\.large:spot x1 refused by an account quota: MaxSpotInstanceCountExceeded/,
    );
    expect(inputs).toHaveLength(1);
  });

  it('injected reclaim notice (moto makes no Spot request): marked-for-termination turns a running Spot VM terminating, not probed ready', async () => {
    const client = newClient();
    const marked = new Set<string>();
    injectSpotRequests(client, (id) => (marked.has(id) ? 'marked-for-termination' : 'fulfilled'));
    const fleet = newFleet(client);
    const [a, b] = [
      ...(await fleet.launch({
        instanceType: 'c5.large:spot',
        variant: 'v',
        count: 1,
        clientToken: 'tok-rec-a',
      })),
      ...(await fleet.launch({
        instanceType: 'c5.large:spot',
        variant: 'v',
        count: 1,
        clientToken: 'tok-rec-b',
      })),
    ];
    if (!a || !b) throw new Error('expected 2 instances');
    const state = async () =>
      Object.fromEntries(
        (await fleet.describe()).filter((r) => r.id === a.id || r.id === b.id).map((r) => [r.id, r.state]),
      );
    marked.add(b.id); // b's notice came before it was ever probed
    expect(await state()).toEqual({ [a.id]: 'ready', [b.id]: 'terminating' });
    marked.add(a.id);
    expect(await state()).toEqual({ [a.id]: 'terminating', [b.id]: 'terminating' });
    await newFleet().terminate([a.id, b.id]);
  });
});
