import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet, TAG_CLIENT_TOKEN, TAG_FENCE } from '../../controller/aws/ec2-fleet.js';
import { StaleFenceError } from '../../controller/coord/coordination-port.js';
import { FencedFleet } from '../../controller/coord/fenced-fleet.js';
import { MemoryCoordinationStore } from '../../controller/coord/memory-store.js';
import type { LaunchSpec, VmFleetPort, VmRecord } from '../../controller/ports.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, startMoto, uniqueName } from '../aws/moto.js';

/** Recording stand-in for the inner fleet: the test is about what reaches it, not about VMs. */
function recordingFleet() {
  const launches: LaunchSpec[] = [];
  const terminations: string[][] = [];
  const fleet: VmFleetPort = {
    launch: async (spec) => {
      launches.push(spec);
      return [];
    },
    terminate: async (ids) => {
      terminations.push([...ids]);
    },
    describe: async (): Promise<VmRecord[]> => [],
    close: async () => {},
  };
  return { fleet, launches, terminations };
}

describe('FencedFleet (recording stand-in inner fleet, manual clock)', () => {
  const ttlMs = 10_000;

  it("a deposed planner's launch and terminate are refused after a successor took the lease", async () => {
    let now = 0;
    const store = new MemoryCoordinationStore();
    const a = await store.acquireOrRenewLease('planner-A', now, ttlMs);
    const inner = recordingFleet();
    const fencedA = new FencedFleet({
      inner: inner.fleet,
      store,
      holderId: 'planner-A',
      fence: a.lease.fence,
      nowMs: () => now,
    });

    await fencedA.launch({
      instanceType: 'c5.large',
      variant: 'resnet',
      count: 1,
      clientToken: 'sw-run-resnet-c5.large-0',
    });
    expect(inner.launches).toEqual([
      {
        instanceType: 'c5.large',
        variant: 'resnet',
        count: 1,
        clientToken: 'sw-run-resnet-c5.large-0-f1',
        fence: 1,
      },
    ]);

    // A is paused past its lease; B takes over at 10 s with fence 2.
    now = 12_000;
    const b = await store.acquireOrRenewLease('planner-B', now, ttlMs);
    expect(b).toMatchObject({ held: true, lease: { fence: 2 } });

    const err = await fencedA
      .launch({
        instanceType: 'c5.large',
        variant: 'resnet',
        count: 1,
        clientToken: 'sw-run-resnet-c5.large-1',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleFenceError);
    expect((err as StaleFenceError).currentFence).toBe(2);
    expect((err as Error).message).toMatch(
      /launch refused for planner-A with fence 1: the lease is held by planner-B with fence 2/,
    );
    await expect(fencedA.terminate(['i-1'])).rejects.toThrow(StaleFenceError);
    expect(inner.launches).toHaveLength(1); // nothing of A's reached the fleet
    expect(inner.terminations).toEqual([]);

    const fencedB = new FencedFleet({
      inner: inner.fleet,
      store,
      holderId: 'planner-B',
      fence: 2,
      nowMs: () => now,
    });
    await fencedB.terminate(['i-1']);
    expect(inner.terminations).toEqual([['i-1']]);
  });

  it('refuses once its own lease has expired, even with nobody else holding it', async () => {
    let now = 0;
    const store = new MemoryCoordinationStore();
    await store.acquireOrRenewLease('planner-A', now, ttlMs);
    const inner = recordingFleet();
    const fenced = new FencedFleet({
      inner: inner.fleet,
      store,
      holderId: 'planner-A',
      fence: 1,
      nowMs: () => now,
    });
    now = 9_999;
    await fenced.terminate(['i-1']);
    now = 10_000;
    await expect(fenced.terminate(['i-2'])).rejects.toThrow(/the lease expired at 10000 \(now 10000\)/);
    expect(inner.terminations).toEqual([['i-1']]);
  });
});

describe.skipIf(!motoAvailable)('FencedFleet around Ec2Fleet against moto', () => {
  let moto: Moto;
  let admin: EC2Client;
  const fleetName = uniqueName('fenced');
  beforeAll(async () => {
    moto = await startMoto();
    admin = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    const imageId = (await admin.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    if (!imageId) throw new Error('moto returned no AMIs');
    await admin.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: `${fleetName}-c5.large`,
        LaunchTemplateData: { ImageId: imageId, InstanceType: 'c5.large' },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    admin?.destroy();
    await moto?.stop();
  });

  it('tags launched instances with spillway:fence and the fenced client token', {
    timeout: 30_000,
  }, async () => {
    const store = new MemoryCoordinationStore();
    await store.acquireOrRenewLease('old', 0, 1_000);
    const lease = await store.acquireOrRenewLease('planner-A', 5_000, 10_000); // takeover: fence 2
    const ec2 = new Ec2Fleet({
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
      fleetName,
      instanceTypes: ['c5.large'],
      sleep: async () => {},
      readinessProber: async () => false,
    });
    const fenced = new FencedFleet({
      inner: ec2,
      store,
      holderId: 'planner-A',
      fence: lease.lease.fence,
      nowMs: () => 6_000,
    });
    const vms = await fenced.launch({
      instanceType: 'c5.large',
      variant: 'resnet',
      count: 1,
      clientToken: 'tok-fence',
    });
    expect(vms).toHaveLength(1);
    const out = await admin.send(new DescribeInstancesCommand({ InstanceIds: [vms[0]!.id] }));
    const tags = Object.fromEntries(
      (out.Reservations?.[0]?.Instances?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]),
    );
    expect(tags[TAG_FENCE]).toBe('2');
    expect(tags[TAG_CLIENT_TOKEN]).toBe('tok-fence-f2');
    await fenced.terminate(vms.map((v) => v.id));
    await ec2.close();
  });
});
