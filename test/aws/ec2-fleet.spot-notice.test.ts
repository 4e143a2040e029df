/**
 * Ec2Fleet against moto: a ready Spot instance whose server reports EC2's interruption notice
 * (/readyz 503 'spot-notice') turns 'terminating' in describe(); a ready on-demand one is not
 * probed again. The Spot instances are started here with RunInstances + InstanceMarketOptions and
 * the fleet tags (the fleet adopts them: this touches only its describe/probe path). moto's
 * instances run no inference server, so the readiness prober is a stand-in the test answers for
 * (mocked: no VM server runs inside moto); the answer is read by the same rule as a real one.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet, type ReadinessProber } from '../../controller/aws/ec2-fleet.js';
import type { ReadinessAnswer } from '../../controller/core/vm-readiness.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, runFleetTaggedInstance, startMoto, uniqueName } from './moto.js';

describe.skipIf(!motoAvailable)(
  'Ec2Fleet: Spot interruption notice via the readiness probe (moto; prober stand-in)',
  () => {
    let moto: Moto;
    let admin: EC2Client;
    let imageId: string;

    beforeAll(async () => {
      moto = await startMoto();
      admin = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
      const images = await admin.send(new DescribeImagesCommand({}));
      imageId = images.Images?.[0]?.ImageId ?? '';
      if (!imageId) throw new Error('moto returned no AMIs');
    });
    afterAll(async () => {
      admin?.destroy();
      await moto?.stop();
    });

    const runTagged = (fleetName: string, spot: boolean) => runFleetTaggedInstance(admin, { imageId, fleetName, spot });

    it('ready Spot VM + spot-notice -> terminating; the on-demand VM stays ready and is not probed again', async () => {
      const fleetName = uniqueName('spotfleet');
      const spotId = await runTagged(fleetName, true);
      const onDemandId = await runTagged(fleetName, false);
      const answers = new Map<string, ReadinessAnswer>([
        [spotId, { kind: 'ready' }],
        [onDemandId, { kind: 'ready' }],
      ]);
      const asked: string[] = [];
      const prober: ReadinessProber = async (vm) => {
        asked.push(vm.id);
        return answers.get(vm.id) ?? false;
      };
      const fleet = new Ec2Fleet({
        endpoint: moto.endpoint,
        credentials: MOTO_CREDENTIALS,
        fleetName,
        instanceTypes: ['c5.large'],
        readinessProber: prober,
      });
      const first = await fleet.describe();
      expect(first.map((r) => [r.id, r.state]).sort()).toEqual(
        [
          [onDemandId, 'ready'],
          [spotId, 'ready'],
        ].sort(),
      );

      asked.length = 0;
      answers.set(spotId, { kind: 'spot-notice', action: 'terminate', time: '2026-12-07T09:02:00Z' });
      const second = await fleet.describe();
      expect(second.find((r) => r.id === spotId)?.state).toBe('terminating');
      expect(second.find((r) => r.id === onDemandId)?.state).toBe('ready');
      // Only the Spot VM was probed once ready (moto reports InstanceLifecycle 'spot' for it).
      expect(asked).toEqual([spotId]);

      // Terminating stays terminating, whatever a later probe says.
      answers.set(spotId, { kind: 'ready' });
      expect((await fleet.describe()).find((r) => r.id === spotId)?.state).toBe('terminating');
      fleet.client.destroy();
    });
  },
);
