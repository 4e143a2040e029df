/**
 * The one reader of what the supervisor hands each router process (and its planner worker): the
 * whole validated AppConfig (so no process re-reads flags and drifts) and where the shared parts
 * live, as JSON in SPILLWAY_CLUSTER. Fail-fast: a router started without it, or with a bad value,
 * stops with a ConfigError naming the field.
 */
import { z } from 'zod';
import { AppConfigSchema, type AppConfig } from '../app-config.js';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../../functions/engine/zod-issues.js';

export const CLUSTER_ENV = 'SPILLWAY_CLUSTER';

const url = z.string().regex(/^http:\/\/127\.0\.0\.1:\d{1,5}$/, 'a loopback URL http://127.0.0.1:<port>');

export const ClusterEnvSchema = z.strictObject({
  routerId: z.string().regex(/^[a-z0-9-]{1,32}$/),
  storeUrl: url,
  fleetUrl: url,
  lambdaEndpoint: url,
  /** The start's internal token: the store, the fleet service, the VMs and the Lambda API require it. */
  token: z.string().regex(/^[0-9a-f]{64}$/),
  config: AppConfigSchema,
});
export type ClusterEnv = Omit<z.infer<typeof ClusterEnvSchema>, 'config'> & { config: AppConfig };

export function readClusterEnv(env: NodeJS.ProcessEnv): ClusterEnv {
  const raw = env[CLUSTER_ENV];
  if (!raw) throw new ConfigError(`${CLUSTER_ENV} is not set: router processes are started by the cluster supervisor (npm start -- --routers N)`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${CLUSTER_ENV} is not JSON`);
  }
  return parseClusterEnv(json);
}

export function parseClusterEnv(json: unknown): ClusterEnv {
  const parsed = ClusterEnvSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${CLUSTER_ENV}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data as ClusterEnv;
}
