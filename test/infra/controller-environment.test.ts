/**
 * The deployment and the controller agree on the configuration: synthesize the stacks with a CDK
 * context, take the controller host's environment out of its user data, read it back through the
 * controller's own reader (loadAppConfig) and compare with the context. Two different contexts,
 * neither equal to the defaults, so a value dropped on the way cannot pass by being a default.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../controller/app-config.js';
import { controllerEnvironment } from '../../controller/config/controller-environment.js';
import { ConfigError } from '../../controller/errors.js';
import { synthApp } from './synth-helper.js';

/** A CloudFormation reference inside user data (subnet id, region): opaque at synth time. */
const TOKEN = '<token>';

/** `Environment=K=V` lines of the controller instance's systemd unit, references replaced by TOKEN. */
function controllerHostEnvironment(template: Template): Record<string, string> {
  const instances = Object.values(template.findResources('AWS::EC2::Instance')) as Array<{
    Properties: { UserData: { 'Fn::Base64': string | { 'Fn::Join': [string, unknown[]] } } };
  }>;
  expect(instances).toHaveLength(1);
  const ud = instances[0]!.Properties.UserData['Fn::Base64'];
  const text = typeof ud === 'string' ? ud : ud['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : TOKEN)).join(ud['Fn::Join'][0]);
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^Environment=([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

const CONTEXTS = [
  {
    'spillway:fleetName': 'cfg-one',
    'spillway:variants': 'squeezenet-caffe2-fp16',
    'spillway:instanceTypes': 'c6g.large',
    'spillway:maxVms': '3',
    'spillway:lambdaConcurrency': '40',
    'spillway:vcpuQuota': '24',
    'spillway:sloMs': '180',
  },
  {
    'spillway:fleetName': 'cfg-two',
    'spillway:variants': 'mobilenet-v2-10-int8-zoo,squeezenet-caffe2-fp16',
    'spillway:instanceTypes': 'c5.xlarge,c5.large',
    'spillway:maxVms': '25',
    'spillway:sloMs': '900',
  },
  {
    // Spot too: the controller plans c5.large on both markets (one launch template, below).
    'spillway:fleetName': 'cfg-spot',
    'spillway:variants': 'squeezenet-caffe2-fp16',
    'spillway:instanceTypes': 'c5.large,c5.large:spot',
    'spillway:maxVms': '4',
    'spillway:sloMs': '250',
  },
] as const;

describe('controller host environment round trip (CDK context -> user data -> controller config)', () => {
  for (const context of CONTEXTS) {
    it(`${context['spillway:fleetName']}: the controller reads back what the context says`, () => {
      const built = synthApp({ ...context, 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') });
      const env = controllerHostEnvironment(Template.fromStack(built.serving));
      // The API key is fetched at boot into an EnvironmentFile, never written into user data.
      expect(env['SPILLWAY_API_KEY']).toBeUndefined();
      const config = loadAppConfig(env);
      if (config.world !== 'aws') throw new Error(`expected the aws world, got ${config.world}`);
      expect(config.fleet).toBe(context['spillway:fleetName']);
      expect(config.variants).toEqual(context['spillway:variants'].split(','));
      expect(config.instanceTypes).toEqual(context['spillway:instanceTypes'].split(','));
      expect(config.maxVms).toBe(Number(context['spillway:maxVms']));
      expect(config.sloMs).toBe(Number(context['spillway:sloMs']));
      const concurrency = 'spillway:lambdaConcurrency' in context ? Number(context['spillway:lambdaConcurrency']) : undefined;
      // Unset in the context = unset for the controller, which then asks the account.
      expect(config.lambdaConcurrency).toBe(concurrency);
      const vcpuQuota = 'spillway:vcpuQuota' in context ? Number(context['spillway:vcpuQuota']) : undefined;
      expect(config.vcpuQuota).toBe(vcpuQuota);
      expect(config.lambdaPrefix).toBe(`${context['spillway:fleetName']}-`);
      expect(config.port).toBe(built.serving.controller!.port);
      expect(config.host).toBe('0.0.0.0');
      expect(config.vmSubnets?.length).toBeGreaterThan(0);
      expect(config.vmSubnets?.every((s) => s === TOKEN)).toBe(true);
    });
  }

  it('a `<type>:spot` entry shares its type\'s launch template; the controller itself is never Spot', () => {
    const built = synthApp({ ...CONTEXTS[2], 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') });
    const names = Object.values(Template.fromStack(built.serving).findResources('AWS::EC2::LaunchTemplate')).map(
      (r) => (r as { Properties: { LaunchTemplateName?: string } }).Properties.LaunchTemplateName,
    );
    expect(names.filter((n) => n?.startsWith('cfg-spot-c5.large'))).toEqual(['cfg-spot-c5.large']);
    expect(() =>
      synthApp({ ...CONTEXTS[2], 'spillway:controllerInstanceType': 'c5.large:spot', 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') }),
    ).toThrow(/spillway:controllerInstanceType = 'c5.large:spot'.*on-demand.*use 'c5.large'/);
    expect(() => synthApp({ 'spillway:instanceTypes': 'c5.large:spott', 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') })).toThrow(
      /instance type 'c5.large:spott' is not in profiles\/catalog.json/,
    );
  });

  it('a value the controller would reject fails synth, naming the key', () => {
    expect(() => synthApp({ 'spillway:maxVms': '5000', 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') })).toThrow(
      /spillway:maxVms/,
    );
    expect(() => controllerEnvironment({ instanceTypes: ['c5.large'], sloMs: 12.5 })).toThrow(ConfigError);
    expect(() => controllerEnvironment({ instanceTypes: [] })).toThrow(/SPILLWAY_INSTANCE_TYPES/);
  });
});
