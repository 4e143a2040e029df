/**
 * What a router process and its planner worker both build from the supervisor's hand-over: the
 * served variants (metadata only; the supervisor built missing model files before starting them),
 * the policy environment, and clients of the shared store and the local Lambda API.
 */
import { loadRegistry } from '../../functions/engine/registry.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { LocalStoreClient } from '../coord/local-store-client.js';
import type { PolicyEnv } from '../core/policy-types.js';
import type { LambdaPool } from '../aws/lambda-pool.js';
import type { ServedVariant } from '../server/runtime.js';
import { buildPolicyEnv, localLambdaPool } from '../server/stack.js';
import { resolveServedVariants } from '../server/variants.js';
import type { ClusterEnv } from './cluster-env.js';

export interface ProcessParts {
  served: Map<string, ServedVariant>;
  env: PolicyEnv;
  store: LocalStoreClient;
  pool: LambdaPool;
}

export async function processParts(cluster: ClusterEnv, lambdaConcurrency: number): Promise<ProcessParts> {
  const { config } = cluster;
  const home = config.home;
  const served = await resolveServedVariants({
    registry: loadRegistry(home ? { home } : {}),
    catalog: loadCatalog(config.catalogPath),
    wanted: config.variants,
    sloMs: config.sloMs,
    onProgress: () => {},
    requireModelFiles: true,
    ...(home ? { home } : {}),
    ...(config.modelDir ? { modelDir: config.modelDir } : {}),
  });
  const env = buildPolicyEnv(config, served, config.world === 'local' ? config.lambdaConcurrency : lambdaConcurrency);
  const store = new LocalStoreClient({ endpoint: cluster.storeUrl, token: cluster.token });
  const pool = localLambdaPool(cluster.lambdaEndpoint, cluster.token, [...served.keys()], lambdaConcurrency);
  return { served, env, store, pool };
}
