/**
 * spillway:routers (issue 12): the router group and its coordination table, from the synthesized
 * templates (bundling skipped): an ASG over subnets in 2 AZs behind the /readyz target group with
 * rolling updates, the table the DynamoDB store expects, exactly the six table actions, the same
 * controller statements as the single host, the router unit's environment read back by the
 * router's own reader, cdk-nag clean, and context validation. Unset keeps the single host.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readClusterEnv } from '../../controller/cluster/cluster-env.js';
import { COORD_TABLE_KEYS } from '../../controller/coord/dynamodb-store.js';
import type { BuiltApp } from '../../infra/app.js';
import { CONTROLLER_HEALTH_PORT } from '../../infra/constructs/controller-unit.js';
import { COORD_TABLE_ACTIONS } from '../../infra/constructs/router-group.js';
import { resourcesOfType, scriptWithTokens, unitFromScript } from '../twin/template.js';
import { synthApp } from './synth-helper.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Statement = { Sid?: string; Action: string | string[]; Resource: Json };

function statementsOf(t: Template, policyName: RegExp): Statement[] {
  return Object.values(
    t.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, Json> }>,
  )
    .filter((r) => r.Type === 'AWS::IAM::Policy' && policyName.test(String(r.Properties.PolicyName)))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('spillway:routers=3: router group and coordination table', () => {
  let built: BuiltApp;
  let serving: Template;
  let stateful: Template;

  beforeAll(() => {
    built = synthApp({ 'spillway:routers': '3' });
    serving = Template.fromStack(built.serving);
    stateful = Template.fromStack(built.stateful);
  });

  it('cdk-nag AwsSolutions: zero unacknowledged errors (synth would throw), none in the report', () => {
    const f = join(built.app.outdir, 'validation-report.json');
    const report = existsSync(f)
      ? (JSON.parse(readFileSync(f, 'utf8')) as { pluginReports: unknown[] })
      : { pluginReports: [] };
    expect(report.pluginReports).toEqual([]);
  });

  it('no single controller host; an ASG of 3 (max 4 while rolling) across subnets in 2 AZs', () => {
    serving.resourceCountIs('AWS::EC2::Instance', 0);
    const [[, asg]] = resourcesOfType(serving.toJSON() as never, 'AWS::AutoScaling::AutoScalingGroup') as [
      [string, Record<string, Json>],
    ];
    expect(asg.MinSize).toBe('3');
    expect(asg.DesiredCapacity).toBe('3');
    expect(asg.MaxSize).toBe('4');
    expect(asg.HealthCheckType).toBe('ELB');
    const subnetIds = (asg.VPCZoneIdentifier as Array<{ Ref: string }>).map((r) => r.Ref);
    expect(subnetIds.length).toBeGreaterThanOrEqual(2);
    const resources = serving.toJSON().Resources as Record<
      string,
      { Properties: { AvailabilityZone: Json } }
    >;
    const azs = new Set(subnetIds.map((id) => JSON.stringify(resources[id]!.Properties.AvailabilityZone)));
    expect(azs.size).toBeGreaterThanOrEqual(2);
  });

  it('rolling updates one at a time, all 3 in service, on the new router signalling readiness', () => {
    const asgs = serving.findResources('AWS::AutoScaling::AutoScalingGroup');
    const r = Object.values(asgs)[0] as {
      UpdatePolicy: Record<string, Json>;
      CreationPolicy: Record<string, Json>;
    };
    expect(r.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({
      MaxBatchSize: 1,
      MinInstancesInService: 3,
      WaitOnResourceSignals: true,
    });
    expect(r.CreationPolicy.ResourceSignal).toMatchObject({ Count: 3 });
  });

  it('registered in the endpoint target group, health check on /readyz at the health thread port (8081), which the ALB may reach', () => {
    serving.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/readyz',
      HealthCheckPort: String(CONTROLLER_HEALTH_PORT),
      Port: 8080,
    });
    serving.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: CONTROLLER_HEALTH_PORT,
      ToPort: CONTROLLER_HEALTH_PORT,
      IpProtocol: 'tcp',
    });
    const asg = Object.values(serving.findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as {
      Properties: { TargetGroupARNs: Json };
    };
    expect(JSON.stringify(asg.Properties.TargetGroupARNs)).toContain('EndpointController');
  });

  it('coordination table: the store keys, on demand, TTL on the observation attribute, PITR, retained', () => {
    const tables = stateful.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(1);
    const t = Object.values(tables)[0] as { DeletionPolicy: string; Properties: Record<string, Json> };
    expect(t.Properties.TableName).toBe('spillway-coordination');
    expect(t.Properties.KeySchema).toEqual([
      { AttributeName: COORD_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: COORD_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ]);
    expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(t.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: COORD_TABLE_KEYS.ttlAttribute,
      Enabled: true,
    });
    expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(t.DeletionPolicy).toBe('Retain');
  });

  it('IAM: exactly the six table actions on the table, and the controller host statements unchanged', () => {
    const router = statementsOf(serving, /RoutersRole/);
    const dynamo = router.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect([...actionsOf(dynamo[0]!)].sort()).toEqual([...COORD_TABLE_ACTIONS].sort());
    expect(JSON.stringify(dynamo[0]!.Resource)).toContain(':table/spillway-coordination');
    // The same statements (by Sid and actions) as the single controller host's role.
    const single = statementsOf(Template.fromStack(synthApp().serving), /ControllerRole/);
    const shape = (list: Statement[]) =>
      list
        .filter((s) => s.Sid)
        .map((s) => `${s.Sid}: ${[...actionsOf(s)].sort().join(',')}`)
        .sort();
    expect(shape(router).filter((s) => !s.startsWith('SignalOwnStack'))).toEqual(shape(single));
  });

  it('the router unit sets the aws-mode variables, and the router reads them back (cluster-env.ts)', () => {
    const [[, lt]] = resourcesOfType(serving.toJSON() as never, 'AWS::EC2::LaunchTemplate').filter(([, p]) =>
      String(
        (p.LaunchTemplateData as { UserData?: Json }).UserData ? JSON.stringify(p.LaunchTemplateName) : '',
      ).includes('router'),
    ) as [[string, Record<string, Json>]];
    const script = scriptWithTokens((lt.LaunchTemplateData as { UserData: Json }).UserData);
    const unit = unitFromScript(script, { INSTANCE_ID: 'i-0123456789abcdef0' });
    expect(unit.name).toBe('spillway-router');
    expect(unit.execStart.at(-1)).toBe('/opt/spillway/app/dist/router.mjs');
    expect(unit.environment).toMatchObject({
      SPILLWAY_ROUTER_MODE: 'aws',
      SPILLWAY_COORD_TABLE: 'spillway-coordination',
      SPILLWAY_ROUTER_ID: 'i-0123456789abcdef0',
      SPILLWAY_HEALTH_PORT: String(CONTROLLER_HEALTH_PORT),
      SPILLWAY_WORLD: 'aws',
      HOST: '0.0.0.0',
    });
    expect(script).toContain('curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:8080/readyz');
    expect(script).toMatch(
      /aws cloudformation signal-resource .*--unique-id "\$\{INSTANCE_ID:-unknown\}" --status SUCCESS/,
    );
    const cluster = readClusterEnv({ ...unit.environment, SPILLWAY_API_KEY: 'k'.repeat(40) });
    expect(cluster).toMatchObject({
      mode: 'aws',
      routerId: 'i-0123456789abcdef0',
      coordTable: 'spillway-coordination',
    });
    expect(cluster.config.world).toBe('aws');
  });
});

describe('a router that fails to boot signals FAILURE at once (no 10-minute wait for the rollback)', () => {
  it('the boot script, run under bash with a failing step, calls signal-resource --status FAILURE once, then exits non-zero', () => {
    const serving = synthApp({ 'spillway:routers': '2' }).serving;
    const [[, lt]] = resourcesOfType(Template.fromStack(serving).toJSON() as never, 'AWS::EC2::LaunchTemplate').filter(([, p]) =>
      JSON.stringify(p.LaunchTemplateName ?? '').includes('router'),
    ) as [[string, Record<string, Json>]];
    const script = scriptWithTokens((lt.LaunchTemplateData as { UserData: Json }).UserData);
    // The real preamble (strict mode, step marker, ERR trap with the hook), then a step that fails.
    const lines = script.split('\n');
    const preamble = lines.slice(0, lines.findIndex((l) => l.startsWith('step ')));
    expect(preamble.join('\n')).toContain('--status FAILURE');
    const dir = mkdtempSync(join(tmpdir(), 'router-boot-'));
    // Stand-in for the AWS CLI (EC2's part): records its arguments.
    writeFileSync(join(dir, 'aws'), `#!/bin/sh\necho "$@" >> ${dir}/aws.calls\n`, { mode: 0o755 });
    const r = spawnSync('bash', ['-c', [...preamble, 'INSTANCE_ID=i-0abc', 'step bundle-download', 'false', 'step never'].join('\n')], {
      env: { PATH: `${dir}:${process.env['PATH']}` },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/SPILLWAY_BOOT_FAILED service=spillway-router step=bundle-download exit=1/);
    const calls = readFileSync(join(dir, 'aws.calls'), 'utf8').trim().split('\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^cloudformation signal-resource .*--unique-id i-0abc --status FAILURE$/);
  });
});

describe('spillway:routers: unset and bad values', () => {
  it('unset: the single controller host, no ASG, no coordination table', () => {
    const b = synthApp();
    const serving = Template.fromStack(b.serving);
    serving.resourceCountIs('AWS::EC2::Instance', 1);
    serving.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 0);
    serving.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/healthz',
    });
    Template.fromStack(b.stateful).resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it.each(['1', '21', '2.5', 'three'])(
    'spillway:routers=%s fails synth naming the key and the value',
    (v) => {
      expect(() => synthApp({ 'spillway:routers': v })).toThrow(
        new RegExp(`spillway:routers = ${v === 'three' ? 'null' : v}`),
      );
    },
  );
});
