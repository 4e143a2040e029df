/**
 * Fleet reaper: the custom resource's handlers (CDK custom-resources Provider framework). On stack
 * delete, onEvent terminates every instance tagged spillway:fleet=<fleet> that is not already
 * terminated, and isComplete (polled by the framework every 15 s, up to 30 min) answers done only
 * when none is left, terminating any that appeared meanwhile (a controller still stopping may
 * launch one). Until then CloudFormation holds the VPC, subnets and security groups: the VMs'
 * network interfaces would make their deletion fail with DependencyViolation. Create and update
 * do nothing (VMs are the controller's, not CloudFormation's).
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';

/** States that still hold a network interface (terminated ones do not). */
const ALIVE = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export interface ReaperEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties: { FleetName?: string };
}

/** Fleet instances not yet terminated. */
export async function fleetInstances(client: EC2Client, fleet: string): Promise<Instance[]> {
  const out: Instance[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:spillway:fleet', Values: [fleet] },
          { Name: 'instance-state-name', Values: ALIVE },
        ],
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Terminates the fleet's instances that are not already on their way out; returns what is left. */
export async function reapFleet(client: EC2Client, fleet: string): Promise<{ terminated: string[]; left: string[] }> {
  const alive = await fleetInstances(client, fleet);
  const toTerminate = alive.filter((i) => i.State?.Name !== 'shutting-down').map((i) => i.InstanceId!);
  // TerminateInstances takes up to 1,000 ids per call.
  for (let i = 0; i < toTerminate.length; i += 1000) {
    await client.send(new TerminateInstancesCommand({ InstanceIds: toTerminate.slice(i, i + 1000) }));
  }
  return { terminated: toTerminate, left: alive.map((i) => i.InstanceId!) };
}

function fleetOf(event: ReaperEvent): string {
  const fleet = event.ResourceProperties.FleetName;
  if (!fleet || !/^[A-Za-z0-9._-]{1,64}$/.test(fleet)) {
    throw new Error(`fleet reaper: ResourceProperties.FleetName must match [A-Za-z0-9._-]{1,64}, got '${fleet}'`);
  }
  return fleet;
}

/** Create/Update: nothing to do. Delete: terminate the fleet's instances. */
export async function handleEvent(event: ReaperEvent, client: EC2Client): Promise<{ PhysicalResourceId: string }> {
  const fleet = fleetOf(event);
  const PhysicalResourceId = event.PhysicalResourceId ?? `spillway-fleet-reaper-${fleet}`;
  if (event.RequestType === 'Delete') {
    const r = await reapFleet(client, fleet);
    console.log(JSON.stringify({ event: 'reap', fleet, terminated: r.terminated }));
  }
  return { PhysicalResourceId };
}

/** Delete is complete when no fleet instance is left (each poll terminates newcomers too). */
export async function checkComplete(event: ReaperEvent, client: EC2Client): Promise<{ IsComplete: boolean }> {
  if (event.RequestType !== 'Delete') return { IsComplete: true };
  const fleet = fleetOf(event);
  const r = await reapFleet(client, fleet);
  console.log(JSON.stringify({ event: 'reap-wait', fleet, left: r.left, terminatedNow: r.terminated }));
  return { IsComplete: r.left.length === 0 };
}

// Lambda entry points (handler names 'onEvent' and 'isComplete'); one client per container.
let client: EC2Client | undefined;
const ec2 = (): EC2Client => {
  client ??= new EC2Client({});
  return client;
};
export const onEvent = (event: ReaperEvent) => handleEvent(event, ec2());
export const isComplete = (event: ReaperEvent) => checkComplete(event, ec2());
