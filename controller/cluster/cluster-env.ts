/**
 * The one reader of a router process's (and its planner worker's) configuration, for both ways a
 * router runs, a discriminated union on `mode`:
 *   local: started by the cluster supervisor (npm start -- --routers N), which hands over the whole
 *          validated AppConfig (so no process re-reads flags and drifts) and where the shared parts
 *          live (loopback store, fleet service, Lambda API), as JSON in SPILLWAY_CLUSTER.
 *   aws:   started by systemd on a router-group instance (infra/constructs/router-group.ts), with
 *          SPILLWAY_ROUTER_MODE=aws, the coordination table in SPILLWAY_COORD_TABLE, its id in
 *          SPILLWAY_ROUTER_ID and the aws-world AppConfig in the controller's own variables
 *          (SPILLWAY_WORLD=aws ..., read by loadAppConfig). Endpoints come from the SDK's config.
 * Fail-fast: a missing or bad value stops the router with a ConfigError naming the variable.
 */
import { z } from 'zod';
import { AppConfigSchema, type AppConfig, type AwsConfig, loadAppConfig } from '../app-config.js';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../../functions/engine/zod-issues.js';

export const CLUSTER_ENV = 'SPILLWAY_CLUSTER';
export const ROUTER_MODE_ENV = 'SPILLWAY_ROUTER_MODE';
export const COORD_TABLE_ENV = 'SPILLWAY_COORD_TABLE';
export const ROUTER_ID_ENV = 'SPILLWAY_ROUTER_ID';

const ROUTER_ID = /^[a-z0-9-]{1,32}$/;
/** DynamoDB's table-name rule. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

const url = z.string().regex(/^http:\/\/127\.0\.0\.1:\d{1,5}$/, 'a loopback URL http://127.0.0.1:<port>');

export const ClusterEnvSchema = z.strictObject({
  routerId: z.string().regex(ROUTER_ID),
  storeUrl: url,
  fleetUrl: url,
  lambdaEndpoint: url,
  /** The start's internal token: the store, the fleet service, the VMs and the Lambda API require it. */
  token: z.string().regex(/^[0-9a-f]{64}$/),
  config: AppConfigSchema,
});
/** What the supervisor writes into SPILLWAY_CLUSTER (no `mode`: the variable itself says local). */
export type LocalClusterHandover = Omit<z.infer<typeof ClusterEnvSchema>, 'config'> & { config: AppConfig };
export type LocalClusterEnv = LocalClusterHandover & { mode: 'local' };
export interface AwsClusterEnv {
  mode: 'aws';
  routerId: string;
  /** DynamoDB table of the coordination store (lease, plan, learned state, observations). */
  coordTable: string;
  config: AwsConfig;
}
export type ClusterEnv = LocalClusterEnv | AwsClusterEnv;

export function readClusterEnv(env: NodeJS.ProcessEnv): ClusterEnv {
  const mode = env[ROUTER_MODE_ENV] ?? 'local';
  if (mode === 'aws') return readAwsClusterEnv(env);
  if (mode !== 'local')
    throw new ConfigError(`${ROUTER_MODE_ENV} must be local or aws, got ${JSON.stringify(mode)}`);
  const raw = env[CLUSTER_ENV];
  if (!raw)
    throw new ConfigError(
      `${CLUSTER_ENV} is not set: local router processes are started by the cluster supervisor (npm start -- --routers N); on AWS set ${ROUTER_MODE_ENV}=aws`,
    );
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${CLUSTER_ENV} is not JSON`);
  }
  return parseClusterEnv(json);
}

export function parseClusterEnv(json: unknown): LocalClusterEnv {
  const parsed = ClusterEnvSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${CLUSTER_ENV}: ${describeIssues(parsed.error.issues)}`);
  return { mode: 'local', ...(parsed.data as LocalClusterHandover) };
}

function readAwsClusterEnv(env: NodeJS.ProcessEnv): AwsClusterEnv {
  const routerId = env[ROUTER_ID_ENV];
  if (!routerId || !ROUTER_ID.test(routerId)) {
    throw new ConfigError(
      `${ROUTER_ID_ENV} must be 1-32 lowercase letters, digits or '-' (e.g. the EC2 instance id), got ${JSON.stringify(routerId ?? '')}`,
    );
  }
  const coordTable = env[COORD_TABLE_ENV];
  if (!coordTable || !TABLE_NAME.test(coordTable)) {
    throw new ConfigError(
      `${COORD_TABLE_ENV} must name a DynamoDB table (3-255 letters, digits, '_', '-', '.'), got ${JSON.stringify(coordTable ?? '')}`,
    );
  }
  const config = loadAppConfig(env);
  if (config.world !== 'aws')
    throw new ConfigError(
      `${ROUTER_MODE_ENV}=aws needs SPILLWAY_WORLD=aws, got ${JSON.stringify(config.world)}`,
    );
  return { mode: 'aws', routerId, coordTable, config };
}

/**
 * The writer side for the router group's systemd unit: the variables that make readClusterEnv
 * read aws mode (the AppConfig's own come from controllerEnvironment). `routerId` may be a
 * boot-script variable such as `$INSTANCE_ID` (known only on the instance).
 */
export function awsRouterEnvironment(o: { coordTable: string; routerId: string }): Record<string, string> {
  if (!TABLE_NAME.test(o.coordTable)) {
    throw new ConfigError(`${COORD_TABLE_ENV}: '${o.coordTable}' is not a DynamoDB table name`);
  }
  return { [ROUTER_MODE_ENV]: 'aws', [COORD_TABLE_ENV]: o.coordTable, [ROUTER_ID_ENV]: o.routerId };
}
