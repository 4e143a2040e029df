/**
 * Wiring for the "aws" world: builds the three AWS adapters from the parsed aws-world config
 * (config/schema.ts; the CDK controller host writes it with controllerEnvironment()). Endpoints
 * come from the SDK's own configuration (AWS_ENDPOINT_URL...), so pointing the same variables at
 * moto, LocalStack or the local Lambda runtime works unchanged.
 */
import type { AwsConfig } from '../config/schema.js';
import { CloudWatchMetrics } from './cloudwatch-metrics.js';
import { Ec2Fleet, type Ec2FleetOptions } from './ec2-fleet.js';
import { type AccountConcurrency, readLambdaConcurrencyLimit } from './lambda-concurrency.js';
import { LambdaPool } from './lambda-pool.js';
import { SqsSpotNotices } from './spot-notice-queue.js';

/** The slice of the config the adapters use (fleet names, types, metrics), not the API settings. */
export type AwsWorldConfig = Pick<
  AwsConfig,
  'fleet' | 'lambdaPrefix' | 'variants' | 'instanceTypes' | 'launchTemplatePattern' | 'vmSubnets' | 'vmPort' | 'metricsMode' | 'spotQueueUrl'
>;

export interface AwsAdapters {
  fleet: Ec2Fleet;
  pool: LambdaPool;
  metrics?: CloudWatchMetrics;
  /** `<prefix><variant>` is each variant's function name. */
  functionPrefix: string;
}

export function functionPrefix(config: Pick<AwsConfig, 'fleet' | 'lambdaPrefix'>): string {
  return config.lambdaPrefix ?? `${config.fleet}-`;
}

/**
 * Sockets the Lambda client may open: one per concurrent invoke the planner may plan plus a few for
 * the control calls that share the client (GetFunctionConfiguration each tick, a memory update and
 * its waiter, warm-ups count as invokes). E.g. concurrency 1,000 -> 1,004 sockets instead of the
 * SDK's 50, which would queue the 51st concurrent invoke in the controller while Lambda had room.
 */
export const LAMBDA_CONTROL_SOCKETS = 4;
export function lambdaSocketsFor(plannedConcurrency: number): number {
  return plannedConcurrency + LAMBDA_CONTROL_SOCKETS;
}

/**
 * `lambdaConcurrency`: the planned Lambda concurrency (planLambdaConcurrency), which sizes the
 * client's socket pool; `log`: where the fleet reports launch fallbacks (Spot -> on-demand, ...).
 */
export function createAwsAdapters(
  config: AwsWorldConfig,
  opts: { lambdaConcurrency?: number; log?: Ec2FleetOptions['log'] } = {},
): AwsAdapters {
  const fleet = new Ec2Fleet({
    ...(opts.log ? { log: opts.log } : {}),
    fleetName: config.fleet,
    launchTemplatePattern: config.launchTemplatePattern,
    serverPort: config.vmPort,
    instanceTypes: config.instanceTypes,
    ...(config.vmSubnets ? { subnetIds: config.vmSubnets } : {}),
    ...(config.spotQueueUrl
      ? { spotNotices: new SqsSpotNotices({ queueUrl: config.spotQueueUrl, ...(opts.log ? { log: opts.log } : {}) }) }
      : {}),
  });
  const prefix = functionPrefix(config);
  const pool = new LambdaPool({
    functionPrefix: prefix,
    ...(opts.lambdaConcurrency !== undefined ? { maxSockets: lambdaSocketsFor(opts.lambdaConcurrency) } : {}),
    ...(config.variants.length > 0 ? { variants: config.variants } : {}),
  });
  const metrics =
    config.metricsMode === 'off' ? undefined : new CloudWatchMetrics({ fleetName: config.fleet, mode: config.metricsMode });
  return { fleet, pool, functionPrefix: prefix, ...(metrics ? { metrics } : {}) };
}

/**
 * The planner's Lambda concurrency limit: the configured one, else what the account gives our
 * functions (lambda-concurrency.ts). `source` says which, for the start-up line.
 */
export async function resolveLambdaConcurrency(
  config: Pick<AwsConfig, 'lambdaConcurrency'>,
  pool: LambdaPool,
  variants: readonly string[],
): Promise<{ limit: number; source: 'config' | 'account'; account?: AccountConcurrency }> {
  if (config.lambdaConcurrency !== undefined) return { limit: config.lambdaConcurrency, source: 'config' };
  const account = await readLambdaConcurrencyLimit(
    pool.client,
    variants.map((v) => pool.functionName(v)),
  );
  return { limit: account.limit, source: 'account', account };
}

/**
 * The planned Lambda concurrency before the adapters exist (it sizes their socket pool): the
 * configured limit, else read from the account through a short-lived client.
 */
export async function planLambdaConcurrency(
  config: Pick<AwsConfig, 'fleet' | 'lambdaPrefix' | 'lambdaConcurrency'>,
  variants: readonly string[],
): Promise<{ limit: number; source: 'config' | 'account'; account?: AccountConcurrency }> {
  if (config.lambdaConcurrency !== undefined) return { limit: config.lambdaConcurrency, source: 'config' };
  const probe = new LambdaPool({ functionPrefix: functionPrefix(config) });
  try {
    return await resolveLambdaConcurrency(config, probe, variants);
  } finally {
    probe.client.destroy();
  }
}
