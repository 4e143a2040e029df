/**
 * EC2's Spot warning through EventBridge and SQS into Ec2Fleet, against moto (EC2, EventBridge and
 * SQS all real moto services): a warning put on the bus reaches the queue through a rule with the
 * deployed pattern, the fleet turns that Spot VM 'terminating' on its next describe(), holds a
 * warning about an instance it does not track yet, drops foreign and unreadable messages, and
 * falls back to DescribeSpotInstanceRequests on every describe when the queue cannot be read
 * (every 30 s while it can). moto's instances run no server: the readiness prober is a stand-in
 * that answers ready (mocked: no VM server runs inside moto). The deployed rule and queue are
 * checked against LocalStack (test/localstack).
 */
import { CreateTagsCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet, HELD_SPOT_NOTICE_MS, TAG_FLEET } from '../../controller/aws/ec2-fleet.js';
import { SqsSpotNotices } from '../../controller/aws/spot-notice-queue.js';
import { createAwsAdapters } from '../../controller/aws/world.js';
import { loadAppConfig } from '../../controller/app-config.js';
import { parseSpotWarning, SPOT_WARNING_DETAIL_TYPE } from '../../controller/aws/spot-warning-event.js';
import { injectSpotRequests, MOTO_CREDENTIALS, type Moto, motoAvailable, motoSkipReason, runFleetTaggedInstance, startMoto, uniqueName } from './moto.js';

const warningBody = (id: string, action = 'terminate') =>
  JSON.stringify({
    version: '0',
    'detail-type': SPOT_WARNING_DETAIL_TYPE,
    source: 'aws.ec2',
    time: '2026-12-08T09:00:00Z',
    detail: { 'instance-id': id, 'instance-action': action },
  });

describe('parseSpotWarning', () => {
  it("EventBridge's event -> the notice; anything else -> a reason naming the field", () => {
    expect(parseSpotWarning(warningBody('i-0abc123', 'stop'), 5)).toEqual({ instanceId: 'i-0abc123', action: 'stop', noticedAtMs: Date.parse('2026-12-08T09:00:00Z') });
    expect(parseSpotWarning('nope', 5)).toEqual({ error: 'not JSON' });
    expect(parseSpotWarning('[]', 5)).toMatchObject({ error: expect.stringMatching(/detail-type/) });
    expect(parseSpotWarning(JSON.stringify({ 'detail-type': SPOT_WARNING_DETAIL_TYPE, detail: { 'instance-id': 'x' } }), 5)).toMatchObject({
      error: expect.stringMatching(/detail.instance-id "x"/),
    });
    // No time: the receive time stands in.
    expect(parseSpotWarning(JSON.stringify({ 'detail-type': SPOT_WARNING_DETAIL_TYPE, detail: { 'instance-id': 'i-1' } }), 5)).toMatchObject({ noticedAtMs: 5 });
  });

  it('randomised bodies never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ 'detail-type': SPOT_WARNING_DETAIL_TYPE, detail: v }))), (body) => {
        const r = parseSpotWarning(body, 1);
        expect('error' in r || /^i-/.test(r.instanceId)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe.skipIf(!motoAvailable)(`Ec2Fleet + SqsSpotNotices against moto (EC2, EventBridge, SQS; prober and Spot-request stand-ins)${motoAvailable ? '' : ` — SKIPPED: ${motoSkipReason}`}`, () => {
  let moto: Moto;
  let ec2: EC2Client;
  let sqs: SQSClient;
  let events: EventBridgeClient;
  let imageId: string;
  const c = () => ({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = new EC2Client(c());
    sqs = new SQSClient(c());
    events = new EventBridgeClient(c());
    imageId = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? '';
    if (!imageId) throw new Error('moto returned no AMIs');
  });
  afterAll(async () => {
    ec2?.destroy();
    sqs?.destroy();
    events?.destroy();
    await moto?.stop();
  });

  const runTagged = (fleetName: string, spot: boolean) =>
    runFleetTaggedInstance(ec2, { imageId, fleetName, spot, typeTag: spot ? 'c5.large:spot' : 'c5.large' });

  /** The fleet under test: moto's EC2, a manual clock, a prober stand-in that answers ready. */
  const newFleet = (fleetName: string, nowMs: () => number, queueUrl: string, warnings?: string[]) => {
    const log = warnings ? { warn: (_f: object, m: string) => warnings.push(m) } : undefined;
    return new Ec2Fleet({
      ...c(),
      fleetName,
      instanceTypes: ['c5.large', 'c5.large:spot'],
      readinessProber: async () => true,
      now: nowMs,
      spotNotices: new SqsSpotNotices({ ...c(), queueUrl, ...(log ? { log } : {}) }),
      ...(log ? { log } : {}),
    });
  };

  /** A queue with the deployed rule's pattern in front of it (infra/constructs/spot-interruption-queue.ts). */
  async function warningQueue(): Promise<string> {
    const name = uniqueName('spotq');
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify({ source: ['aws.ec2'], 'detail-type': [SPOT_WARNING_DETAIL_TYPE] }) }));
    await events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'controller', Arn: arn }] }));
    return url;
  }

  const warn = (instanceId: string) =>
    events.send(
      new PutEventsCommand({
        Entries: [{ Source: 'aws.ec2', DetailType: SPOT_WARNING_DETAIL_TYPE, Detail: JSON.stringify({ 'instance-id': instanceId, 'instance-action': 'terminate' }) }],
      }),
    );

  /** Counts the fleet's DescribeSpotInstanceRequests calls (the fallback); moto's missing Spot requests are stood in (moto.ts). */
  const countSpotDescribes = (fleet: Ec2Fleet) => injectSpotRequests(fleet.client);

  it("a warning on the bus -> the Spot VM is 'terminating' on the next describe; the on-demand VM stays ready; foreign and unreadable messages are deleted", async () => {
    const fleetName = uniqueName('spotq');
    const queueUrl = await warningQueue();
    const spotId = await runTagged(fleetName, true);
    const odId = await runTagged(fleetName, false);
    const warnings: string[] = [];
    let nowMs = 1_000_000;
    const fleet = newFleet(fleetName, () => nowMs, queueUrl, warnings);
    const fallback = countSpotDescribes(fleet);
    const stateOf = async () => new Map((await fleet.describe()).map((r) => [r.id, r.state]));
    expect(await stateOf()).toEqual(new Map([[spotId, 'ready'], [odId, 'ready']]));

    await warn('i-0fffffffffffffff0'); // another fleet's instance in the account
    await warn(spotId);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"detail-type":"EC2 Instance State-change Notification"}' }));
    nowMs += 1_000;
    const after = await stateOf();
    expect(after.get(spotId)).toBe('terminating');
    expect(after.get(odId)).toBe('ready');
    expect(warnings.some((m) => m.includes(`Spot reclaim of ${spotId}: EC2 interruption warning (terminate)`))).toBe(true);
    expect(warnings.some((m) => /ignored: detail-type "EC2 Instance State-change Notification"/.test(m))).toBe(true);
    const left = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect(Number(left.Attributes?.ApproximateNumberOfMessages) + Number(left.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(0);
    // With the queue answering, the describe-based fallback ran once (the first describe), not per tick.
    expect(fallback.calls).toBe(1);
    nowMs += 30_000;
    await fleet.describe();
    // Its spot VM is terminating now: no live Spot VM is left to ask about.
    expect(fallback.calls).toBe(1);
    fleet.client.destroy();
  });

  it('a warning about an instance not tracked yet is held and applied once the fleet lists it; held longer than HELD_SPOT_NOTICE_MS it is dropped', async () => {
    const fleetName = uniqueName('spotq');
    const queueUrl = await warningQueue();
    let nowMs = 5_000_000;
    const fleet = newFleet(fleetName, () => nowMs, queueUrl);
    // Listed late: the instances carry another fleet's tag first, then ours (as a late listing would).
    const early = await runTagged(`${fleetName}-x`, true);
    const late = await runTagged(`${fleetName}-x`, true);
    expect(await fleet.describe()).toEqual([]);
    await warn(early);
    await warn(late);
    await fleet.describe(); // both warnings received and held
    await ec2.send(new CreateTagsCommand({ Resources: [early], Tags: [{ Key: TAG_FLEET, Value: fleetName }] }));
    nowMs += 10_000;
    expect((await fleet.describe()).find((r) => r.id === early)?.state).toBe('terminating');
    nowMs += HELD_SPOT_NOTICE_MS;
    await fleet.describe(); // the held warning about `late` expires here
    await ec2.send(new CreateTagsCommand({ Resources: [late], Tags: [{ Key: TAG_FLEET, Value: fleetName }] }));
    expect((await fleet.describe()).find((r) => r.id === late)?.state).toBe('ready');
    fleet.client.destroy();
  });

  it("as deployed: SPILLWAY_SPOT_QUEUE_URL in the controller's environment -> loadAppConfig -> createAwsAdapters gives the fleet the queue, and a warning on the bus reaches it", async () => {
    const fleetName = uniqueName('spotq');
    const queueUrl = await warningQueue();
    const spotId = await runTagged(fleetName, true);
    const config = loadAppConfig({
      SPILLWAY_WORLD: 'aws',
      SPILLWAY_API_KEY: 'spot-queue-test-key-0123',
      SPILLWAY_FLEET: fleetName,
      SPILLWAY_INSTANCE_TYPES: 'c5.large,c5.large:spot',
      SPILLWAY_SPOT_QUEUE_URL: queueUrl,
      SPILLWAY_METRICS_MODE: 'off',
    });
    expect(config.world === 'aws' && config.spotQueueUrl).toBe(queueUrl);
    const prevEndpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = moto.endpoint; // the SDK's own configuration, as on a host pointed at an emulator
    try {
      const aws = createAwsAdapters({ ...(config as Extract<typeof config, { world: 'aws' }>), variants: ['m'] });
      // moto's instances run no server: the fleet's real prober gets no answer, so the VM stays pending.
      expect((await aws.fleet.describe()).find((r) => r.id === spotId)?.state).toBe('pending');
      await warn(spotId);
      expect((await aws.fleet.describe()).find((r) => r.id === spotId)?.state).toBe('terminating');
      aws.fleet.client.destroy();
      aws.pool.client.destroy();
    } finally {
      if (prevEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = prevEndpoint;
    }
  });

  it('an unreadable queue: each describe logs it and runs the DescribeSpotInstanceRequests fallback instead', async () => {
    const fleetName = uniqueName('spotq');
    await runTagged(fleetName, true);
    const warnings: string[] = [];
    let nowMs = 9_000_000;
    const fleet = newFleet(fleetName, () => nowMs, `${moto.endpoint}/123456789012/${uniqueName('missing')}`, warnings);
    const fallback = countSpotDescribes(fleet);
    for (let i = 0; i < 3; i++) {
      await fleet.describe();
      nowMs += 1_000;
    }
    expect(warnings.filter((m) => /Spot notice queue unreadable: .*; using DescribeSpotInstanceRequests/.test(m))).toHaveLength(3);
    expect(fallback.calls).toBe(3);
    fleet.client.destroy();
  });
});
