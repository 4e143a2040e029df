import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../controller/aws/metric-names.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { loadProfiles } from '../../profiles/lib/load.js';
import type { BuiltApp } from '../../infra/app.js';
import { rightSizeLambdaMemory } from '../../infra/sizing.js';
import { synthApp } from './synth-helper.js';

/** A model directory stand-in: a registry variant's file name with placeholder bytes. */
function fakeModelDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-models-'));
  writeFileSync(join(dir, 'mobilenetv2-12-int8.onnx'), Buffer.alloc(64, 1));
  writeFileSync(join(dir, 'imagenet_synset.txt'), 'n01440764 tench\n');
  mkdirSync(join(dir, 'images'));
  writeFileSync(join(dir, 'images', 'cat.jpg'), 'not a model');
  return dir;
}

const VARIANTS = ['mobilenet-v2-10-int8-zoo', 'squeezenet-caffe2-fp16'];
const TYPES = ['c5.large', 'c6g.large', 'c5.xlarge'];

function validationErrors(outdir: string): string[] {
  const f = join(outdir, 'validation-report.json');
  if (!existsSync(f)) return [];
  const report = JSON.parse(readFileSync(f, 'utf8')) as {
    pluginReports: Array<{ violations: Array<{ ruleName: string; severity: string }> }>;
  };
  return report.pluginReports.flatMap((p) => p.violations.filter((v) => v.severity === 'error').map((v) => v.ruleName));
}

describe('Spillway CDK app (synth offline, bundling skipped)', () => {
  let built: BuiltApp;
  let stateful: Template;
  let serving: Template;

  beforeAll(() => {
    built = synthApp({
      'spillway:modelDir': fakeModelDir(),
      'spillway:variants': VARIANTS.join(','),
      'spillway:instanceTypes': TYPES.join(','),
      'spillway:sloMs': '150',
      'spillway:budgetUsdPerHour': '3',
    });
    stateful = Template.fromStack(built.stateful);
    serving = Template.fromStack(built.serving);
  });

  it('cdk-nag AwsSolutions: zero unacknowledged errors', () => {
    // Synth above would have thrown on an error; the report must not carry any either.
    expect(validationErrors(built.app.outdir)).toEqual([]);
  });

  it('stateful: encrypted, versioned, TLS-only, private model bucket with access logs', () => {
    stateful.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'model-bucket/' }),
    });
    stateful.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    stateful.resourceCountIs('AWS::S3::Bucket', 2);
    stateful.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('stateful: deploys the local model directory and the registry when present', () => {
    stateful.hasResourceProperties('Custom::CDKBucketDeployment', { DestinationBucketKeyPrefix: 'models/' });
    stateful.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'spillway/spillway/api-key',
      GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }),
    });
  });

  it('serving: one nodejs22.x function per variant, memory right-sized from the profiles for the SLO', () => {
    serving.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Runtime: 'nodejs22.x', FunctionName: Match.stringLikeRegexp('^spillway-') },
      VARIANTS.length,
    );
    const profiles = loadProfiles();
    for (const v of VARIANTS) {
      const expected = rightSizeLambdaMemory(profiles.get(v), 150, 1769);
      expect(built.serving.lambdaSizing.get(v)).toEqual(expected);
      serving.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `spillway-${v}`,
        MemorySize: expected.memoryMb,
        Architectures: ['x86_64'],
        Environment: { Variables: Match.objectLike({ SPILLWAY_VARIANT: v, SPILLWAY_HOME: '/tmp/spillway' }) },
      });
    }
    // The zoo variant's file exists in the fake model dir: it is packaged; squeezenet's is not.
    expect(built.serving.functions.get(VARIANTS[0]!)?.packagedModelFiles.map((f) => f.split('/').pop())).toEqual([
      'mobilenetv2-12-int8.onnx',
      'imagenet_synset.txt',
    ]);
    serving.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: `spillway-${VARIANTS[0]}`,
      Environment: { Variables: Match.objectLike({ SPILLWAY_MODEL_DIR: '/var/task/models' }) },
    });
  });

  it('serving: a launch template per instance type, IMDSv2, encrypted EBS, AL2023 per arch', () => {
    // (+1: the controller host's own IMDSv2-only template, spillway-controller-imdsv2)
    serving.resourceCountIs('AWS::EC2::LaunchTemplate', TYPES.length + 1);
    serving.resourcePropertiesCountIs(
      'AWS::EC2::LaunchTemplate',
      { LaunchTemplateName: Match.stringLikeRegexp('^spillway-[a-z0-9]+\\.[a-z0-9]+$') },
      TYPES.length,
    );
    const catalog = loadCatalog();
    for (const t of TYPES) {
      serving.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateName: `spillway-${t}`,
        LaunchTemplateData: Match.objectLike({
          InstanceType: t,
          MetadataOptions: Match.objectLike({ HttpTokens: 'required', InstanceMetadataTags: 'enabled' }),
          BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true, VolumeType: 'gp3' }) })],
        }),
      });
    }
    const arm = catalog.ec2.instanceTypes.filter((t) => TYPES.includes(t.name) && t.arch === 'arm64').length;
    const params = Object.keys(serving.findParameters('*', { Default: Match.stringLikeRegexp('al2023-ami.*arm64') }));
    expect(params.length > 0).toBe(arm > 0);
  });

  it('serving: the VM security group admits the inference port from the controller SG only', () => {
    const ingress = serving.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { FromPort: 8081, ToPort: 8081 },
    });
    const rules = Object.values(ingress);
    expect(rules).toHaveLength(1);
    const rule = rules[0] as { Properties: { SourceSecurityGroupId?: unknown; CidrIp?: unknown } };
    expect(rule.Properties.CidrIp).toBeUndefined();
    expect(JSON.stringify(rule.Properties.SourceSecurityGroupId)).toContain('ControllerSg');
  });

  it('serving: the controller role is scoped to its fleet tag, templates, functions and namespace', () => {
    const policies = serving.findResources('AWS::IAM::Policy', {
      Properties: { PolicyName: Match.stringLikeRegexp('ControllerRole') },
    });
    const doc = JSON.stringify(Object.values(policies)[0]);
    const statements = (Object.values(policies)[0] as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } })
      .Properties.PolicyDocument.Statement;
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid);
    expect(bySid('RunTaggedFromOwnTemplates')?.Condition).toMatchObject({
      StringEquals: { 'aws:RequestTag/spillway:fleet': 'spillway' },
    });
    expect(JSON.stringify(bySid('RunTaggedFromOwnTemplates')?.Condition)).toContain('ec2:LaunchTemplate');
    expect(bySid('TerminateOwnFleetOnly')?.Condition).toEqual({
      StringEquals: { 'ec2:ResourceTag/spillway:fleet': 'spillway' },
    });
    expect(bySid('OwnMetricNamespace')?.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'Spillway' } });
    expect(bySid('OwnFunctions')?.Action).toContain('lambda:UpdateFunctionConfiguration');
    expect(JSON.stringify(bySid('OwnFunctions')?.Resource)).not.toContain('"*"');
    expect(doc).not.toContain('"ec2:*"');
    // The controller host itself must not carry the fleet tag (it would be adoptable/terminable).
    const instances = serving.findResources('AWS::EC2::Instance');
    for (const inst of Object.values(instances)) {
      const tags = (inst as { Properties: { Tags?: Array<{ Key: string }> } }).Properties.Tags ?? [];
      expect(tags.some((t) => t.Key === 'spillway:fleet')).toBe(false);
    }
  });

  it('serving: public ALB endpoint with outputs for the URL and the API key command', () => {
    serving.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    serving.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      HealthCheckPath: '/healthz',
    });
    const outputs = serving.findOutputs('*');
    const names = Object.keys(outputs).join(' ');
    expect(names).toMatch(/EndpointUrl/);
    expect(names).toMatch(/EndpointApiKeyCommand/);
    // The live dashboard is the controller's own page at / through the same ALB.
    expect(names).toMatch(/EndpointLiveDashboardUrl/);
  });

  it('serving: dashboard uses the adapter metric names; alarms on SLO violation rate and spend', () => {
    const dash = Object.values(serving.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dash);
    for (const m of [METRICS.requests, METRICS.vmCount, METRICS.lambdaShare, METRICS.sloViolations, METRICS.dollarsPerHour]) {
      expect(body).toContain(m);
    }
    serving.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    serving.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 3, MetricName: METRICS.dollarsPerHour });
    serving.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0.05,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(r > 0, v / r, 0)' })]),
    });
  });

  it('serving: the fleet reaper terminates the fleet on delete, after the controller and before the network', () => {
    serving.resourceCountIs('Custom::SpillwayFleetReaper', 1);
    const [reaperId, reaper] = Object.entries(serving.findResources('Custom::SpillwayFleetReaper'))[0] as [
      string,
      { Properties: Record<string, unknown>; DependsOn?: string[] },
    ];
    expect(reaper.Properties.FleetName).toBe('spillway');
    // Deleted before what it depends on: the VPC (its subnets), the VM and controller security groups.
    const deps = reaper.DependsOn ?? [];
    expect(deps.some((d) => d.startsWith('Vpc'))).toBe(true);
    expect(deps.some((d) => d.startsWith('VmsVmSg'))).toBe(true);
    expect(deps.some((d) => d.startsWith('ControllerSg'))).toBe(true);
    // The controller host depends on it: deleted (stops launching) before the reaper runs.
    const [, host] = Object.entries(serving.findResources('AWS::EC2::Instance'))[0] as [string, { DependsOn?: string[] }];
    expect(host.DependsOn ?? []).toContain(reaperId);
    // Its handlers may terminate only fleet-tagged instances.
    const policies = Object.values(serving.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('FleetReaperRole') } }));
    const statements = (policies[0] as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement;
    expect(statements.find((x) => x.Sid === 'TerminateOwnFleetOnly')?.Condition).toEqual({
      StringEquals: { 'ec2:ResourceTag/spillway:fleet': 'spillway' },
    });
    serving.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.onEvent', Runtime: 'nodejs22.x' });
    serving.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.isComplete', Runtime: 'nodejs22.x' });
  });

  it('serving: every alarm notifies the alarm topic (TLS-only); an alarm watches the controller target group', () => {
    serving.resourceCountIs('AWS::SNS::Topic', 1);
    const topicId = Object.keys(serving.findResources('AWS::SNS::Topic'))[0]!;
    const alarms = Object.values(serving.findResources('AWS::CloudWatch::Alarm')) as Array<{ Properties: Record<string, unknown> }>;
    expect(alarms.length).toBe(3);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
    serving.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HealthyHostCount',
      Statistic: 'Minimum',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Dimensions: Match.arrayWith([Match.objectLike({ Name: 'LoadBalancer' }), Match.objectLike({ Name: 'TargetGroup' })]),
    });
    serving.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    // No email without spillway:alarmEmail.
    serving.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('serving: the controller host is replaced when its user data (code or environment) changes', () => {
    const ids = Object.keys(serving.findResources('AWS::EC2::Instance'));
    expect(ids).toHaveLength(1);
    // userDataCausesReplacement: CDK puts a hash of the user data into the logical id.
    const other = synthApp({
      'spillway:modelDir': join(tmpdir(), 'no-such-model-dir'),
      'spillway:variants': VARIANTS.join(','),
      'spillway:instanceTypes': TYPES.join(','),
      'spillway:sloMs': '151',
      'spillway:budgetUsdPerHour': '3',
    });
    const otherIds = Object.keys(Template.fromStack(other.serving).findResources('AWS::EC2::Instance'));
    expect(otherIds).toHaveLength(1);
    expect(otherIds[0]).not.toBe(ids[0]);
    expect(otherIds[0]!.replace(/[0-9a-f]{16}$/, '')).toBe(ids[0]!.replace(/[0-9a-f]{16}$/, ''));
  });
});

describe('Spillway CDK app: options and failure modes', () => {
  it('spillway:alarmEmail subscribes the address to the alarm topic; a bad address fails synth naming the key', () => {
    const built = synthApp({ 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir'), 'spillway:alarmEmail': 'ops@example.com' });
    Template.fromStack(built.serving).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    expect(() => synthApp({ 'spillway:alarmEmail': 'not an email' })).toThrow(/spillway:alarmEmail = "not an email"/);
  });

  it('synth succeeds without a model directory (fresh clone) and deploys only the registry', () => {
    const built = synthApp({ 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') });
    expect(built.stateful.models.modelsDeployed).toBe(false);
    const t = Template.fromStack(built.stateful);
    t.resourceCountIs('Custom::CDKBucketDeployment', 1);
    expect([...built.serving.functions.values()].every((f) => f.packagedModelFiles.length === 0)).toBe(true);
  });

  it("a Spot type planned: EventBridge's Spot warnings go to a TLS-only queue the controller role consumes, and its environment names the queue; without one, no queue (cdk-nag clean both ways)", () => {
    const built = synthApp({ 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir'), 'spillway:instanceTypes': 'c5.large,c5.large:spot' });
    expect(validationErrors(built.app.outdir)).toEqual([]);
    const t = Template.fromStack(built.serving);
    t.resourceCountIs('AWS::SQS::Queue', 1);
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 300 });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SpotWarningsQueue'), 'Arn'] } })],
    });
    // The queue policy: EventBridge may send (this rule only), nobody without TLS.
    const policy = JSON.stringify(t.findResources('AWS::SQS::QueuePolicy'));
    expect(policy).toContain('events.amazonaws.com');
    expect(policy).toContain('aws:SecureTransport');
    // The controller role receives and deletes.
    const roles = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(roles).toMatch(/sqs:ReceiveMessage/);
    expect(roles).toMatch(/sqs:DeleteMessage/);
    const userData = JSON.stringify(t.findResources('AWS::EC2::Instance'));
    expect(userData).toMatch(/SPILLWAY_SPOT_QUEUE_URL=/);
    const none = Template.fromStack(synthApp({ 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir'), 'spillway:instanceTypes': 'c5.large' }).serving);
    none.resourceCountIs('AWS::SQS::Queue', 0);
    none.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('spillway:certificateArn switches the endpoint to HTTPS', () => {
    const built = synthApp({
      'spillway:modelDir': join(tmpdir(), 'no-such-model-dir'),
      'spillway:certificateArn': 'arn:aws:acm:us-east-1:111111111111:certificate/abc',
    });
    Template.fromStack(built.serving).hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
    });
    expect(built.serving.endpoint.url.startsWith('https://')).toBe(true);
  });

  it('plain HTTP (no certificate) is a synth warning naming spillway:certificateArn; HTTPS has none', () => {
    const warnings = (b: BuiltApp) =>
      Annotations.fromStack(b.serving)
        .findWarning('*', Match.stringLikeRegexp('plain HTTP'))
        .map((w) => String(w.entry.data));
    const plain = warnings(synthApp({ 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') }));
    expect(plain).toHaveLength(1);
    expect(plain[0]).toMatch(/spillway:certificateArn=/);
    const https = synthApp({
      'spillway:modelDir': join(tmpdir(), 'no-such-model-dir'),
      'spillway:certificateArn': 'arn:aws:acm:us-east-1:111111111111:certificate/abc',
    });
    expect(warnings(https)).toEqual([]);
  });

  it('two fleets in one account and region: no explicitly named resource collides; each controller has its own IMDSv2 template', () => {
    const names = (b: BuiltApp) => {
      const out: string[] = [];
      for (const st of [b.stateful, b.serving]) {
        for (const [, r] of Object.entries(Template.fromStack(st).toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)) {
          for (const [k, v] of Object.entries(r.Properties ?? {})) {
            // Names that must be unique in an account/region (not inline policy names, per role).
            if (/^(LaunchTemplateName|FunctionName|LogGroupName|DashboardName|Name|BucketName|TopicName)$/.test(k) && typeof v === 'string') {
              out.push(`${r.Type}:${v}`);
            }
          }
        }
      }
      return out;
    };
    const a = synthApp({ 'spillway:fleetName': 'alpha', 'spillway:account': '111111111111' });
    const b = synthApp({ 'spillway:fleetName': 'beta', 'spillway:account': '111111111111' });
    const shared = names(a).filter((n) => names(b).includes(n));
    expect(shared).toEqual([]);
    const serving = Template.fromStack(a.serving);
    serving.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateName: 'alpha-controller-imdsv2',
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 } },
    });
    const [ltId] = Object.keys(serving.findResources('AWS::EC2::LaunchTemplate', { Properties: { LaunchTemplateName: 'alpha-controller-imdsv2' } }));
    serving.hasResourceProperties('AWS::EC2::Instance', {
      LaunchTemplate: { LaunchTemplateName: 'alpha-controller-imdsv2', Version: { 'Fn::GetAtt': [ltId, 'LatestVersionNumber'] } },
    });
    expect(names(a)).toEqual(expect.arrayContaining(['AWS::S3::Bucket:alpha-models-111111111111-us-east-1']));
  });

  it('Session Manager instead of SSH on every host: SSM instance actions on both roles, no key pair, no port 22', () => {
    const b = synthApp({ 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') });
    const t = Template.fromStack(b.serving);
    const policies = Object.values(t.findResources('AWS::IAM::Policy'));
    const withSsm = policies.filter((p) =>
      JSON.stringify(p).includes('"Sid":"SessionManagerInsteadOfSsh"') && JSON.stringify(p).includes('ssmmessages:OpenDataChannel'),
    );
    const roles = withSsm.map((p) => JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles));
    expect(roles.some((r) => r.includes('ControllerRole'))).toBe(true);
    expect(roles.some((r) => r.includes('VmsVmRole'))).toBe(true);
    const json = JSON.stringify(t.toJSON());
    expect(json).not.toContain('"KeyName"');
    for (const sg of [...Object.values(t.findResources('AWS::EC2::SecurityGroup')), ...Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))]) {
      expect(JSON.stringify(sg)).not.toMatch(/"FromPort":22\b/);
    }
  });

  it('bucket names stay within 63 characters for any region: a fleet name too long fails naming spillway:fleetName and its value', () => {
    const long = 'a'.repeat(29);
    expect(() => synthApp({ 'spillway:fleetName': long, 'spillway:region': 'ap-southeast-2' })).toThrow(
      new RegExp(`spillway:fleetName = "${long}": the model bucket name '${long}-models-<12-digit account>-ap-southeast-2' would be 64 characters and S3 allows 63; in ap-southeast-2 use a fleet name of at most 28 characters`),
    );
    const ok = synthApp({ 'spillway:fleetName': 'a'.repeat(28), 'spillway:region': 'ap-southeast-2', 'spillway:account': '111111111111' });
    const bucket = Template.fromStack(ok.stateful).findResources('AWS::S3::Bucket', { Properties: { BucketName: Match.anyValue() } });
    const name = Object.values(bucket).map((r) => (r as { Properties: { BucketName: string } }).Properties.BucketName)[0];
    expect(name).toHaveLength(63);
  });

  it('bad context values fail with the key and the value named', () => {
    expect(() => synthApp({ 'spillway:instanceTypes': 'c5.large,z9.huge' })).toThrow(/z9\.huge/);
    expect(() => synthApp({ 'spillway:sloMs': '-5' })).toThrow(/spillway:sloMs = -5/);
    expect(() => synthApp({ 'spillway:lambdaArchitecture': 'mips' })).toThrow(/spillway:lambdaArchitecture/);
    expect(() => synthApp({ 'spillway:variants': 'Bad Name' })).toThrow(/spillway:variants/);
    expect(() => synthApp({ 'spillway:certificateArn': 'cert' })).toThrow(/spillway:certificateArn = "cert"/);
  });

  it('cdk-nag really runs: an unacknowledged finding fails synth (guards the zero-errors test)', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'spillway-nag-')), builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'NagProbe');
    new s3.Bucket(stack, 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow();
    expect(validationErrors(app.outdir)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
