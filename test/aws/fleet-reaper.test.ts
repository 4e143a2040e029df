/**
 * The fleet reaper's handlers (infra/lambda/fleet-reaper.ts) against moto's EC2: on delete they
 * terminate every instance tagged with the fleet (running or stopped), leave other fleets alone,
 * and report complete only when none is left, terminating late arrivals on the way.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkComplete, handleEvent, type ReaperEvent } from '../../infra/lambda/fleet-reaper.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

describe.skipIf(!motoAvailable)('fleet reaper handlers against moto', () => {
  let moto: Moto;
  let ec2: EC2Client;
  let imageId = '';

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    imageId = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? '';
  });
  afterAll(async () => {
    ec2?.destroy();
    await moto?.stop();
  });

  async function launch(fleet: string, n: number): Promise<string[]> {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        InstanceType: 'c5.large',
        MinCount: n,
        MaxCount: n,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'spillway:fleet', Value: fleet }] }],
      }),
    );
    return (out.Instances ?? []).map((i) => i.InstanceId!);
  }
  async function stateOf(ids: string[]): Promise<string[]> {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name ?? '?');
  }
  const ev = (RequestType: ReaperEvent['RequestType'], FleetName: string): ReaperEvent => ({
    RequestType,
    PhysicalResourceId: `spillway-fleet-reaper-${FleetName}`,
    ResourceProperties: { FleetName },
  });

  it('create/update do nothing; delete terminates running and stopped fleet VMs and waits; other fleets untouched', async () => {
    const fleet = uniqueName('reap');
    const other = uniqueName('keep');
    const ours = await launch(fleet, 2);
    const stopped = await launch(fleet, 1);
    await ec2.send(new StopInstancesCommand({ InstanceIds: stopped }));
    const theirs = await launch(other, 1);

    expect(await handleEvent(ev('Create', fleet), ec2)).toEqual({ PhysicalResourceId: `spillway-fleet-reaper-${fleet}` });
    expect(await checkComplete(ev('Update', fleet), ec2)).toEqual({ IsComplete: true });
    expect(await stateOf(ours)).toEqual(['running', 'running']);

    await handleEvent(ev('Delete', fleet), ec2);
    // A controller still stopping launched one more after onEvent: the poll terminates it too.
    const late = await launch(fleet, 1);
    let done = false;
    for (let i = 0; i < 10 && !done; i++) done = (await checkComplete(ev('Delete', fleet), ec2)).IsComplete;
    expect(done).toBe(true);
    for (const s of await stateOf([...ours, ...stopped, ...late])) expect(s).toBe('terminated');
    expect(await stateOf(theirs)).toEqual(['running']);
  });

  it('a missing or malformed FleetName is an error naming the property', async () => {
    await expect(handleEvent({ RequestType: 'Delete', ResourceProperties: {} }, ec2)).rejects.toThrow(
      /ResourceProperties\.FleetName must match/,
    );
    await expect(checkComplete(ev('Delete', 'bad name!'), ec2)).rejects.toThrow(/got 'bad name!'/);
  });
});
