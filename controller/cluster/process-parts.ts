/**
 * What a router process and its planner worker both build from their ClusterEnv (cluster-env.ts),
 * per mode:
 *   local: clients of the supervisor's loopback store, fleet service and local Lambda API; served
 *          variants with their model files (the supervisor built missing ones before starting them).
 *   aws:   the DynamoDB coordination store, the SDK Lambda pool and the EC2 fleet (controller/aws/
 *          world.ts, endpoints from the SDK's config); served variants as metadata only (weights
 *          live with the functions and VMs, as on the single controller host).
 * `fleetFor` is only called by the planner worker once it holds the lease: a follower never
 * builds a fleet, so it can never launch. Every launch and terminate carries the lease's fence:
 * locally the fleet service checks it, on AWS FencedFleet re-reads the lease before each action.
 */
import type { LambdaPool } from '../aws/lambda-pool.js';
import { createAwsAdapters, planLambdaConcurrency } from '../aws/world.js';
import type { MetricsPort } from '../ports.js';
import type { CoordinationStore } from '../coord/coordination-port.js';
import { DynamoDbCoordinationStore } from '../coord/dynamodb-store.js';
import { FencedFleet } from '../coord/fenced-fleet.js';
import { LocalStoreClient } from '../coord/local-store-client.js';
import type { PolicyEnv } from '../core/policy-types.js';
import type { VmFleetPort } from '../ports.js';
import type { ServedVariant } from '../server/runtime.js';
import { buildPolicyEnv, localLambdaPool, servedVariantsOf } from '../server/stack.js';
import type { ClusterEnv } from './cluster-env.js';
import { FleetClient } from './fleet-client.js';

/** Lambda concurrency a local router plans for when its config is the aws world's (never in practice). */
const LOCAL_FALLBACK_LAMBDA_CONCURRENCY = 8;
/**
 * Planner lease on AWS: 3 ticks of 5 s, the local default (config/schema.ts leaseTtlMs): a failover
 * takes at most 15 s + 1 tick, while a renewal is due every tick.
 */
const AWS_LEASE_TTL_MS = 15_000;

export interface ProcessParts {
  served: Map<string, ServedVariant>;
  env: PolicyEnv;
  store: CoordinationStore;
  pool: LambdaPool;
  /** The VMs' internal token (local mode); undefined on AWS, where the VM security group admits routers only. */
  vmInternalToken: string | undefined;
  /** The fleet of a lease holder (planner worker only). */
  fleetFor: (fence: () => number) => VmFleetPort;
  leaseTtlMs: number;
  /**
   * CloudWatch (aws mode, unless SPILLWAY_METRICS_MODE=off): a router sends its own requests'
   * statistic sets (CloudWatch sums them across routers: same names and dimensions as the single
   * host), the planner the fleet gauges, so the stack's alarms and dashboard read the same
   * metrics in both shapes. Locally undefined (Prometheus /metrics per router).
   */
  metrics: MetricsPort | undefined;
}

export async function processParts(cluster: ClusterEnv): Promise<ProcessParts> {
  if (cluster.mode === 'aws') {
    const { config, routerId } = cluster;
    const served = await servedVariantsOf(config);
    const names = [...served.keys()];
    const concurrency = await planLambdaConcurrency(config, names);
    const aws = createAwsAdapters({ ...config, variants: names }, { lambdaConcurrency: concurrency.limit });
    const store = new DynamoDbCoordinationStore({ tableName: cluster.coordTable });
    return {
      served,
      env: buildPolicyEnv(config, served, concurrency.limit),
      store,
      pool: aws.pool,
      vmInternalToken: undefined,
      fleetFor: (fence) =>
        new FencedFleet({ inner: aws.fleet, store, holderId: routerId, fence: fence(), nowMs: Date.now }),
      leaseTtlMs: AWS_LEASE_TTL_MS,
      metrics: aws.metrics,
    };
  }
  const { config } = cluster;
  const lambdaConcurrency =
    config.world === 'local' ? config.lambdaConcurrency : LOCAL_FALLBACK_LAMBDA_CONCURRENCY;
  const served = await servedVariantsOf(config);
  return {
    served,
    env: buildPolicyEnv(config, served, lambdaConcurrency),
    store: new LocalStoreClient({ endpoint: cluster.storeUrl, token: cluster.token }),
    pool: localLambdaPool(cluster.lambdaEndpoint, cluster.token, [...served.keys()], lambdaConcurrency),
    vmInternalToken: cluster.token,
    fleetFor: (fence) => new FleetClient({ url: cluster.fleetUrl, internalToken: cluster.token, fence }),
    leaseTtlMs: config.world === 'local' ? config.leaseTtlMs : AWS_LEASE_TTL_MS,
    metrics: undefined,
  };
}
