/**
 * LocalStack suite (`npm run test:localstack`), against a real LocalStack 4.14.0 in host mode
 * (no Docker). Start one with `bash test/localstack/with-localstack.sh npm run test:localstack`
 * (what .ci/run does): it exports LOCALSTACK_ENDPOINT. Without it every test here is reported
 * SKIPPED with the reason; with CI=true and a Python 3.13 on the machine, a missing LocalStack is
 * a failure instead.
 *
 * What LocalStack's free edition cannot do here, and what stands in:
 * - Lambda runs code only in Docker containers: CreateFunction is accepted but the function ends
 *   State=Failed, UpdateFunctionConfiguration answers 500. The LambdaPool cases run against the
 *   local Lambda runtime (controller/local/lambda-runtime), wired through AWS_ENDPOINT_URL_LAMBDA
 *   beside LocalStack for EC2 and CloudWatch; the Failed state is checked on LocalStack itself.
 * - ELBv2 is not in the free edition; the BucketDeployment custom resource is a Lambda. Both are
 *   taken out of the synthesized templates before `cdklocal deploy` (free-edition.ts), each named
 *   with its reason.
 * - LocalStack's CloudFormation has no provider for some types and reports them CREATE_COMPLETE
 *   "as a fallback" without creating anything: the suite reads those from the stack events and
 *   fails on any type not in CFN_FALLBACK_EXPECTED below. The VM launch templates are among them,
 *   so the test creates them through the EC2 API from their synthesized data (intrinsics resolved
 *   against the deployed stack) before Ec2Fleet launches from them.
 * - The public endpoint (an ALB) and the controller host's user data (LocalStack's instances are
 *   records, nothing boots) are not exercised: that needs a real account (infra/README.md).
 * DynamoDB is not used by Spillway, so nothing here needs moto's DynamoDB.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { CloudWatchClient, DescribeAlarmsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetBucketEncryptionCommand, GetBucketPolicyCommand, GetBucketVersioningCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../controller/aws/cloudwatch-metrics.js';
import { Ec2Fleet } from '../../controller/aws/ec2-fleet.js';
import { SqsSpotNotices } from '../../controller/aws/spot-notice-queue.js';
import { SPOT_WARNING_DETAIL_TYPE } from '../../controller/aws/spot-warning-event.js';
import { LambdaPool } from '../../controller/aws/lambda-pool.js';
import { createAwsAdapters } from '../../controller/aws/world.js';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from '../../controller/local/lambda-runtime/index.js';
import { buildApp } from '../../infra/app.js';
import { createMotoRole, uniqueName, zipOneFile } from '../aws/moto.js';
import { NOT_DEPLOYABLE, pruneAssembly, resolveIntrinsics, type Skipped, type Template } from './free-edition.js';

const endpoint = process.env.LOCALSTACK_ENDPOINT;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CREDS = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = process.env.AWS_REGION ?? 'us-east-1';
const SCRIPT = join(REPO, 'test/localstack/with-localstack.sh');
const python313 = spawnSync('bash', [SCRIPT, '--find-python'], { encoding: 'utf8' }).stdout.trim();
const mustRun = process.env.CI === 'true' && python313 !== '';
const skipReason = endpoint
  ? ''
  : python313
    ? `LOCALSTACK_ENDPOINT is not set (run \`bash test/localstack/with-localstack.sh npm run test:localstack\`; Python 3.13 is at ${python313})`
    : `LocalStack cannot run here: no Python 3.13 (needed for host mode without Docker); emulator: ${process.env.SPILLWAY_AWS_EMULATOR ?? 'none'}`;
const ELBV2_NOT_DEPLOYED = NOT_DEPLOYABLE['AWS::ElasticLoadBalancingV2::LoadBalancer'] !== undefined;
const SKIPPED = endpoint ? '' : ` — SKIPPED: ${skipReason}`;
if (!endpoint) console.warn(`[test/localstack] SKIPPED: ${skipReason}`);

/**
 * CloudFormation types LocalStack 4.14 reports CREATE_COMPLETE "as a fallback" without creating
 * them (no resource provider in the free edition), and what that leaves unverified here.
 */
const CFN_FALLBACK_EXPECTED: Readonly<Record<string, string>> = {
  'AWS::EC2::LaunchTemplate': "not created: the VM launch templates are created by this test through the EC2 API from their synthesized data; the controller's own is not",
  'AWS::EC2::SecurityGroupIngress': 'not created: the ALB -> controller -> VM port rules are checked in the synthesized template only (test/infra)',
  'AWS::EC2::SecurityGroupEgress': 'not created: as above',
  'AWS::EC2::FlowLog': 'not created: VPC flow logs are not verified',
  'AWS::CloudWatch::Dashboard': 'not created: the dashboard body is checked in the synthesized template only (test/infra)',
};

/** One AWS API call over plain HTTP (LocalStack does not check signatures; no SDK client for these services in the project). */
async function awsJson(service: string, target: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${target} failed: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** CloudFormation query API; returns the <member> blocks as flat records of their leaf elements. */
async function cfnMembers(action: string, params: Record<string, string>): Promise<Array<Record<string, string>>> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/cloudformation/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: '2010-05-15', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action} failed: ${res.status} ${text.slice(0, 300)}`);
  return [...text.matchAll(/<member>([\s\S]*?)<\/member>/g)].map((m) => {
    const rec: Record<string, string> = {};
    for (const f of (m[1] ?? '').matchAll(/<(\w+)>([^<]*)<\/\1>/g)) rec[f[1] ?? ''] = (f[2] ?? '').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    return rec;
  });
}

describe('LocalStack is up', () => {
  // In CI with a Python 3.13 on the machine, LocalStack not running is a failure, not a skip.
  it.skipIf(!endpoint && !mustRun)(`LocalStack 4.14.0 answers /_localstack/health with EC2, S3, SSM, Secrets Manager, CloudWatch and CloudFormation available${endpoint ? '' : mustRun ? ` — FAILS in CI: ${skipReason}` : SKIPPED}`, async () => {
    if (!endpoint) expect.fail(`CI=true and Python 3.13 is at ${python313}, but ${skipReason}`);
    const health = (await (await fetch(`${endpoint}/_localstack/health`)).json()) as { version: string; services: Record<string, string> };
    expect(health.version).toBe('4.14.0');
    for (const s of ['ec2', 's3', 'ssm', 'secretsmanager', 'cloudwatch', 'cloudformation']) {
      expect(['available', 'running']).toContain(health.services[s]);
    }
  });
});

describe.skipIf(!endpoint)(`AWS adapters against LocalStack (EC2, CloudWatch)${SKIPPED}`, () => {
  const ep = endpoint ?? '';
  const fleetName = uniqueName('ls');
  let ec2: EC2Client;

  beforeAll(async () => {
    ec2 = new EC2Client({ endpoint: ep, region, credentials: CREDS });
    const imageId = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    if (!imageId) throw new Error('LocalStack returned no AMIs');
    for (const t of ['c5.large', 'c6g.large']) {
      await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: `${fleetName}-${t}`,
          LaunchTemplateData: { ImageId: imageId, InstanceType: t as 'c5.large' },
        }),
      );
    }
  });
  afterAll(() => ec2?.destroy());

  it('Ec2Fleet: launch with tags, same token -> same instances (LocalStack ignores ClientToken; the fleet dedupes by tag), adoption by a new instance, terminate', async () => {
    const mk = () =>
      new Ec2Fleet({ endpoint: ep, region, credentials: CREDS, fleetName, instanceTypes: ['c5.large', 'c6g.large'], readinessProber: async () => true });
    const fleet = mk();
    const vms = await fleet.launch({ instanceType: 'c5.large', variant: 'v', count: 1, clientToken: 'ls-1' });
    expect(vms).toHaveLength(1);
    expect((await fleet.launch({ instanceType: 'c5.large', variant: 'v', count: 1, clientToken: 'ls-1' })).map((v) => v.id)).toEqual(
      vms.map((v) => v.id),
    );
    const raw = await ec2.send(new DescribeInstancesCommand({ InstanceIds: vms.map((v) => v.id) }));
    const tags = Object.fromEntries((raw.Reservations?.[0]?.Instances?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ 'spillway:fleet': fleetName, 'spillway:variant': 'v' });
    const adopted = await mk().describe();
    expect(adopted.map((v) => v.id)).toContain(vms[0]?.id);
    await fleet.terminate(vms.map((v) => v.id));
    expect((await mk().describe()).map((v) => v.id)).not.toContain(vms[0]?.id);
    await fleet.close();
  });

  it('CloudWatchMetrics: flush lands under the Spillway namespace with the fleet dimension', async () => {
    const m = new CloudWatchMetrics({ endpoint: ep, region, credentials: CREDS, fleetName });
    m.request({ variant: 'v', backend: 'vm', latencyMs: 12, violated: false });
    m.fleet({ vmCount: 1, lambdaShare: 0, dollarsPerHour: 0.1 });
    await m.flush();
    const cw = new CloudWatchClient({ endpoint: ep, region, credentials: CREDS });
    const listed = await cw.send(new ListMetricsCommand({ Namespace: 'Spillway', Dimensions: [{ Name: 'Fleet', Value: fleetName }] }));
    expect((listed.Metrics ?? []).length).toBeGreaterThan(0);
    cw.destroy();
  });
});

describe.skipIf(!endpoint)(`Lambda: LocalStack without Docker, and LambdaPool on the local Lambda runtime beside LocalStack${SKIPPED}`, () => {
  const ep = endpoint ?? '';
  const variant = 'resnet18-w025-s112-synthetic';
  const fleet = uniqueName('lsw');
  let rt: LocalLambdaRuntime;
  const saved = { ...process.env };

  beforeAll(async () => {
    rt = await startLocalLambdaRuntime({ functions: [{ functionName: `${fleet}-${variant}`, variant, memoryMb: 1769 }], keepAliveMs: 60_000 });
  });
  afterAll(async () => {
    process.env = saved;
    await rt?.close();
  });

  it("LocalStack's own Lambda (needs Docker): CreateFunction is accepted, the function ends Failed, LambdaPool.describe reports Failed and setMemory is refused", async () => {
    const lambda = new LambdaClient({ endpoint: ep, region, credentials: CREDS });
    const prefix = `${uniqueName('ls')}-`;
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: `${prefix}v`,
        Runtime: 'nodejs22.x',
        Role: await createMotoRole(ep, uniqueName('ls-role')),
        Handler: 'index.handler',
        MemorySize: 512,
        Code: { ZipFile: zipOneFile('index.mjs', 'export const handler = async () => ({ statusCode: 200 });') },
      }),
    );
    const pool = new LambdaPool({ endpoint: ep, region, credentials: CREDS, functionPrefix: prefix, variants: ['v'] });
    let state = '';
    for (let i = 0; i < 60 && state !== 'Failed' && state !== 'Active'; i++) {
      state = (await pool.describe())[0]?.state ?? '';
      if (state === 'Pending') await new Promise((r) => setTimeout(r, 500));
    }
    // If a LocalStack release runs Lambda without Docker, this fails: move the cases below back here.
    expect(state).toBe('Failed');
    await expect(pool.setMemory('v', 1024)).rejects.toThrow();
    lambda.destroy();
  });

  it('createAwsAdapters with AWS_ENDPOINT_URL=LocalStack and AWS_ENDPOINT_URL_LAMBDA=local Lambda runtime: setMemory on the runtime, launch and metrics on LocalStack', async () => {
    const ec2 = new EC2Client({ endpoint: ep, region, credentials: CREDS });
    const imageId = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `${fleet}-c5.large`, LaunchTemplateData: { ImageId: imageId, InstanceType: 'c5.large' } }));
    Object.assign(process.env, { AWS_ENDPOINT_URL: ep, AWS_ENDPOINT_URL_LAMBDA: rt.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: region });
    const world = createAwsAdapters({
      fleet,
      variants: [variant],
      instanceTypes: ['c5.large'],
      launchTemplatePattern: '{fleet}-{instanceType}',
      vmPort: 8081,
      metricsMode: 'api',
    });
    await world.pool.setMemory(variant, 1024);
    expect(await world.pool.describe()).toEqual([expect.objectContaining({ variant, memoryMb: 1024, state: 'Active' })]);
    const vms = await world.fleet.launch({ instanceType: 'c5.large', variant, count: 1, clientToken: uniqueName('t') });
    expect(vms).toHaveLength(1);
    await world.fleet.terminate(vms.map((v) => v.id));
    world.metrics?.fleet({ vmCount: 1, lambdaShare: 0.5, dollarsPerHour: 0.2 });
    await world.metrics?.flush();
    const cw = new CloudWatchClient({ endpoint: ep, region, credentials: CREDS });
    const listed = await cw.send(new ListMetricsCommand({ Namespace: 'Spillway', Dimensions: [{ Name: 'Fleet', Value: fleet }] }));
    expect((listed.Metrics ?? []).length).toBeGreaterThan(0);
    await world.fleet.close();
    cw.destroy();
    ec2.destroy();
  });
});

describe.skipIf(!endpoint)(`cdklocal deploy of what the free edition supports${SKIPPED}`, () => {
  const ep = endpoint ?? '';
  const fleet = 'lstest';
  const work = mkdtempSync(join(tmpdir(), 'spillway-ls-'));
  const synthDir = join(work, 'synth');
  const prunedDir = join(work, 'pruned');
  const outputsFile = join(work, 'outputs.json');
  const contextFile = join(REPO, 'cdk.context.json');
  const hadContextFile = existsSync(contextFile);
  let skipped: Skipped[] = [];
  let outputs: Record<string, Record<string, string>> = {};
  const resources = new Map<string, string>(); // logical id -> physical id (both stacks)
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: ep,
    AWS_ENDPOINT_URL_S3: ep, // cdklocal refuses AWS_ENDPOINT_URL alone; an IP endpoint means path-style S3
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: region,
  };
  const ec2 = new EC2Client({ endpoint: ep, region, credentials: CREDS });
  /** The deployed SpotWarnings queue (an AWS::SQS::Queue's physical id is its URL). */
  const spotQueueUrl = (): string => {
    const urls = [...resources.entries()].filter(([logical]) => /^SpotWarningsQueue[0-9A-F]{8}$/.test(logical)).map(([, v]) => v);
    expect(urls).toHaveLength(1);
    return urls[0]!;
  };

  afterAll(() => {
    ec2.destroy();
    // cdk writes an empty cdk.context.json into the cwd; leave the repo as it was.
    if (!hadContextFile && existsSync(contextFile) && readFileSync(contextFile, 'utf8').trim() === '{}') rmSync(contextFile);
    rmSync(work, { recursive: true, force: true });
  });

  it('synthesizes both stacks, takes out what LocalStack cannot run (each with its reason), bootstraps and deploys with cdklocal', async () => {
    // Lambda bundling skipped: the functions are taken out. The VM/controller app bundles are real
    // (spillway:buildAppBundle): cdklocal publishes them and the launch-template test reads them back.
    const app = new App({
      outdir: synthDir,
      context: {
        'aws:cdk:bundling-stacks': [],
        'spillway:buildAppBundle': true,
        'spillway:fleetName': fleet,
        'spillway:region': region,
        // A Spot type, so the stack carries the EventBridge rule and queue for EC2's Spot warnings.
        'spillway:instanceTypes': 'c5.large,c6g.large,c5.xlarge,c5.large:spot',
      },
      builtinCloudFormationValidation: false,
    });
    buildApp(app).app.synth();
    skipped = pruneAssembly(synthDir, prunedDir);
    for (const s of skipped) console.log(`[test/localstack] NOT DEPLOYED ${s.stack}/${s.logicalId} (${s.type}): ${s.reason}`);
    expect(new Set(skipped.map((s) => s.type))).toEqual(
      new Set([
        'AWS::Lambda::Function',
        'AWS::Lambda::LayerVersion',
        'Custom::CDKBucketDeployment',
        'AWS::ElasticLoadBalancingV2::LoadBalancer',
        'AWS::ElasticLoadBalancingV2::Listener',
        'AWS::ElasticLoadBalancingV2::TargetGroup',
        'Custom::SpillwayFleetReaper',
        'AWS::StepFunctions::StateMachine',
        'AWS::IAM::Policy statement',
        'AWS::IAM::Policy',
        'AWS::CloudWatch::Alarm',
        'Output',
      ]),
    );
    const opts = { cwd: REPO, env, stdio: 'inherit' as const, timeout: 600_000 };
    execFileSync('npx', ['cdklocal', 'bootstrap', `aws://000000000000/${region}`, '--app', prunedDir], opts);
    execFileSync('npx', ['cdklocal', 'deploy', '--app', prunedDir, '--all', '--require-approval', 'never', '--outputs-file', outputsFile], opts);
    outputs = JSON.parse(readFileSync(outputsFile, 'utf8')) as typeof outputs;
    expect(Object.keys(outputs).sort()).toEqual(['LstestServing', 'LstestStateful']);
    for (const stack of ['LstestStateful', 'LstestServing']) {
      const [desc] = await cfnMembers('DescribeStacks', { StackName: stack });
      expect(desc?.StackStatus).toBe('CREATE_COMPLETE');
      for (const r of await cfnMembers('DescribeStackResources', { StackName: stack })) {
        if (r.LogicalResourceId && r.PhysicalResourceId) resources.set(r.LogicalResourceId, r.PhysicalResourceId);
      }
    }
  });

  it('every resource LocalStack reported "deployed as a fallback" (not created) is a known, documented type', async () => {
    const fallback = new Map<string, string>();
    for (const stack of ['LstestStateful', 'LstestServing']) {
      for (const e of await cfnMembers('DescribeStackEvents', { StackName: stack })) {
        if (/deployed as a fallback/.test(e.ResourceStatusReason ?? '')) fallback.set(`${stack}/${e.LogicalResourceId}`, e.ResourceType ?? '');
      }
    }
    for (const [id, type] of fallback) console.log(`[test/localstack] NOT CREATED by LocalStack ${id} (${type}): ${CFN_FALLBACK_EXPECTED[type] ?? 'UNEXPECTED'}`);
    expect([...fallback.values()].filter((t) => !CFN_FALLBACK_EXPECTED[t])).toEqual([]);
    expect(fallback.size).toBeGreaterThan(0);
  });

  it('S3: the model bucket is versioned, encrypted and denies non-TLS access', async () => {
    const bucket = outputs.LstestStateful?.ModelBucketName ?? '';
    expect(bucket).toBe(`${fleet}-models-000000000000-${region}`);
    const s3 = new S3Client({ endpoint: ep, region, credentials: CREDS, forcePathStyle: true });
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    expect(enc.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}') as {
      Statement: Array<{ Effect: string; Condition?: { Bool?: Record<string, string> } }>;
    };
    expect(policy.Statement.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
    s3.destroy();
  });

  it('Secrets Manager: the API key secret holds 40 generated characters', async () => {
    const arn = outputs.LstestStateful?.ApiKeySecretArn;
    expect(arn).toContain(`spillway/${fleet}/api-key`);
    const secret = await awsJson('secretsmanager', 'secretsmanager.GetSecretValue', { SecretId: arn });
    expect(String(secret.SecretString)).toHaveLength(40);
  });

  it('SSM + EC2: the controller host runs the AL2023 AMI resolved from the SSM public parameter, with its aws-world user data (subnet/SG not checked: LocalStack ignores NetworkInterfaces)', async () => {
    const param = await awsJson('ssm', 'AmazonSSM.GetParameter', { Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64' });
    const ami = (param.Parameter as { Value: string }).Value;
    expect(ami).toMatch(/^ami-/);
    // The logical id carries a hash of the user data (userDataCausesReplacement): find it by prefix.
    const ids = [...resources.entries()].filter(([logical, physical]) => logical.startsWith('ControllerInstance') && physical.startsWith('i-'));
    expect(ids.map(([logical]) => logical)).toHaveLength(1);
    const instanceId = ids[0]?.[1] ?? '';
    const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]?.Instances?.[0];
    expect(inst?.ImageId).toBe(ami);
    // Not checked: its subnet and security group. LocalStack 4.14's AWS::EC2::Instance ignores
    // NetworkInterfaces (how CDK places an instance with a public IP), so it lands in the default VPC.
    const ud = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'userData' }));
    const userData = Buffer.from(ud.UserData?.Value ?? '', 'base64').toString('utf8');
    expect(userData).toContain('SPILLWAY_WORLD=aws');
    // The controller reads the deployed Spot-warning queue (its URL, resolved at deploy).
    expect(userData).toContain(`SPILLWAY_SPOT_QUEUE_URL=${spotQueueUrl()}`);
    expect(userData).toContain('ExecStart=/opt/spillway/node/bin/node --max-semi-space-size=64 /opt/spillway/app/dist/controller.mjs');
    expect(userData).not.toMatch(/\b(dnf|yum|npm|npx|tsx)\b|\|\|\s*true/);
  });

  it('CloudWatch: the spend alarm and the SLO-violation-rate alarm (metric math) exist on the Spillway namespace', async () => {
    const cw = new CloudWatchClient({ endpoint: ep, region, credentials: CREDS });
    const alarms = (await cw.send(new DescribeAlarmsCommand({}))).MetricAlarms ?? [];
    const ofFleet = (m: { Namespace?: string; Dimensions?: Array<{ Name?: string; Value?: string }> } | undefined) =>
      m?.Namespace === 'Spillway' && (m.Dimensions ?? []).some((d) => d.Name === 'Fleet' && d.Value === fleet);
    const spend = alarms.find((a) => ofFleet(a) && a.MetricName === 'DollarsPerHour');
    expect(spend?.Threshold).toBe(2);
    // The SLO alarm is metric math over Requests and SloViolations.
    const slo = alarms.find((a) => (a.Metrics ?? []).some((m) => ofFleet(m.MetricStat?.Metric) && m.MetricStat?.Metric?.MetricName === 'SloViolations'));
    expect(slo?.Threshold).toBe(0.05);
    expect(slo?.Metrics?.map((m) => m.MetricStat?.Metric?.MetricName ?? m.Expression).sort()).toEqual(['IF(r > 0, v / r, 0)', 'Requests', 'SloViolations']);
    cw.destroy();
  });

  it("Ec2Fleet launches VMs from the synthesized launch templates into the deployed subnets (templates created through the EC2 API: LocalStack's CloudFormation does not create them)", async () => {
    const subnets = [...resources.entries()].filter(([k]) => /^VpcpublicSubnet\dSubnet/.test(k)).map(([, v]) => v);
    expect(subnets).toHaveLength(2);
    const described = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnets }));
    expect(described.Subnets?.every((s) => s.VpcId === resources.get('Vpc8378EB38'))).toBe(true);
    // The templates' own data, with every intrinsic resolved against the deployed stack.
    const template = JSON.parse(readFileSync(join(prunedDir, 'LstestServing.template.json'), 'utf8')) as Template & {
      Parameters?: Record<string, { Type: string; Default?: string }>;
    };
    const parameters = new Map<string, string>();
    for (const [name, p] of Object.entries(template.Parameters ?? {})) {
      if (!p.Type.startsWith('AWS::SSM::Parameter::Value')) continue;
      const got = await awsJson('ssm', 'AmazonSSM.GetParameter', { Name: p.Default });
      parameters.set(name, (got.Parameter as { Value: string }).Value);
    }
    const deployed = { physical: resources, parameters, accountId: '000000000000', region };
    const types = new Map(Object.entries(template.Resources).map(([id, r]) => [id, r.Type]));
    const vmTemplates = Object.values(template.Resources).filter(
      (r) => {
        const name = String((r.Properties as { LaunchTemplateName?: string }).LaunchTemplateName);
        // The controller host's own template (`<fleet>-controller-imdsv2`) is not a VM type's.
        return r.Type === 'AWS::EC2::LaunchTemplate' && name.startsWith(`${fleet}-`) && !name.endsWith('-controller-imdsv2');
      },
    );
    expect(vmTemplates).toHaveLength(3); // c5.large, c6g.large, c5.xlarge
    for (const r of vmTemplates) {
      const props = resolveIntrinsics(r.Properties ?? {}, deployed, types) as { LaunchTemplateName: string; LaunchTemplateData: Record<string, unknown> };
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: props.LaunchTemplateName, LaunchTemplateData: props.LaunchTemplateData }));
    }
    const x86Ami = [...parameters.entries()].find(([k]) => k.includes('x8664'))?.[1];
    const armAmi = [...parameters.entries()].find(([k]) => k.includes('arm64'))?.[1];
    expect(x86Ami).toMatch(/^ami-/);
    const vmSg = resources.get('VmsVmSg2F71BD8B') ?? '';
    const s3 = new S3Client({ endpoint: ep, region, credentials: CREDS, forcePathStyle: true });
    const fleetApi = new Ec2Fleet({ endpoint: ep, region, credentials: CREDS, fleetName: fleet, instanceTypes: ['c5.large', 'c6g.large', 'c5.xlarge'], subnetIds: subnets, readinessProber: async () => true });
    const vms = [
      ...(await fleetApi.launch({ instanceType: 'c5.large', variant: 'squeezenet-caffe2-fp16', count: 1, clientToken: uniqueName('t') })),
      ...(await fleetApi.launch({ instanceType: 'c6g.large', variant: 'squeezenet-caffe2-fp16', count: 1, clientToken: uniqueName('t') })),
    ];
    const insts = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: vms.map((v) => v.id) }))).Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    expect(insts).toHaveLength(2);
    for (const inst of insts) {
      expect(subnets).toContain(inst.SubnetId);
      expect(inst.SecurityGroups?.map((g) => g.GroupId)).toContain(vmSg);
      expect(inst.ImageId).toBe(inst.InstanceType === 'c6g.large' ? armAmi : x86Ami);
      // The VM's boot script from its launch template, and the app asset it downloads is in S3.
      // (Not checked: LocalStack does not apply the templates' MetadataOptions or instance profile.)
      const ud = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: inst.InstanceId, Attribute: 'userData' }));
      const script = Buffer.from(ud.UserData?.Value ?? '', 'base64').toString('utf8');
      // Boots from the shipped bundle only: no package manager, strict mode, checked downloads.
      expect(script).toContain('ExecStart=/opt/spillway/node/bin/node /opt/spillway/app/dist/server.mjs');
      expect(script).toMatch(/^#!\/bin\/bash\nset -euo pipefail\n/);
      expect(script).not.toMatch(/\b(dnf|yum|npm|npx|tsx)\b|\|\|\s*true/);
      const asset = /aws s3 cp --only-show-errors s3:\/\/([^/\s]+)\/(\S+)/.exec(script);
      expect(asset?.[1]).toBe(`cdk-hnb659fds-assets-000000000000-${region}`);
      await s3.send(new HeadObjectCommand({ Bucket: asset?.[1], Key: asset?.[2] }));
      // ... and the object is the bundle of this instance's architecture (its first tar entry).
      const head = await s3.send(new GetObjectCommand({ Bucket: asset?.[1], Key: asset?.[2], Range: 'bytes=0-65535' }));
      const tar = gunzipSync(Buffer.from(await head.Body!.transformToByteArray()), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      const firstEntry = tar.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
      expect(firstEntry).toBe(inst.InstanceType === 'c6g.large' ? 'spillway-arm64/' : 'spillway-x64/');
    }
    await fleetApi.terminate(vms.map((v) => v.id));
    const left = (await fleetApi.describe()).map((v) => v.id);
    expect(vms.filter((v) => left.includes(v.id))).toEqual([]);
    await fleetApi.close();
    s3.destroy();
  });

  it("EventBridge -> SQS -> Ec2Fleet: EC2's Spot warning on the default bus reaches the deployed queue through the deployed rule, and the fleet turns that Spot VM 'terminating' (others untouched, foreign and unreadable messages dropped)", async () => {
    const queueUrl = spotQueueUrl();
    const events = new EventBridgeClient({ endpoint: ep, region, credentials: CREDS });
    const sqs = new SQSClient({ endpoint: ep, region, credentials: CREDS });
    // The deployed rule: EC2's warnings only, into this queue.
    const ruleName = [...resources.entries()].find(([logical]) => /^SpotWarningsRule/.test(logical))?.[1] ?? '';
    const rule = await events.send(new DescribeRuleCommand({ Name: ruleName.split('|').at(-1) }));
    expect(JSON.parse(rule.EventPattern ?? '{}')).toEqual({ source: ['aws.ec2'], 'detail-type': [SPOT_WARNING_DETAIL_TYPE] });
    const targetsOf = await events.send(new ListTargetsByRuleCommand({ Rule: rule.Name }));
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    expect(targetsOf.Targets?.map((t) => t.Arn)).toEqual([queueArn]);

    const warnings: string[] = [];
    const subnets = [...resources.entries()].filter(([k]) => /^VpcpublicSubnet\dSubnet/.test(k)).map(([, v]) => v);
    const fleetApi = new Ec2Fleet({
      endpoint: ep,
      region,
      credentials: CREDS,
      fleetName: fleet,
      instanceTypes: ['c5.large', 'c5.large:spot'],
      subnetIds: subnets,
      readinessProber: async () => true,
      spotNotices: new SqsSpotNotices({ endpoint: ep, region, credentials: CREDS, queueUrl, log: { warn: (_f, m) => warnings.push(m) } }),
    });
    const spot = await fleetApi.launch({ instanceType: 'c5.large:spot', variant: 'squeezenet-caffe2-fp16', count: 1, clientToken: uniqueName('t') });
    const onDemand = await fleetApi.launch({ instanceType: 'c5.large', variant: 'squeezenet-caffe2-fp16', count: 1, clientToken: uniqueName('t') });
    const ids = [spot[0]!.id, onDemand[0]!.id];
    const stateOf = async () => new Map((await fleetApi.describe()).filter((v) => ids.includes(v.id)).map((v) => [v.id, v.state]));
    expect([...(await stateOf()).values()]).toEqual(['ready', 'ready']);

    const warning = (instanceId: string) => ({
      Source: 'aws.ec2',
      DetailType: SPOT_WARNING_DETAIL_TYPE,
      Detail: JSON.stringify({ 'instance-id': instanceId, 'instance-action': 'terminate' }),
      Resources: [`arn:aws:ec2:${region}a:instance/${instanceId}`],
    });
    const put = await events.send(new PutEventsCommand({ Entries: [warning('i-0123456789abcdef0'), warning(spot[0]!.id)] }));
    expect(put.FailedEntryCount ?? 0).toBe(0);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not an event' }));
    let states = await stateOf();
    for (let i = 0; i < 50 && states.get(spot[0]!.id) !== 'terminating'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      states = await stateOf();
    }
    expect(states.get(spot[0]!.id)).toBe('terminating');
    expect(states.get(onDemand[0]!.id)).toBe('ready');
    expect(warnings.some((m) => /ignored: not JSON/.test(m))).toBe(true);
    // Everything received was deleted: the foreign warning and the unreadable message too.
    await fleetApi.describe();
    const left = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect(Number(left.Attributes?.ApproximateNumberOfMessages) + Number(left.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(0);
    await fleetApi.terminate(ids);
    await fleetApi.close();
    events.destroy();
    sqs.destroy();
  });

  // Runs only where the ALB can be deployed (LocalStack Pro, NOT_DEPLOYABLE without ELBv2).
  it.skipIf(ELBV2_NOT_DEPLOYED)(
    `answers /healthz and an authenticated /v1/infer through the public endpoint${ELBV2_NOT_DEPLOYED ? " — SKIPPED: the endpoint is an ALB (ELBv2 is not in LocalStack's free edition) and LocalStack's instances boot nothing; needs a real account (the request path runs locally in test/e2e)" : ''}`,
    async () => {
      const url = Object.entries(outputs.LstestServing ?? {}).find(([k]) => k.includes('EndpointUrl'))?.[1];
      expect(url).toBeDefined();
      const secret = await awsJson('secretsmanager', 'secretsmanager.GetSecretValue', { SecretId: outputs.LstestStateful?.ApiKeySecretArn });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const photo = readFileSync(join(REPO, 'functions/models/samples/ort_goldfish.jpg')).toString('base64');
      const res = await fetch(`${url}/v1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': String(secret.SecretString) },
        body: JSON.stringify({ task: 'image-classification', input: { image: photo }, sloMs: 1000, minAccuracy: 0 }),
      });
      expect(res.status).toBe(200);
    },
  );
});
