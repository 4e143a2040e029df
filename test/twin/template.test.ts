/**
 * The twin's template readers on the synthesized stacks (the twin itself runs as `npm run test:twin`):
 * the VM and controller units come out of the user data as systemd would see them, an unset
 * boot-script variable is an error (never an empty value), and bundle paths map onto this checkout.
 */
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { Template as TwinTemplate } from '../localstack/free-edition.js';
import { repoRoot } from '../../functions/engine/registry.js';
import { synthApp } from '../infra/synth-helper.js';
import { loopbackCidr } from './deploy.js';
import { modelSyncOf, resourcesOfType, secretIdOf, unitFromScript } from './template.js';
import { localExecStart, mapEnvPaths } from './vm-backer.js';

type Join = { 'Fn::Base64': { 'Fn::Join': [string, unknown[]] } };
const text = (ud: Join): string => ud['Fn::Base64']['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');

const { serving } = synthApp({ 'spillway:fleetName': 'tw-unit', 'spillway:instanceTypes': 'c7a.medium', 'spillway:modelDir': '/nonexistent' });
const template = Template.fromStack(serving).toJSON() as TwinTemplate;

describe('deploy twin: template readers', () => {
  it('VM unit: environment with the IMDS variables expanded, ExecStart mapped to the server source', () => {
    const lt = resourcesOfType(template, 'AWS::EC2::LaunchTemplate').find(([, p]) => !String(p.LaunchTemplateName).endsWith('-controller-imdsv2'))![1];
    const script = text((lt.LaunchTemplateData as { UserData: Join }).UserData);
    const unit = unitFromScript(script, { VARIANT: 'v1', VCPU: '1', SPOT: '0' });
    expect(unit.name).toBe('spillway-server');
    expect(unit.environment).toMatchObject({ HOST: '0.0.0.0', SPILLWAY_VARIANTS: 'v1', SPILLWAY_INTRA_OP_THREADS: '1', SPILLWAY_MODEL_DIR: '/opt/spillway/models' });
    expect(() => unitFromScript(script, { VARIANT: 'v1' })).toThrow(/\$VCPU/);
    expect(localExecStart(unit, '/repo').slice(1)).toEqual(['--import', 'tsx', join('/repo', 'functions/server/main.ts')]);
    expect(mapEnvPaths(unit.environment, { repoRoot: '/repo', instanceRoot: '/i' }).SPILLWAY_MODEL_DIR).toBe('/i/opt-spillway/models');
    expect(modelSyncOf(script)).toMatchObject({ prefix: 'models/', dest: '/opt/spillway/models' });
  });

  it('controller unit: the aws world, a secret step and an EnvironmentFile, ExecStart mapped to controller/main.ts', () => {
    const host = resourcesOfType(template, 'AWS::EC2::Instance')[0]![1];
    const script = text(host.UserData as Join);
    const unit = unitFromScript(script);
    expect(unit.environment.SPILLWAY_WORLD).toBe('aws');
    expect(unit.environmentFile).toBe('/etc/spillway-controller.env');
    expect(secretIdOf(script)).toBe('TOKEN');
    expect(localExecStart(unit, repoRoot()).at(-1)).toBe(join(repoRoot(), 'controller/main.ts'));
  });

  it('VPC CIDRs move onto loopback with their offsets; anything else is refused', () => {
    expect(loopbackCidr('10.0.4.0/22')).toBe('127.77.4.0/22');
    expect(() => loopbackCidr('192.168.0.0/16')).toThrow(/10\.x/);
  });
});
