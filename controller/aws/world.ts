/**
 * Wiring for the "aws" world: builds the three AWS adapters from the environment the CDK
 * stack gives the controller host (infra/constructs/controller-host.ts user data), validated
 * fail-fast. Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL...), so pointing
 * the same variables at moto, LocalStack or the local Lambda runtime works unchanged.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { CloudWatchMetrics } from './cloudwatch-metrics.js';
import { Ec2Fleet } from './ec2-fleet.js';
import { LambdaPool } from './lambda-pool.js';

const csv = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined));

export const AwsWorldEnvSchema = z.object({
  /** spillway:fleet tag value; also the launch-template and function name prefix. */
  SPILLWAY_FLEET: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default('spillway'),
  /** @default `${SPILLWAY_FLEET}-` */
  SPILLWAY_LAMBDA_PREFIX: z.string().optional(),
  SPILLWAY_VARIANTS: csv,
  SPILLWAY_INSTANCE_TYPES: csv,
  SPILLWAY_LAUNCH_TEMPLATE_PATTERN: z.string().includes('{instanceType}').default('{fleet}-{instanceType}'),
  SPILLWAY_VM_SUBNETS: csv,
  SPILLWAY_VM_PORT: z.coerce.number().int().min(1).max(65_535).default(8081),
  SPILLWAY_METRICS_MODE: z.enum(['api', 'emf', 'off']).default('api'),
});
export type AwsWorldEnv = z.infer<typeof AwsWorldEnvSchema>;

export interface AwsAdapters {
  fleet: Ec2Fleet;
  pool: LambdaPool;
  metrics?: CloudWatchMetrics;
  env: AwsWorldEnv;
}

export function readAwsWorldEnv(env: NodeJS.ProcessEnv = process.env): AwsWorldEnv {
  const r = AwsWorldEnvSchema.safeParse(env);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid AWS world environment: ${msg}`, { cause: r.error });
  }
  return r.data;
}

export function createAwsAdapters(env: NodeJS.ProcessEnv = process.env): AwsAdapters {
  const e = readAwsWorldEnv(env);
  const fleet = new Ec2Fleet({
    fleetName: e.SPILLWAY_FLEET,
    launchTemplatePattern: e.SPILLWAY_LAUNCH_TEMPLATE_PATTERN,
    serverPort: e.SPILLWAY_VM_PORT,
    ...(e.SPILLWAY_INSTANCE_TYPES ? { instanceTypes: e.SPILLWAY_INSTANCE_TYPES } : {}),
    ...(e.SPILLWAY_VM_SUBNETS ? { subnetIds: e.SPILLWAY_VM_SUBNETS } : {}),
  });
  const pool = new LambdaPool({
    functionPrefix: e.SPILLWAY_LAMBDA_PREFIX ?? `${e.SPILLWAY_FLEET}-`,
    ...(e.SPILLWAY_VARIANTS ? { variants: e.SPILLWAY_VARIANTS } : {}),
  });
  const metrics =
    e.SPILLWAY_METRICS_MODE === 'off'
      ? undefined
      : new CloudWatchMetrics({ fleetName: e.SPILLWAY_FLEET, mode: e.SPILLWAY_METRICS_MODE });
  return { fleet, pool, env: e, ...(metrics ? { metrics } : {}) };
}
