/**
 * Wires the embedded default: the local Lambda runtime (real handler, real cold starts), the
 * local VM fleet (real inference-server processes with a boot delay), the Spillway policy, the
 * public API server and the control loop. `npm start` (controller/main.ts) and the e2e tests both
 * call startStack(); close() stops everything it started, children included.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { type Catalog, isSpotType, loadCatalog, withSpotTypes } from '../../profiles/catalog.js';
import { loadRegistry } from '../../functions/engine/registry.js';
import type { AppConfig } from '../app-config.js';
import { LambdaPool } from '../aws/lambda-pool.js';
import type { Policy, PolicyEnv } from '../core/policy-types.js';
import { createSpillwayPolicy } from '../core/spillway-policy.js';
import { startLocalLambdaRuntime, type LocalLambdaRuntime } from '../local/lambda-runtime/index.js';
import { HttpVmClient } from '../local/vm-client.js';
import { LocalVmFleet } from '../local/vm-fleet.js';
import { ControlLoop } from '../loop/control-loop.js';
import type { MetricsPort, ServerlessPoolPort, VmClientPort, VmFleetPort } from '../ports.js';
import { createAwsAdapters, lambdaSocketsFor, planLambdaConcurrency } from '../aws/world.js';
import { type ApiServerOptions, createApiServer } from './app.js';
import { makeDrainable } from './drain.js';
import { healthThreadOf } from './health-thread.js';
import { ApiMetrics } from './metrics.js';
import { ControllerRuntime, type ServedVariant } from './runtime.js';
import { resolveServedVariants } from './variants.js';
import { warmAtStart } from '../loop/warm-up.js';
import { ControllerHistory } from '../core/host/history.js';
import { newInternalToken } from '../../functions/server/internal-token.js';

export interface Stack {
  url: string;
  port: number;
  config: AppConfig;
  served: ReadonlyMap<string, ServedVariant>;
  runtime: ControllerRuntime<unknown>;
  loop: ControlLoop;
  fleet: VmFleetPort;
  /** The same fleet with its local extras (pidOf, costs) for tests and diagnostics ('local' world only). */
  localFleet: LocalVmFleet;
  pool: ServerlessPoolPort;
  /** Lambda API endpoint of the local runtime ('' in the 'aws' world: the SDK's own configuration). */
  lambdaEndpoint: string;
  /**
   * This start's shared secret for the internal endpoints (local VM servers and the local Lambda
   * API require it; functions/server/internal-token.ts). undefined in the 'aws' world.
   */
  internalToken: string | undefined;
  server: Server;
  /** Port of the health listener on its own thread (config healthPort), if any. */
  healthPort: number | undefined;
  log: Logger;
  close(): Promise<void>;
}

export interface StartStackOptions {
  log?: Logger;
  /** Start-up progress lines (model builds, children starting) for humans. */
  onProgress?: (msg: string) => void;
  /** Override the policy (tests); default createSpillwayPolicy(). */
  policy?: Policy<unknown>;
}

export async function startStack(config: AppConfig, opts: StartStackOptions = {}): Promise<Stack> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { svc: 'spillway-controller' } });
  const progress = opts.onProgress ?? ((m: string) => log.info(m));
  const catalog = catalogOf(config);
  const served = await servedVariantsOf(config, progress, catalog);
  const names = [...served.keys()];
  const policy = opts.policy ?? policyOf(config);

  const childEnv: Record<string, string> = {};
  if (config.home) childEnv['SPILLWAY_HOME'] = config.home;
  if (config.modelDir) childEnv['SPILLWAY_MODEL_DIR'] = config.modelDir;

  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'shutdown step failed');
      }
    }
  };
  try {
    const world = await createWorld(config, names, childEnv, progress, closers, log);
    const { pool, fleet } = world;
    const env = buildPolicyEnv(config, served, world.lambdaConcurrencyLimit, catalog);
    const vmClient: VmClientPort = new HttpVmClient(world.internalToken ? { internalToken: world.internalToken } : {});

    const runtime = newControllerRuntime(policy, env, served, config);
    const metrics = new ApiMetrics({ defaultMetrics: true });
    const server = createApiServer({
      runtime,
      vmClient,
      pool,
      metrics,
      log: log.child({ component: 'router' }),
      ...apiOptionsOf(config),
      // The local world plays EC2, Spot notices included (POST /v1/vms/{id}/reclaim).
      ...(world.localFleet ? { faults: { reclaimVm: (id, o) => world.localFleet!.reclaim(id, o) } } : {}),
    });
    const drainable = makeDrainable(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    // Closers run in reverse: the drain ends before the fleet and the Lambda runtime stop, so
    // every request in flight keeps its backend until it is answered.
    closers.push(async () => {
      const r = await drainable.drain(config.drainTimeoutMs);
      (r.abandoned > 0 ? log.warn : log.info).call(log, r, 'API drained');
    });
    const port = (server.address() as AddressInfo).port;
    // The balancer's health check, off the request loop (health-thread.ts), up with the API:
    // /healthz answers from now, /readyz once the stack is ready (below); its listener closes last.
    const health = await healthThreadOf(config, 'spillway-controller');
    if (health) closers.unshift(() => health.close());
    runtime.metricsSink = world.metrics;
    const loop = new ControlLoop({
      runtime,
      fleet,
      pool,
      ...(world.metrics ? { metrics: world.metrics } : {}),
      tickIntervalMs: config.tickIntervalMs,
      log: log.child({ component: 'loop' }),
    });
    // The first tick runs before the API is announced: it sets each function's memory (which
    // retires instances warmed before it) and starts the warm pool; then the ticks go on a timer.
    await loop.tick();
    await loop.memoryUpdatesSettled();
    await loop.warmUpsSettled();
    loop.start();
    closers.push(() => loop.stop());
    if (config.lambdaWarmAtStart > 0) {
      const warmed = await warmAtStart(
        { host: runtime.host, pool, timeoutMs: config.backendTimeoutMs, log },
        names,
        config.lambdaWarmAtStart,
      );
      progress(`warmed ${warmed} Lambda instance(s) of ${names.length} variant(s)`);
    }
    // Ready from here on; not ready as soon as shutdown starts (the first closer).
    if (health) {
      health.setReady(true);
      closers.push(async () => health.setReady(false));
    }
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return {
      url: `http://${host}:${port}`,
      port,
      config,
      served,
      runtime,
      loop,
      fleet,
      localFleet: world.localFleet as LocalVmFleet,
      pool,
      lambdaEndpoint: world.lambdaEndpoint,
      internalToken: world.internalToken,
      server,
      healthPort: health?.port,
      log,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The policy's environment for this configuration (the cluster's routers and planner build it the same way). */
/** The API server's settings from the config: the same for the single stack and every cluster router. */
export function apiOptionsOf(
  config: AppConfig,
): Pick<ApiServerOptions, 'backendTimeoutMs' | 'home' | 'maxBodyBytes' | 'bodyTimeoutMs' | 'admission' | 'apiKey'> {
  return {
    backendTimeoutMs: config.backendTimeoutMs,
    ...(config.home ? { home: config.home } : {}),
    maxBodyBytes: config.maxBodyBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    admission: { maxInFlight: config.maxInFlight, maxInFlightBodyBytes: config.maxInFlightBodyBytes },
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
  };
}

/**
 * The catalog every live process plans with: the file's types plus their `<type>:spot` twins, so
 * a configured Spot type resolves (local: SPILLWAY_INSTANCE_TYPE=c7a.medium:spot; aws:
 * SPILLWAY_INSTANCE_TYPES=c5.large,c5.large:spot). A twin is bought only when it is a planned type.
 */
export function catalogOf(config: AppConfig): Catalog {
  return withSpotTypes(loadCatalog(config.catalogPath));
}

/** The policy every live process (single stack, cluster router, planner) runs: Spot planning on when a planned type is Spot. */
export function policyOf(config: AppConfig): Policy<unknown> {
  const spot = plannedInstanceTypes(config).some(isSpotType);
  return createSpillwayPolicy(spot ? { spot: true } : {}) as unknown as Policy<unknown>;
}

/**
 * The variants this process serves, from the config: the one place every process (the single
 * stack, the cluster supervisor, each router) resolves them, so they cannot drift apart. Hosts
 * that run models locally need the model files (built here when missing); the AWS controller host
 * has no weights (they live with the functions and VMs), so it resolves metadata only.
 */
export function servedVariantsOf(
  config: AppConfig,
  onProgress: (msg: string) => void = () => {},
  catalog: Catalog = catalogOf(config),
): Promise<Map<string, ServedVariant>> {
  const home = config.home;
  return resolveServedVariants({
    registry: loadRegistry(home ? { home } : {}),
    catalog,
    wanted: config.variants,
    sloMs: config.sloMs,
    onProgress,
    requireModelFiles: config.world !== 'aws',
    ...(home ? { home } : {}),
    ...(config.modelDir ? { modelDir: config.modelDir } : {}),
  });
}

export function buildPolicyEnv(
  config: AppConfig,
  served: ReadonlyMap<string, ServedVariant>,
  lambdaConcurrencyLimit: number,
  catalog: Catalog = catalogOf(config),
): PolicyEnv {
  return {
    catalog,
    variants: [...served.values()].map((s) => s.info),
    sloMs: config.sloMs,
    tickIntervalMs: config.tickIntervalMs,
    instanceTypes: plannedInstanceTypes(config),
    lambdaArch: config.lambdaArch,
    lambdaConcurrencyLimit,
    maxVms: config.maxVms,
    ...(config.world === 'aws' && config.vcpuQuota !== undefined ? { vcpuLimit: config.vcpuQuota } : {}),
  };
}

/** The live controller's runtime around one policy host (every live process builds it so). */
export function newControllerRuntime(
  policy: Policy<unknown>,
  env: PolicyEnv,
  served: ReadonlyMap<string, ServedVariant>,
  config: AppConfig,
  opts: { runId?: string } = {},
): ControllerRuntime<unknown> {
  return new ControllerRuntime(policy, env, served, {
    lambdaMemoryMb: config.lambdaMemoryMb,
    lambdaKeepAliveMs: config.lambdaKeepAliveMs,
    // The limits the simulator applies too: env.maxVms, memory changes deferred during bursts.
    limits: {},
    nowMs: Date.now(),
    // An hour of samples for GET /v1/history and the dashboard.
    historySamples: ControllerHistory.hourOf(config.tickIntervalMs),
    ...(opts.runId ? { runId: opts.runId } : {}),
  });
}

/** A client of the local Lambda runtime's API, signed with the start's internal token. */
export function localLambdaPool(endpoint: string, internalToken: string, variants: string[], concurrency: number): LambdaPool {
  return new LambdaPool({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: internalToken, secretAccessKey: internalToken },
    variants,
    maxSockets: lambdaSocketsFor(concurrency),
  });
}

/**
 * Every type the planner may buy. aws: all types the deployment made launch templates for
 * (instanceTypes, required by the schema); local: the one type the local VMs stand in for.
 */
function plannedInstanceTypes(config: AppConfig): string[] {
  return config.world === 'aws' ? [...config.instanceTypes] : [config.instanceType];
}

export interface World {
  fleet: VmFleetPort;
  pool: ServerlessPoolPort;
  localFleet?: LocalVmFleet;
  lambdaEndpoint: string;
  /** The local world's per-start secret for its VMs and Lambda API. */
  internalToken?: string;
  metrics?: MetricsPort;
  /** Lambda concurrency the planner plans within (local: the runtime's limit; aws: config or account). */
  lambdaConcurrencyLimit: number;
}

/**
 * Builds the adapters that fill the ports. 'local': the local Lambda runtime + child-process VMs
 * (the embedded default). 'aws': EC2 + Lambda from controller/aws/world.ts, configured by the
 * environment the CDK controller host sets (endpoints from the SDK's own configuration).
 */
export async function createWorld(
  config: AppConfig,
  names: string[],
  childEnv: Record<string, string>,
  progress: (m: string) => void,
  closers: Array<() => Promise<void>>,
  /** The aws world's fleet reports launch fallbacks here. */
  log?: Logger,
): Promise<World> {
  if (config.world === 'aws') {
    const concurrency = await planLambdaConcurrency(config, names);
    const aws = createAwsAdapters({ ...config, variants: names }, { lambdaConcurrency: concurrency.limit, ...(log ? { log: log.child({ component: 'ec2-fleet' }) } : {}) });
    progress(
      `AWS world: fleet '${config.fleet}', functions '${aws.functionPrefix}<variant>', instance types ${config.instanceTypes.join(', ')}, up to ${config.maxVms} VM(s), Lambda concurrency ${concurrency.limit} (${concurrency.source === 'config' ? 'SPILLWAY_LAMBDA_CONCURRENCY' : `account: reserved ${concurrency.account?.reserved}, unreserved ${concurrency.account?.unreserved}`})`,
    );
    if (aws.metrics) {
      const metrics = aws.metrics;
      closers.push(() => metrics.flush());
    }
    return {
      fleet: aws.fleet,
      pool: aws.pool,
      lambdaEndpoint: '',
      lambdaConcurrencyLimit: concurrency.limit,
      ...(aws.metrics ? { metrics: aws.metrics } : {}),
    };
  }
  progress(
    `starting local Lambda runtime (${names.length} functions, concurrency ${config.lambdaConcurrency})...`,
  );
  // One secret per start: only this controller may call its VMs and its Lambda API.
  const internalToken = newInternalToken();
  const lambdaRt: LocalLambdaRuntime = await startLocalLambdaRuntime({
    port: 0,
    internalToken,
    ...(config.catalogPath ? { catalogPath: config.catalogPath } : {}),
    functions: names.map((variant) => ({
      functionName: `spillway-${variant}`,
      variant,
      memoryMb: config.lambdaMemoryMb,
      env: childEnv,
    })),
    keepAliveMs: Math.max(1, config.lambdaKeepAliveMs),
    accountConcurrencyLimit: config.lambdaConcurrency,
  });
  closers.push(() => lambdaRt.close());
  const pool = localLambdaPool(lambdaRt.endpoint, internalToken, names, config.lambdaConcurrency);

  progress(
    `local VM fleet: up to ${config.maxVms} VM(s) standing in for ${config.instanceType}, boot delay ${config.vmBootDelayMs} ms`,
  );
  const fleet = new LocalVmFleet({
    bootDelayMs: config.vmBootDelayMs,
    ...(config.vmSpotNoticeMs !== undefined ? { spotNoticeMs: config.vmSpotNoticeMs } : {}),
    ...(config.catalogPath ? { catalogPath: config.catalogPath } : {}),
    // maxThreadsPerVm left at its default (this machine's cores): a VM runs one intra-op thread per
    // vCPU of the stand-in type (c7a.medium: 1), as the profile's capacity for that type assumes.
    env: childEnv,
    internalToken,
  });
  closers.push(() => fleet.close());
  return {
    fleet,
    pool,
    localFleet: fleet,
    lambdaEndpoint: lambdaRt.endpoint,
    internalToken,
    lambdaConcurrencyLimit: config.lambdaConcurrency,
  };
}
