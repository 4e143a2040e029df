/**
 * "Deploys" the synthesized templates into moto, resource by resource, for the resources the
 * controller and the VMs touch at run time: the VPC and its subnets, the security groups, the VM
 * launch templates (their data exactly as synthesized, every intrinsic resolved against what was
 * created here, the AMI from SSM's public parameter), the API-key secret and the model bucket
 * (with the model files under models/). Everything else in the templates (IAM, ALB, alarms,
 * dashboard, flow logs, the controller host's EC2 instance: the controller runs as a local process
 * instead) is not created: the twin tests the running system, test/infra and test/localstack test
 * the rest of the templates.
 *
 * One substitution, and why: the VPC's CIDR is re-based from 10.x.0.0/16 onto 127.77.0.0/16
 * (subnets keep their offsets, /22 stays /22), because the controller reaches a VM at the
 * PrivateIpAddress EC2 reports: moto hands out addresses from the subnet, and every 127/8 address
 * is bindable on Linux's loopback without privileges, so the VM process listens on exactly the
 * address EC2 gave its instance and the controller's code path (DescribeInstances -> private IP ->
 * http://ip:port) is unchanged.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type DeployedStack, type Json, resolveIntrinsics, type Template } from '../localstack/free-edition.js';
import { resourcesOfType } from './template.js';

/** moto's account. */
export const MOTO_ACCOUNT = '123456789012';
export const TWIN_CIDR_BASE = '127.77';

export interface AwsTarget {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface SynthStack {
  name: string;
  template: Template & { Parameters?: Record<string, { Type: string; Default?: string }>; Outputs?: Record<string, Json> };
}

/** A JSON-protocol AWS call (Secrets Manager, SSM): moto routes by the credential scope and checks no signature. */
export async function awsJson(t: AwsTarget, service: string, target: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${t.endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=${t.credentials.accessKeyId}/20260101/${t.region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${target} failed: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** 10.a.b.c/n -> 127.77.b.c/n (the /16's offsets kept); anything outside 10/8 is refused. */
export function loopbackCidr(cidr: string): string {
  const m = /^10\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m || Number(m[4]) < 16) throw new Error(`twin: VPC CIDR ${cidr} is not a 10.x.0.0/16 (or smaller) block`);
  return `${TWIN_CIDR_BASE}.${m[2]}.${m[3]}/${m[4]}`;
}

const str = (v: Json | undefined): string => (typeof v === 'string' ? v : JSON.stringify(v));

export interface TwinDeployment {
  stacks: Map<string, DeployedStack>;
  /** VM launch templates created: name -> instance type. */
  launchTemplates: Map<string, string>;
  modelBucket: string;
  secretArn: string;
  apiKey: string;
  /** Logical id of the resources created, per stack, for the report. */
  created: string[];
}

/**
 * Creates the resources (see the header) in dependency order: stacks as given (the stateful one
 * first), exports collected on the way for Fn::ImportValue.
 */
export async function deployToMoto(t: AwsTarget, stacks: readonly SynthStack[], opts: { modelDir: string }): Promise<TwinDeployment> {
  const ec2 = new EC2Client({ endpoint: t.endpoint, region: t.region, credentials: t.credentials });
  const s3 = new S3Client({ endpoint: t.endpoint, region: t.region, credentials: t.credentials, forcePathStyle: true });
  const imports = new Map<string, string>();
  const out: TwinDeployment = { stacks: new Map(), launchTemplates: new Map(), modelBucket: '', secretArn: '', apiKey: '', created: [] };
  try {
    for (const stack of stacks) {
      const physical = new Map<string, string>();
      const parameters = new Map<string, string>();
      const deployed: DeployedStack = { physical, parameters, accountId: MOTO_ACCOUNT, region: t.region, imports };
      const types = new Map(Object.entries(stack.template.Resources).map(([id, r]) => [id, r.Type]));
      const resolve = (v: Json): Json => resolveIntrinsics(v, deployed, types);
      for (const [name, p] of Object.entries(stack.template.Parameters ?? {})) {
        if (!p.Type.startsWith('AWS::SSM::Parameter::Value') || !p.Default || p.Default.startsWith('/cdk-bootstrap/')) continue;
        const got = await awsJson(t, 'ssm', 'AmazonSSM.GetParameter', { Name: p.Default });
        parameters.set(name, (got.Parameter as { Value: string }).Value);
      }
      for (const [id, p] of resourcesOfType(stack.template, 'AWS::EC2::VPC')) {
        const v = await ec2.send(new CreateVpcCommand({ CidrBlock: loopbackCidr(str(p.CidrBlock)) }));
        physical.set(id, v.Vpc!.VpcId!);
        out.created.push(`${stack.name}/${id}`);
      }
      let az = 0;
      for (const [id, p] of resourcesOfType(stack.template, 'AWS::EC2::Subnet')) {
        const s = await ec2.send(
          new CreateSubnetCommand({
            VpcId: str(resolve(p.VpcId ?? null)),
            CidrBlock: loopbackCidr(str(p.CidrBlock)),
            // Fn::Select over Fn::GetAZs: the template's i-th AZ.
            AvailabilityZone: `${t.region}${'abcdef'[az++ % 6]}`,
          }),
        );
        physical.set(id, s.Subnet!.SubnetId!);
        out.created.push(`${stack.name}/${id}`);
      }
      for (const [id, p] of resourcesOfType(stack.template, 'AWS::EC2::SecurityGroup')) {
        const g = await ec2.send(
          new CreateSecurityGroupCommand({ GroupName: id, Description: str(p.GroupDescription), VpcId: str(resolve(p.VpcId ?? null)) }),
        );
        physical.set(id, g.GroupId!);
        out.created.push(`${stack.name}/${id}`);
      }
      // Not created (moto does not check the profile a template names): Ref / GetAtt resolve to its name.
      for (const [id] of resourcesOfType(stack.template, 'AWS::IAM::InstanceProfile')) physical.set(id, id);
      for (const [id, p] of resourcesOfType(stack.template, 'AWS::SecretsManager::Secret')) {
        const gen = p.GenerateSecretString as { PasswordLength?: number; ExcludePunctuation?: boolean } | undefined;
        if (!gen?.ExcludePunctuation) throw new Error(`twin: secret ${id} is not an alphanumeric generated secret`);
        // GenerateSecretString, as CloudFormation does it: PasswordLength characters, no punctuation.
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
        const bytes = randomBytes(gen.PasswordLength ?? 32);
        const value = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
        const made = await awsJson(t, 'secretsmanager', 'secretsmanager.CreateSecret', { Name: str(resolve(p.Name ?? id)), SecretString: value });
        physical.set(id, String(made.ARN));
        out.secretArn = String(made.ARN);
        out.apiKey = value;
        out.created.push(`${stack.name}/${id}`);
      }
      for (const [id, p] of resourcesOfType(stack.template, 'AWS::S3::Bucket')) {
        if (p.BucketName === undefined) continue; // the access-log bucket: nothing at run time reads it
        const name = str(resolve(p.BucketName));
        await s3.send(new CreateBucketCommand({ Bucket: name }));
        physical.set(id, name);
        out.created.push(`${stack.name}/${id}`);
        if (/-models-/.test(name)) {
          out.modelBucket = name;
          // What the stack's BucketDeployment uploads from spillway:modelDir: the model files under models/.
          for (const f of readdirSync(opts.modelDir)) {
            await s3.send(new PutObjectCommand({ Bucket: name, Key: `models/${f}`, Body: readFileSync(join(opts.modelDir, f)) }));
          }
        }
      }
      for (const [id, p] of resourcesOfType(stack.template, 'AWS::Lambda::Function')) {
        if (typeof p.FunctionName === 'string') physical.set(id, p.FunctionName);
      }
      for (const [id, p] of resourcesOfType(stack.template, 'AWS::EC2::LaunchTemplate')) {
        const name = str(p.LaunchTemplateName);
        // The controller host's own IMDSv2 template belongs to its EC2 instance, which the twin does not launch.
        if (name.endsWith('-controller-imdsv2')) continue;
        const props = resolve(p) as { LaunchTemplateName: string; LaunchTemplateData: Record<string, unknown> };
        await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: props.LaunchTemplateName, LaunchTemplateData: props.LaunchTemplateData }));
        out.launchTemplates.set(props.LaunchTemplateName, String(props.LaunchTemplateData.InstanceType));
        physical.set(id, props.LaunchTemplateName);
        out.created.push(`${stack.name}/${id}`);
      }
      for (const o of Object.values(stack.template.Outputs ?? {}) as Array<{ Value?: Json; Export?: { Name?: Json } }>) {
        if (!o.Export?.Name) continue;
        try {
          imports.set(str(resolve(o.Export.Name)), str(resolve(o.Value ?? null)));
        } catch {
          // an export of a resource the twin does not create (e.g. an ARN attribute): never imported at run time
        }
      }
      out.stacks.set(stack.name, deployed);
    }
  } finally {
    ec2.destroy();
    s3.destroy();
  }
  if (!out.modelBucket) throw new Error('twin: no model bucket in the templates');
  if (!out.secretArn) throw new Error('twin: no API-key secret in the templates');
  if (out.launchTemplates.size === 0) throw new Error('twin: no VM launch template in the templates');
  return out;
}
