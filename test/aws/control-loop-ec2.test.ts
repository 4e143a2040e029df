/**
 * The control loop driving the real Ec2Fleet against moto: a launch whose answer the loop gave up
 * on (its call timeout) is retried next tick with the same token and buys nothing twice; an
 * instance the listing does not show yet is still counted (no duplicate launch); a quota refusal
 * holds launches (no RunInstances on the next ticks) and shows in /v1/status. moto lists at once
 * and never refuses, so the lag, the slow answer and the quota error are injected into the SDK
 * client (mocks of EC2 behaviour, named in each test); everything else is moto's EC2.
 */
import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  EC2Client,
} from '@aws-sdk/client-ec2';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet, TAG_FLEET } from '../../controller/aws/ec2-fleet.js';
import { LambdaPool } from '../../controller/aws/lambda-pool.js';
import type { Policy } from '../../controller/core/policy-types.js';
import { ControlLoop } from '../../controller/loop/control-loop.js';
import { statusBody } from '../../controller/server/app.js';
import { ControllerRuntime } from '../../controller/server/runtime.js';
import { makeEnv } from '../core/fixtures.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

const VARIANT = 'loop-v';

/** Wants `target` VMs of VARIANT on c5.large, counting what the fleet view shows (or always 1 more). */
function wantsVms(target: number, always = false): Policy<null> {
  return {
    name: 'wants-vms',
    usesLambda: false,
    init: () => null,
    tick: (obs, state) => {
      const have = obs.vms.filter((v) => v.variant === VARIANT).length;
      const count = always ? 1 : Math.max(0, target - have);
      return {
        decision: { launch: count > 0 ? [{ instanceType: 'c5.large', variant: VARIANT, count }] : [], terminate: [], lambdaMemoryMb: {}, variantShares: {}, forecastRps: 0, notes: [] },
        state,
      };
    },
    route: () => ({ kind: 'reject', reason: 'test' }) as never,
    observe: (_c, state) => state,
  };
}

describe.skipIf(!motoAvailable)('control loop + Ec2Fleet against moto', () => {
  let moto: Moto;
  let admin: EC2Client;
  let imageId = '';

  beforeAll(async () => {
    moto = await startMoto();
    admin = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    imageId = (await admin.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? '';
  });
  afterAll(async () => {
    admin?.destroy();
    await moto?.stop();
  });

  async function setup(policy: Policy<null>, opts: { callTimeoutMs?: number } = {}) {
    const fleetName = uniqueName('loop');
    await admin.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `${fleetName}-c5.large`, LaunchTemplateData: { ImageId: imageId } }));
    const client = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
    const runInputs: Array<{ ClientToken?: string }> = [];
    const inject = { hideListing: false, notFoundById: false, delayRunMs: 0, quotaCode: '' };
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { InstanceIds?: string[]; ClientToken?: string };
        if (context.commandName === 'RunInstancesCommand') {
          runInputs.push({ ...input });
          if (inject.quotaCode) {
            throw Object.assign(new Error('You have requested more vCPU capacity than your current vCPU limit of 0 allows'), {
              name: inject.quotaCode,
              $fault: 'client',
              $metadata: { httpStatusCode: 400 },
            });
          }
          if (inject.delayRunMs > 0) {
            const out = await next(args);
            await new Promise((r) => setTimeout(r, inject.delayRunMs));
            return out;
          }
        }
        if (context.commandName === 'DescribeInstancesCommand') {
          if (inject.notFoundById && input.InstanceIds) {
            throw Object.assign(new Error('does not exist'), { name: 'InvalidInstanceID.NotFound', $fault: 'client', $metadata: { httpStatusCode: 400 } });
          }
          const out = await next(args);
          if (inject.hideListing && !input.InstanceIds) (out.output as DescribeInstancesCommandOutput).Reservations = [];
          return out;
        }
        return next(args);
      },
      { step: 'initialize', name: 'inject-ec2-behaviour' },
    );
    const fleet = new Ec2Fleet({ client, fleetName, instanceTypes: ['c5.large'], readinessProber: async () => false, sleep: async () => {} });
    const pool = new LambdaPool({ endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
    const runtime = new ControllerRuntime(policy, makeEnv(), new Map(), {
      lambdaMemoryMb: 1769,
      lambdaKeepAliveMs: 60_000,
      limits: {},
      nowMs: Date.now(),
    });
    const loop = new ControlLoop({ runtime, fleet, pool, tickIntervalMs: 60_000, log: pino({ level: 'silent' }), ...opts });
    const fleetInstances = async () => {
      const out = await admin.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:${TAG_FLEET}`, Values: [fleetName] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
          ],
        }),
      );
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    };
    const close = async () => {
      await loop.stop();
      inject.hideListing = false;
      inject.notFoundById = false;
      inject.quotaCode = '';
      await fleet.close();
      pool.client.destroy();
    };
    return { fleet, runtime, loop, inject, runInputs, fleetInstances, close };
  }

  it('listing lag (mocked): a launched instance missing from listing and by-id lookups is still counted; no duplicate launch', async () => {
    const w = await setup(wantsVms(1));
    try {
      w.inject.hideListing = true;
      w.inject.notFoundById = true;
      await w.loop.tick();
      await w.loop.tick();
      await w.loop.tick();
      expect(w.runInputs).toHaveLength(1);
      expect(await w.fleetInstances()).toHaveLength(1);
      expect(w.runtime.vms.map((v) => v.state)).toEqual(['booting']);
    } finally {
      await w.close();
    }
  });

  it('a launch answered after the loop gave up (slow answer mocked) is retried with the same token and buys no second instance', async () => {
    const w = await setup(wantsVms(1, true), { callTimeoutMs: 100 });
    try {
      w.inject.delayRunMs = 600;
      await w.loop.tick(); // fleet.launch times out at 100 ms; RunInstances itself succeeded
      await new Promise((r) => setTimeout(r, 800));
      w.inject.delayRunMs = 0;
      await w.loop.tick(); // same intended launch, same token: found, confirmed
      expect(new Set(w.runInputs.map((i) => i.ClientToken)).size).toBe(1);
      expect(await w.fleetInstances()).toHaveLength(1);
      await w.loop.tick(); // confirmed: the next launch has a new token and buys a second
      expect(await w.fleetInstances()).toHaveLength(2);
      expect(new Set(w.runInputs.map((i) => i.ClientToken)).size).toBe(2);
    } finally {
      await w.close();
    }
  });

  it('a quota refusal (VcpuLimitExceeded, mocked) holds launches for the backoff and shows in /v1/status', async () => {
    const w = await setup(wantsVms(1));
    try {
      w.inject.quotaCode = 'VcpuLimitExceeded';
      await w.loop.tick();
      await w.loop.tick();
      await w.loop.tick();
      expect(w.runInputs).toHaveLength(1);
      const status = statusBody({ runtime: w.runtime }, Date.now());
      expect(status.launchBackoff).toMatchObject({ code: 'VcpuLimitExceeded', refusals: 1 });
      expect(status.launchBackoff!.untilMs - status.launchBackoff!.sinceMs).toBe(30_000);
      expect(status.plan?.notes.join(' ')).toMatch(/launches held \d+ s more after 1 quota refusal\(s\) \(VcpuLimitExceeded\)/);
    } finally {
      await w.close();
    }
  });
});
