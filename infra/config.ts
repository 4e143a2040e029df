/**
 * Deployment configuration, read from CDK context (cdk.json "context" or `-c key=value`) and
 * validated fail-fast with zod: a bad value stops synth with a message naming the key and the
 * accepted values. Every key has a default so `npx cdk synth` works with no arguments.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { variantNameProblem } from '../functions/engine/variant-name.js';
import { ec2TypeOf, isSpotType, loadCatalog, withSpotTypes } from '../profiles/catalog.js';
import { EMAIL_PATTERN } from './constructs/alarm-topic.js';
import { describeIssues } from '../functions/engine/zod-issues.js';

/** S3's limit on bucket names. */
export const S3_BUCKET_NAME_MAX = 63;

const csv = (def: string[]) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) =>
      v === undefined ? def : (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean),
    );

const num = (def: number) =>
  z
    .union([z.number(), z.string()])
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : Number(v)));

export const InfraConfigSchema = z.object({
  /** spillway:region — AWS region. @default CDK_DEFAULT_REGION or us-east-1 */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region like us-east-1'),
  /** spillway:account — AWS account id; unset = environment-agnostic synth. */
  account: z
    .string()
    .regex(/^\d{12}$/, 'a 12-digit account id')
    .optional(),
  /** spillway:fleetName — tag value and name prefix of everything deployed. @default 'spillway' */
  fleetName: z.string().regex(/^[a-z][a-z0-9-]{1,30}$/, 'lowercase letters, digits, dashes (2-31 chars)'),
  /** spillway:variants — model variants served (one Lambda function each). */
  variants: z.array(z.string()).min(1),
  /**
   * spillway:instanceTypes — EC2 types the planner may buy (must be in profiles/catalog.json); a
   * `<type>:spot` entry (e.g. `c5.large,c5.large:spot`) lets it buy that type on the Spot market too.
   */
  instanceTypes: z.array(z.string()).min(1),
  /**
   * spillway:maxVms — VMs (booting + ready) the controller may run at once.
   * @default unset: the controller's aws-world default (controller/config/schema.ts)
   */
  maxVms: z.number().int().min(0).max(1_000).optional(),
  /**
   * spillway:lambdaConcurrency — Lambda concurrency the controller plans within.
   * @default unset: the controller reads the account's unreserved concurrency at start
   */
  lambdaConcurrency: z.number().int().min(1).max(100_000).optional(),
  /**
   * spillway:vcpuQuota — vCPUs the fleet's VMs may hold (the region's On-Demand Standard instances
   * quota less other use). @default unset: only maxVms limits the plan
   */
  vcpuQuota: z.number().int().min(1).max(100_000).optional(),
  /** spillway:sloMs — latency SLO used to right-size Lambda memory and in the alarm. @default 200 */
  sloMs: z.number().int().positive().max(300_000),
  /** spillway:budgetUsdPerHour — spend alarm threshold. @default 2 */
  budgetUsdPerHour: z.number().positive(),
  /** spillway:sloViolationRateAlarm — alarm when violations/requests exceeds this over 5 min. @default 0.05 */
  sloViolationRateAlarm: z.number().gt(0).lt(1),
  /** spillway:lambdaArchitecture. @default 'x86_64' (arm64 needs sharp's linux-arm64 packages installed) */
  lambdaArchitecture: z.enum(['x86_64', 'arm64']),
  /** spillway:lambdaMemoryMb — used when no profile exists for a variant. @default 1769 (1 vCPU) */
  lambdaMemoryMb: z.number().int().min(128).max(10_240),
  /**
   * spillway:routers — run this many router instances in an Auto Scaling group across 2 AZs (one
   * elected planner, a DynamoDB lease table) instead of the single controller host.
   * @default unset: one controller host
   */
  routers: z.number().int().min(2).max(20).optional(),
  /** spillway:controllerInstanceType — controller host, or each router (in the catalog, so idle cost is computable). */
  controllerInstanceType: z.string(),
  /** spillway:modelDir — local model directory uploaded to S3 and packaged; absent = skipped. */
  modelDir: z.string().optional(),
  /** spillway:certificateArn — ACM certificate for HTTPS on the ALB. @default none (HTTP on 80) */
  certificateArn: z.string().startsWith('arn:', 'an ACM certificate ARN').optional(),
  /** spillway:allowedCidr — who may call the public endpoint. @default 0.0.0.0/0 (API key required) */
  allowedCidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR'),
  /** spillway:alarmEmail — subscribed to the alarm topic (SNS mails a confirmation first). @default none */
  alarmEmail: z.string().regex(EMAIL_PATTERN, 'an email address like ops@example.com').optional(),
});
export type InfraConfig = z.infer<typeof InfraConfigSchema>;

const optionalNum = z
  .union([z.number(), z.string()])
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : Number(v)));

const RawSchema = z.object({
  region: z.string().optional(),
  account: z.string().optional(),
  fleetName: z.string().optional(),
  variants: csv(['mobilenet-v2-10-int8-zoo', 'squeezenet-caffe2-fp16']),
  instanceTypes: csv(['c5.large', 'c6g.large', 'c5.xlarge']),
  sloMs: num(200),
  maxVms: optionalNum,
  lambdaConcurrency: optionalNum,
  vcpuQuota: optionalNum,
  budgetUsdPerHour: num(2),
  sloViolationRateAlarm: num(0.05),
  lambdaArchitecture: z.string().optional(),
  lambdaMemoryMb: num(1769),
  routers: optionalNum,
  controllerInstanceType: z.string().optional(),
  modelDir: z.string().optional(),
  allowedCidr: z.string().optional(),
  certificateArn: z.string().optional(),
  alarmEmail: z.string().optional(),
});

/** Default local model directory: $SPILLWAY_MODEL_DIR, else ../shared/models beside the repo. */
export function defaultModelDir(repoRoot: string, env = process.env): string | undefined {
  const candidates = [env.SPILLWAY_MODEL_DIR, join(repoRoot, '..', 'shared', 'models')];
  for (const c of candidates) if (c && existsSync(c)) return resolve(c);
  return undefined;
}

/** Reads `spillway:<key>` context values through `get` (e.g. app.node.tryGetContext). */
export function readInfraConfig(
  get: (key: string) => unknown,
  opts: { repoRoot: string; env?: NodeJS.ProcessEnv } = { repoRoot: process.cwd() },
): InfraConfig {
  const env = opts.env ?? process.env;
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(RawSchema.shape)) {
    const v = get(`spillway:${key}`);
    if (v !== undefined) raw[key] = v;
  }
  const parsedRaw = RawSchema.safeParse(raw);
  if (!parsedRaw.success) throw new Error(`invalid spillway:* context: ${z.prettifyError(parsedRaw.error)}`);
  const r = parsedRaw.data;
  const candidate = {
    ...r,
    region: r.region ?? env.CDK_DEFAULT_REGION ?? 'us-east-1',
    account: r.account ?? env.CDK_DEFAULT_ACCOUNT,
    fleetName: r.fleetName ?? 'spillway',
    lambdaArchitecture: r.lambdaArchitecture ?? 'x86_64',
    controllerInstanceType: r.controllerInstanceType ?? 'c5.large',
    modelDir: r.modelDir ?? defaultModelDir(opts.repoRoot, env),
    allowedCidr: r.allowedCidr ?? '0.0.0.0/0',
  };
  const parsed = InfraConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    const msg = describeIssues(parsed.error.issues, {
      max: 10,
      label: (path, i) => `spillway:${path} = ${JSON.stringify(pick(candidate, i.path))}`,
    });
    throw new Error(`invalid deployment configuration: ${msg}`);
  }
  // Function names are `${fleetName}-${variant}` (serving-stack.ts): the registry's name rule under that prefix.
  for (const v of parsed.data.variants) {
    const problem = variantNameProblem(v, `${parsed.data.fleetName}-`);
    if (problem) throw new Error(`invalid deployment configuration: spillway:variants: ${problem}`);
  }
  // The model bucket is `${fleetName}-models-${account}-${region}` (stacks/stateful-stack.ts); S3
  // allows 63 characters. Without an account (env-agnostic synth) its 12 digits are counted.
  const { fleetName, region, account } = parsed.data;
  const bucketLen = `${fleetName}-models-`.length + 12 + 1 + region.length;
  if (bucketLen > S3_BUCKET_NAME_MAX) {
    const shown = `${fleetName}-models-${account ?? '<12-digit account>'}-${region}`;
    throw new Error(
      `invalid deployment configuration: spillway:fleetName = ${JSON.stringify(fleetName)}: the model bucket name '${shown}' ` +
        `would be ${bucketLen} characters and S3 allows ${S3_BUCKET_NAME_MAX}; in ${region} use a fleet name of at most ` +
        `${S3_BUCKET_NAME_MAX - (bucketLen - fleetName.length)} characters`,
    );
  }
  // `<type>:spot` is accepted for every type with Spot prices in the catalog (bought on the Spot market).
  const catalog = withSpotTypes(loadCatalog());
  const known = catalog.ec2.instanceTypes.map((t) => t.name);
  for (const t of [...parsed.data.instanceTypes, parsed.data.controllerInstanceType]) {
    if (!known.includes(t)) {
      throw new Error(`invalid deployment configuration: instance type '${t}' is not in profiles/catalog.json (${known.join(', ')})`);
    }
  }
  if (isSpotType(parsed.data.controllerInstanceType)) {
    throw new Error(
      `invalid deployment configuration: spillway:controllerInstanceType = '${parsed.data.controllerInstanceType}': the controller and routers run on-demand (a reclaim would take the endpoint down); use '${ec2TypeOf(parsed.data.controllerInstanceType)}'`,
    );
  }
  return parsed.data;
}

function pick(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) cur = (cur as Record<PropertyKey, unknown> | undefined)?.[p];
  return cur;
}
