/**
 * One minimal stack per construct: prop validation (messages name the prop and the value) and
 * Template assertions for what each construct promises on its own.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/app.js';
import { readInfraConfig } from '../../infra/config.js';
import { AppBundle } from '../../infra/constructs/app-bundle.js';
import { ControllerHost } from '../../infra/constructs/controller-host.js';
import { ModelBucket } from '../../infra/constructs/model-bucket.js';
import { PublicEndpoint } from '../../infra/constructs/public-endpoint.js';
import { SpillwayDashboard } from '../../infra/constructs/spillway-dashboard.js';
import { AlarmTopic } from '../../infra/constructs/alarm-topic.js';
import { FleetReaper } from '../../infra/constructs/fleet-reaper.js';
import { SpotInterruptionQueue } from '../../infra/constructs/spot-interruption-queue.js';
import { VariantFunction } from '../../infra/constructs/variant-function.js';
import { launchTemplateName, VmLaunchTemplates, vmUserData } from '../../infra/constructs/vm-launch-templates.js';
import { idleCostPerHour, rightSizeLambdaMemory } from '../../infra/sizing.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { loadProfiles } from '../../profiles/lib/load.js';

function newStack(): Stack {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'spillway-construct-')),
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  return new Stack(app, 'T', { env: { region: 'us-east-1' } });
}

describe('ModelBucket', () => {
  it('without a model dir: secure bucket, no deployment', () => {
    const stack = newStack();
    const mb = new ModelBucket(stack, 'M', {});
    expect(mb.modelsDeployed).toBe(false);
    const t = Template.fromStack(stack);
    t.resourceCountIs('Custom::CDKBucketDeployment', 0);
    t.hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
  });
  it('validates props', () => {
    expect(() => new ModelBucket(newStack(), 'M', { noncurrentVersionExpirationDays: 0 })).toThrow(
      /noncurrentVersionExpirationDays must be an integer >= 1, got 0/,
    );
    expect(() => new ModelBucket(newStack(), 'M', { registryFile: '/nope.json' })).toThrow(/registryFile does not exist: \/nope\.json/);
  });
});

describe('VariantFunction', () => {
  it('nodejs22.x ESM function named by prefix + variant, own log group, no managed policy', () => {
    const stack = newStack();
    const vf = new VariantFunction(stack, 'F', { variant: 'tiny-net', repoRoot: REPO_ROOT, memoryMb: 1024, functionPrefix: 'x-' });
    expect(vf.functionName).toBe('x-tiny-net');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'x-tiny-net',
      Runtime: 'nodejs22.x',
      MemorySize: 1024,
      Handler: 'index.handler',
      LoggingConfig: Match.objectLike({ LogGroup: Match.anyValue() }),
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/lambda/x-tiny-net', RetentionInDays: 30 });
    const roles = t.findResources('AWS::IAM::Role');
    for (const r of Object.values(roles)) expect(JSON.stringify(r)).not.toContain('AWSLambdaBasicExecutionRole');
  });

  it('runs as many intra-op threads as its memory buys vCPU share (ceil, the estimates rule)', () => {
    for (const [memoryMb, threads] of [
      [1024, '1'],
      [3008, '2'],
      [10240, '6'],
    ] as const) {
      const stack = newStack();
      new VariantFunction(stack, 'F', { variant: 'tiny-net', repoRoot: REPO_ROOT, memoryMb, functionPrefix: 'x-' });
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: memoryMb,
        Environment: { Variables: Match.objectLike({ SPILLWAY_INTRA_OP_THREADS: threads }) },
      });
    }
  });
  it('validates props', () => {
    const base = { repoRoot: REPO_ROOT, memoryMb: 1024 };
    expect(() => new VariantFunction(newStack(), 'F', { ...base, variant: 'Bad.Name' })).toThrow(/VariantFunction variant: name 'Bad\.Name' is not allowed/);
    // the registry's name rule under this construct's prefix: 64 - 'x-'.length = 62 characters at most
    expect(() => new VariantFunction(newStack(), 'F', { ...base, variant: 'a'.repeat(63), functionPrefix: 'x-' })).toThrow(
      /is 63 characters; at most 62 are allowed/,
    );
    expect(() => new VariantFunction(newStack(), 'F', { ...base, variant: 'ok', memoryMb: 64 })).toThrow(
      /memoryMb must be an integer in 128\.\.10240, got 64/,
    );
    expect(() => new VariantFunction(newStack(), 'F', { ...base, variant: 'ok', entry: '/missing.ts' })).toThrow(
      /entry does not exist: \/missing\.ts/,
    );
    expect(() => new VariantFunction(newStack(), 'F', { ...base, variant: 'ok', reservedConcurrency: -1 })).toThrow(
      /reservedConcurrency must be a non-negative integer, got -1/,
    );
  });
});

describe('VmLaunchTemplates', () => {
  const catalog = loadCatalog();
  const types = catalog.ec2.instanceTypes.filter((t) => t.name === 'c5.large' || t.name === 'c7g.large');
  const setup = (over: Partial<{ serverPort: number; rootVolumeGib: number; empty: boolean }> = {}) => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const controllerSecurityGroup = new ec2.SecurityGroup(stack, 'Ctl', { vpc });
    const appBundle = new AppBundle(stack, 'Bundle', { repoRoot: REPO_ROOT });
    const vms = new VmLaunchTemplates(stack, 'Vms', {
      vpc,
      fleetName: 'f1',
      instanceTypes: over.empty ? [] : types,
      controllerSecurityGroup,
      appBundle,
      modelBucket: new s3.Bucket(stack, 'B'),
      ...(over.serverPort !== undefined ? { serverPort: over.serverPort } : {}),
      ...(over.rootVolumeGib !== undefined ? { rootVolumeGib: over.rootVolumeGib } : {}),
    });
    return { stack, vms };
  };
  it('one template per type named by the Ec2Fleet pattern, per-arch AMI, IMDSv2', () => {
    const { stack, vms } = setup();
    expect([...vms.templates.keys()]).toEqual(['c5.large', 'c7g.large']);
    const t = Template.fromStack(stack);
    for (const ty of types) {
      t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateName: launchTemplateName('f1', ty.name),
        LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpTokens: 'required' }) }),
      });
    }
    expect(JSON.stringify(t.findParameters('*'))).toContain('al2023-ami-kernel-6.1-arm64');
  });
  it('user data runs the bundled server under systemd with the variant from the instance tag, no package manager', () => {
    const lines = vmUserData({ bundleUrl: 's3://b/k.tar.gz', modelBucket: 'mb', serverPort: 8081 }).join('\n');
    expect(lines).toContain('meta-data/tags/instance/spillway:variant');
    expect(lines).toContain('Environment=PORT=8081');
    expect(lines).toContain('ExecStart=/opt/spillway/node/bin/node /opt/spillway/app/dist/server.mjs');
    expect(lines).toContain('systemctl enable --now spillway-server.service');
    expect(lines).toContain('aws s3 cp --only-show-errors s3://b/k.tar.gz /opt/spillway/bundle.tar.gz');
    expect(lines).toContain('aws s3 sync --only-show-errors s3://mb/models/ /opt/spillway/models/\n');
    expect(lines).not.toMatch(/\b(dnf|yum|npm|npx|tsx)\b/);
    expect(lines).not.toMatch(/\|\|\s*true/);
    expect(lines.split('\n')[0]).toBe('set -euo pipefail');
    for (const curl of lines.split('\n').filter((l) => /\bcurl\b/.test(l))) expect(curl).toMatch(/curl -fsS/);
  });
  it('each template boots the bundle of its own architecture', () => {
    const { stack } = setup();
    const t = Template.fromStack(stack);
    const keyOf = (name: string) => {
      const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate')).find((r) => r.Properties.LaunchTemplateName === name);
      return /spillway-vm-[a-z0-9_]+|[0-9a-f]{64}\.gz/.exec(JSON.stringify(lt))?.[0];
    };
    const x86 = keyOf(launchTemplateName('f1', 'c5.large'));
    const arm = keyOf(launchTemplateName('f1', 'c7g.large'));
    expect(x86).toBeDefined();
    expect(arm).toBeDefined();
    expect(x86).not.toBe(arm);
  });
  it('validates props', () => {
    expect(() => setup({ empty: true })).toThrow(/instanceTypes must not be empty/);
    expect(() => setup({ serverPort: 70000 })).toThrow(/serverPort must be an integer in 1\.\.65535, got 70000/);
    expect(() => setup({ rootVolumeGib: 2 })).toThrow(/rootVolumeGib must be an integer in 8\.\.1024, got 2/);
  });
});

describe('ControllerHost', () => {
  const setup = (port?: number) => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const vmSg = new ec2.SecurityGroup(stack, 'VmSg', { vpc });
    const lt = new ec2.LaunchTemplate(stack, 'Lt', { launchTemplateName: 'f1-c5.large', securityGroup: vmSg });
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    new ControllerHost(stack, 'C', {
      vpc,
      fleetName: 'f1',
      instanceType: 'c6g.large',
      arch: 'arm64',
      launchTemplates: [lt],
      vmRole: new iam.Role(stack, 'VmRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
      vmSecurityGroup: vmSg,
      functions: [fn],
      apiKeySecret: new secretsmanager.Secret(stack, 'K'),
      appBundle: new AppBundle(stack, 'Bundle', { repoRoot: REPO_ROOT }),
      controller: { sloMs: 150, instanceTypes: ['c5.large'] },
      ...(port !== undefined ? { port } : {}),
    });
    return Template.fromStack(stack);
  };
  it('encrypted IMDSv2 host running the controller under systemd; API key fetched at boot, not in user data', () => {
    const t = setup();
    t.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'c6g.large', Monitoring: true });
    const userData = JSON.stringify(t.findResources('AWS::EC2::Instance'));
    expect(userData).toContain('spillway-controller.service');
    expect(userData).toContain('Environment=SPILLWAY_SLO_MS=150');
    expect(userData).toContain('secretsmanager get-secret-value');
    expect(userData).toContain('ExecStart=/opt/spillway/node/bin/node --max-semi-space-size=64 /opt/spillway/app/dist/controller.mjs');
    expect(userData).toContain('set -euo pipefail');
    expect(userData).not.toMatch(/\b(dnf|yum|npm|npx|tsx)\b/);
    expect(userData).not.toMatch(/set -[a-z]*x/);
    expect(JSON.stringify(t.findParameters('*'))).toContain('arm64');
  });
  it('its role may launch Spot from the templates (the one-time Spot request) and read Spot request status', () => {
    const policies = setup().findResources('AWS::IAM::Policy') as Record<string, { Properties: { PolicyDocument: { Statement: Array<{ Sid?: string }> } } }>;
    const all = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const network = JSON.stringify(all.find((x) => x.Sid === 'RunUsingOwnTemplatesAndNetwork'));
    expect(network).toContain(':spot-instances-request/*');
    expect(JSON.stringify(all.find((x) => x.Sid === 'DescribeHasNoResourceScope'))).toContain('ec2:DescribeSpotInstanceRequests');
  });
  it('validates props', () => {
    expect(() => setup(0)).toThrow(/port must be an integer in 1\.\.65535, got 0/);
  });
});

describe('AppBundle', () => {
  it('one asset per architecture; a placeholder when the stack is not bundled (the real build: vm-bundle.test.ts)', () => {
    const stack = newStack();
    const b = new AppBundle(stack, 'Bundle', { repoRoot: REPO_ROOT });
    const x = b.assetFor('x86_64');
    expect(b.assetFor('x86_64')).toBe(x);
    expect(b.assetFor('arm64').assetHash).not.toBe(x.assetHash);
    expect(b.info.size).toBe(0);
  });
});

describe('PublicEndpoint', () => {
  const setup = (props: { allowedCidr?: string; certificateArn?: string } = {}) => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const sg = new ec2.SecurityGroup(stack, 'Ctl', { vpc });
    const instance = new ec2.Instance(stack, 'I', {
      vpc,
      instanceType: new ec2.InstanceType('c5.large'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      securityGroup: sg,
    });
    new PublicEndpoint(stack, 'E', {
      vpc,
      controllerInstance: instance,
      controllerSecurityGroup: sg,
      apiKeySecret: new secretsmanager.Secret(stack, 'K'),
      accessLogBucket: new s3.Bucket(stack, 'Logs', { encryption: s3.BucketEncryption.S3_MANAGED }),
      ...props,
    });
    return Template.fromStack(stack);
  };
  it('HTTP listener by default; HTTPS + redirect with a certificate; narrowed CIDR', () => {
    setup().hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    const https = setup({ certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc', allowedCidr: '203.0.113.0/24' });
    https.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
    https.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '203.0.113.0/24', FromPort: 443 })]),
    });
  });
  it('validates props', () => {
    expect(() => setup({ allowedCidr: 'everyone' })).toThrow(/allowedCidr must be an IPv4 CIDR, got 'everyone'/);
    expect(() => setup({ certificateArn: 'cert-123' })).toThrow(/certificateArn must be an ACM ARN, got 'cert-123'/);
  });
});

describe('SpillwayDashboard', () => {
  it('validates thresholds', () => {
    expect(() => new SpillwayDashboard(newStack(), 'D', { fleetName: 'f', sloViolationRateThreshold: 1.5, budgetUsdPerHour: 1 })).toThrow(
      /sloViolationRateThreshold must be in \(0, 1\), got 1\.5/,
    );
    expect(() => new SpillwayDashboard(newStack(), 'D', { fleetName: 'f', sloViolationRateThreshold: 0.1, budgetUsdPerHour: 0 })).toThrow(
      /budgetUsdPerHour must be > 0, got 0/,
    );
  });
});

describe('AlarmTopic and FleetReaper', () => {
  it('AlarmTopic: TLS-only topic, email subscription when given, wires every alarm in the scope', () => {
    const stack = newStack();
    const d = new SpillwayDashboard(stack, 'D', { fleetName: 'f', sloViolationRateThreshold: 0.1, budgetUsdPerHour: 1 });
    const topic = new AlarmTopic(stack, 'A', { fleetName: 'f', email: 'ops@example.com' });
    expect(topic.wireAllAlarms(stack)).toBe(2);
    expect(d.unhealthyAlarm).toBeUndefined();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    t.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('^ATopic') })] });
    expect(() => new AlarmTopic(newStack(), 'A', { fleetName: 'f', email: 'ops at example' })).toThrow(
      /AlarmTopic email must be an email address, got 'ops at example'/,
    );
  });
  it('FleetReaper: really bundles its handlers offline with esbuild (the AWS SDK left to the runtime)', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'spillway-reaper-'));
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'R', { env: { region: 'us-east-1' } });
    new FleetReaper(stack, 'Reaper', { fleetName: 'f', repoRoot: REPO_ROOT, outlives: [] });
    app.synth();
    const bundles = readdirSync(outdir)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(outdir, d, 'index.mjs'))
      .filter((f) => existsSync(f));
    expect(bundles.length).toBeGreaterThanOrEqual(1);
    const code = readFileSync(bundles[0]!, 'utf8');
    expect(code).toContain('TerminateInstancesCommand');
    expect(code).toMatch(/from\s*"@aws-sdk\/client-ec2"/);
    expect(code.length).toBeLessThan(50_000);
  });
  it('SpotInterruptionQueue: retention within SQS range, named prop and value otherwise', () => {
    const q = new SpotInterruptionQueue(newStack(), 'S', { fleetName: 'f', retentionS: 120 });
    Template.fromStack(Stack.of(q)).hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 120 });
    expect(() => new SpotInterruptionQueue(newStack(), 'S', { fleetName: 'f', retentionS: 30 })).toThrow(
      /SpotInterruptionQueue retentionS must be an integer in 60\.\.1209600 \(SQS's range\), got 30/,
    );
  });
  it('FleetReaper: validates the fleet name', () => {
    expect(() => new FleetReaper(newStack(), 'R', { fleetName: 'bad name', repoRoot: REPO_ROOT, outlives: [] })).toThrow(
      /FleetReaper fleetName must match \[A-Za-z0-9._-\]\{1,64\}, got 'bad name'/,
    );
  });
});

describe('sizing and config', () => {
  it('right-sizes Lambda memory: cheapest estimate meeting the SLO, else the fastest, else the fallback', () => {
    const profiles = loadProfiles();
    const [name, profile] = [...profiles.entries()][0] ?? [];
    expect(rightSizeLambdaMemory(undefined, 100, 1769)).toEqual({ memoryMb: 1769, source: 'fallback' });
    if (!profile || !name) return;
    const slack = rightSizeLambdaMemory(profile, 1e9, 1769);
    const cheapest = [...profile.lambda].sort((a, b) => a.costPerRequestUsd - b.costPerRequestUsd || a.memoryMb - b.memoryMb)[0]!;
    expect(slack).toMatchObject({ memoryMb: cheapest.memoryMb, source: 'profile-meets-slo' });
    const impossible = rightSizeLambdaMemory(profile, 0.001, 1769);
    const fastest = [...profile.lambda].sort((a, b) => a.p99Ms - b.p99Ms)[0]!;
    expect(impossible).toMatchObject({ memoryMb: fastest.memoryMb, source: 'profile-fastest' });
  });
  it('idle cost comes from the catalog price of the controller type plus fixed ALB/IP/secret prices', () => {
    const catalog = loadCatalog();
    const c5 = idleCostPerHour(catalog, 'c5.large');
    const c6g = idleCostPerHour(catalog, 'c6g.large');
    const price = (n: string) => catalog.ec2.instanceTypes.find((t) => t.name === n)!.pricePerHourUsd;
    expect(c5.totalUsdPerHour - c6g.totalUsdPerHour).toBeCloseTo(price('c5.large') - price('c6g.large'), 10);
    expect(c5.totalUsdPerHour).toBeCloseTo(c5.controllerUsdPerHour + c5.loadBalancerUsdPerHour + c5.otherUsdPerHour, 10);
    expect(() => idleCostPerHour(catalog, 'z9.huge')).toThrow(/z9\.huge/);
  });
  it('config defaults are complete and validated', () => {
    const cfg = readInfraConfig(() => undefined, { repoRoot: REPO_ROOT, env: {} });
    expect(cfg).toMatchObject({ region: 'us-east-1', fleetName: 'spillway', sloMs: 200, lambdaArchitecture: 'x86_64' });
    expect(cfg.variants.length).toBeGreaterThan(0);
    expect(() => readInfraConfig((k) => (k === 'spillway:region' ? 'mars' : undefined), { repoRoot: REPO_ROOT, env: {} })).toThrow(
      /spillway:region = "mars"/,
    );
  });
});
