/**
 * The controller's one configuration schema: a strict zod discriminated union on `world`, fields
 * both worlds share in SharedFields, and one branch per world for what only that world has (and for
 * defaults that differ: a 2-core laptop runs 2 local VMs, an AWS account runs more).
 * Readers: app-config.ts (defaults < env < CLI flags); writer for the deployment:
 * controller-environment.ts (the CDK controller host's environment).
 */
import { z } from 'zod';

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const VARIANT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const SharedFields = {
  /** Public API port; 0 = ephemeral (tests). */
  port: intIn(0, 65_535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  /**
   * Port of the health listener on its own thread (server/health-thread.ts: /healthz, /readyz for
   * the load balancer, answered whatever the request loop does); unset = none. 0 = ephemeral.
   */
  healthPort: intIn(0, 65_535).optional(),
  /** When set, every /v1/* call must carry `x-api-key: <value>` (401 otherwise). */
  apiKey: z.string().min(8).optional(),
  /** Default end-to-end latency SLO for requests that do not name one. */
  sloMs: intIn(1, 300_000).default(250),
  /** Control-loop period. 5 s: fast enough to react within one local boot delay (20 s). */
  tickIntervalMs: intIn(100, 600_000).default(5_000),
  lambdaMemoryMb: intIn(128, 10_240).default(2048),
  /** How long an idle Lambda instance stays warm (AWS keeps them for minutes). */
  lambdaKeepAliveMs: intIn(0, 3_600_000).default(60_000),
  /**
   * Lambda instances of each served variant warmed at start-up (before the stack reports ready), so
   * the first request finds one warm: a cold start (~0.3 s synthetic, seconds real) does not fit a
   * 250 ms SLO and would be a 503 while one warms. 0 = start cold.
   */
  lambdaWarmAtStart: intIn(0, 64).default(1),
  lambdaArch: z.enum(['x86_64', 'arm64']).default('x86_64'),
  /** Variants to serve; empty = all of the registry's variants for which a model file exists or can be built. */
  variants: z.array(z.string().regex(VARIANT_NAME)).default([]),
  /** Request body limit: 6 MiB is Lambda's sync payload limit, so anything we accept can spill there. */
  maxBodyBytes: intIn(1024, 64 * 1024 * 1024).default(6 * 1024 * 1024),
  /** Per-call backend timeout (covers a Lambda cold start of a few seconds). */
  backendTimeoutMs: intIn(100, 300_000).default(30_000),
  /**
   * Whole request body must arrive within this (408 otherwise): a slow or truncated upload must not
   * hold a connection and its buffers until the backend deadline. 10 s moves a 6 MiB body at 600 KB/s.
   */
  bodyTimeoutMs: intIn(100, 300_000).default(10_000),
  /**
   * Shutdown bound: requests already accepted get this long to finish (their VMs and Lambda
   * instances stay up meanwhile) before the remaining connections are closed.
   */
  drainTimeoutMs: intIn(0, 300_000).default(10_000),
  /**
   * Admission (controller/server/admission.ts, DEFAULT_ADMISSION): inference requests held at once, and their body
   * bytes; beyond either a request gets 503 overloaded before its body is read. 512 x 100 KB
   * images = 51 MB of bodies.
   */
  maxInFlight: intIn(1, 1_000_000).default(512),
  maxInFlightBodyBytes: intIn(1024, 16 * 1024 * 1024 * 1024).default(128 * 1024 * 1024),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where the local Lambda runtime and VMs find models ($SPILLWAY_MODEL_DIR); default: engine's choice. */
  modelDir: z.string().optional(),
  /** $SPILLWAY_HOME for registry/profiles/cache; default: engine's choice (<repo>/.spillway). */
  home: z.string().optional(),
  /** Price catalog file (another region, refreshed prices); default profiles/catalog.json. */
  catalogPath: z.string().optional(),
};

/** The embedded default: child-process VMs and the local Lambda runtime, no AWS account. */
export const LocalConfigSchema = z.strictObject({
  world: z.literal('local'),
  ...SharedFields,
  /** Local "VM" provisioning stand-in: the server sleeps this long before listening. */
  vmBootDelayMs: intIn(0, 600_000).default(20_000),
  /**
   * Notice a reclaimed local Spot VM (`<type>:spot`) gets before its process is killed
   * (LocalVmFleet.reclaim). @default the catalog's spotNoticeMs: EC2's 120 000
   */
  vmSpotNoticeMs: intIn(0, 600_000).optional(),
  /** Cap on local VM processes (a 2-core machine runs 2 single-thread servers comfortably). */
  maxVms: intIn(0, 64).default(2),
  /**
   * EC2 instance type the local VMs stand in for (prices and profiles come from it). A local VM is
   * one server process with one intra-op thread per vCPU of this type, so the default is a 1-vCPU
   * type: on a 2-core machine a 2-vCPU c5.large stand-in would claim twice the capacity the machine
   * can give it next to the controller and the Lambda instances. c7a.medium ($0.0513/h) breaks even
   * with Lambda at ~0.6x the load a c5.large ($0.085/h) needs.
   */
  instanceType: z.string().min(1).default('c7a.medium'),
  /** Concurrency limit of the local Lambda runtime: 8 instances fit beside 2 VMs on 2 cores. */
  lambdaConcurrency: intIn(1, 1_000).default(8),
  /**
   * Router processes (controller/cluster/). 1 = the single-process stack; more = a supervisor, N
   * router processes behind HAProxy on `port`, one of them elected planner by a lease.
   */
  routers: intIn(1, 16).default(1),
  /**
   * Planner lease (routers > 1): a planner that has not renewed for this long is replaced. 3 ticks
   * of 5 s: a failover takes at most 15 s + 1 tick, while a renewal is due every tick.
   */
  leaseTtlMs: intIn(300, 600_000).default(15_000),
});

/**
 * EC2 + Lambda + CloudWatch (controller/aws/world.ts), set by the CDK controller host through
 * controllerEnvironment(). Endpoints and region come from the SDK's own configuration.
 */
export const AwsConfigSchema = z.strictObject({
  world: z.literal('aws'),
  ...SharedFields,
  /** spillway:fleet tag value; also the launch-template and function name prefix. */
  fleet: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1-64 chars)').default('spillway'),
  /** Lambda function name prefix (`<prefix><variant>`). @default `${fleet}-` */
  lambdaPrefix: z.string().min(1).optional(),
  /** Every EC2 type the deployment made a launch template for; the planner plans over all of them. */
  instanceTypes: z
    .array(z.string().min(1), {
      error: (iss) =>
        iss.input === undefined
          ? 'required in the aws world: the EC2 types with a launch template, comma-separated (the deployment sets it from spillway:instanceTypes)'
          : undefined,
    })
    .min(1),
  launchTemplatePattern: z.string().includes('{instanceType}').default('{fleet}-{instanceType}'),
  /** Subnets VMs launch into (spread across); none = the launch template's. */
  vmSubnets: z.array(z.string().min(1)).optional(),
  /** Port the VM inference server listens on. */
  vmPort: intIn(1, 65_535).default(8081),
  /**
   * SQS queue EventBridge puts EC2's Spot interruption warnings into (the deployment makes one when
   * a Spot type is planned); unset = the VM's own notice and DescribeSpotInstanceRequests only.
   * A string here (the deployment writes a CDK token at synth); the adapter checks the URL at start.
   */
  spotQueueUrl: z.string().min(1).optional(),
  /** api: PutMetricData each tick; emf: embedded-metric-format log lines; off: no metrics. */
  metricsMode: z.enum(['api', 'emf', 'off']).default('api'),
  /** VMs (booting + ready) the planner may hold: 10 keeps a runaway plan's bill bounded. */
  maxVms: intIn(0, 1_000).default(10),
  /**
   * vCPUs the fleet's VMs may hold at once: the region's EC2 "Running On-Demand Standard instances"
   * quota (Service Quotas L-1216C47A) less what else the account runs there. A constraint in the
   * plan, so a quota shows up as "Lambda takes the rest" instead of refused launches. Unset =
   * only maxVms limits the plan.
   */
  vcpuQuota: intIn(1, 100_000).optional(),
  /**
   * Lambda concurrency the planner may use. Unset = read from the account at start (unreserved
   * concurrency, plus the functions' reserved concurrency): see aws/lambda-concurrency.ts.
   */
  lambdaConcurrency: intIn(1, 100_000).optional(),
});

export const AppConfigSchema = z.discriminatedUnion('world', [LocalConfigSchema, AwsConfigSchema]);

export type LocalConfig = z.infer<typeof LocalConfigSchema>;
export type AwsConfig = z.infer<typeof AwsConfigSchema>;
export type AppConfig = LocalConfig | AwsConfig;
/** `world` may be left out of a local config: the embedded default is the default world. */
export type LocalConfigInput = Omit<z.input<typeof LocalConfigSchema>, 'world'> & { world?: 'local' };
export type AwsConfigInput = z.input<typeof AwsConfigSchema>;
export type AppConfigInput = LocalConfigInput | AwsConfigInput;
/** Every key of either branch. */
export type ConfigKey = keyof LocalConfig | keyof AwsConfig;
