/**
 * Typed, fail-fast configuration for the embedded default (`npm start`) and the in-process stack
 * used by the e2e tests. Sources, lowest to highest precedence: defaults < env < CLI flags.
 * A bad value stops start-up with a ConfigError naming the variable and the accepted range.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const AppConfigSchema = z.strictObject({
  /**
   * Which adapters fill the ports: 'local' (the embedded default: child-process VMs and the local
   * Lambda runtime) or 'aws' (EC2 + Lambda + CloudWatch via controller/aws/world.ts, configured by
   * the SPILLWAY_FLEET/... variables the CDK controller host sets).
   */
  world: z.enum(['local', 'aws']).default('local'),
  /** Public API port; 0 = ephemeral (tests). */
  port: intIn(0, 65_535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  /** When set, every /v1/* call must carry `x-api-key: <value>` (401 otherwise). */
  apiKey: z.string().min(8).optional(),
  /** Default end-to-end latency SLO for requests that do not name one. */
  sloMs: intIn(1, 300_000).default(250),
  /** Control-loop period. 5 s locally: fast enough to react within one boot delay (20 s). */
  tickIntervalMs: intIn(100, 600_000).default(5_000),
  /** Local "VM" provisioning stand-in: the server sleeps this long before listening. */
  vmBootDelayMs: intIn(0, 600_000).default(20_000),
  /** Cap on local VM processes (a 2-core machine runs 2 single-thread servers comfortably). */
  maxVms: intIn(0, 64).default(2),
  /** EC2 instance type the local VMs stand in for (prices and profiles come from it). */
  instanceType: z.string().min(1).default('c5.large'),
  lambdaMemoryMb: intIn(128, 10_240).default(2048),
  /** How long an idle local Lambda instance stays warm (AWS keeps them for minutes). */
  lambdaKeepAliveMs: intIn(0, 3_600_000).default(60_000),
  /** Concurrency limit of the local Lambda runtime (AWS default account limit is 1,000). */
  lambdaConcurrency: intIn(1, 1_000).default(8),
  /**
   * Lambda instances of each served variant warmed at start-up (before the stack reports ready), so
   * the first request finds one warm: a cold start (~0.3 s synthetic, seconds real) does not fit a
   * 250 ms SLO and would be a 503 while one warms. 0 = start cold.
   */
  lambdaWarmAtStart: intIn(0, 64).default(1),
  lambdaArch: z.enum(['x86_64', 'arm64']).default('x86_64'),
  /** Variants to serve; empty = all of the registry's variants for which a model file exists or can be built. */
  variants: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)).default([]),
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
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where the local Lambda runtime and VMs find models ($SPILLWAY_MODEL_DIR); default: engine's choice. */
  modelDir: z.string().optional(),
  /** $SPILLWAY_HOME for registry/profiles/cache; default: engine's choice (<repo>/.spillway). */
  home: z.string().optional(),
  /** Price catalog file (another region, refreshed prices); default profiles/catalog.json. */
  catalogPath: z.string().optional(),
});
export type AppConfig = z.infer<typeof AppConfigSchema>;
export type AppConfigInput = z.input<typeof AppConfigSchema>;

/** Env variable -> config key. */
const ENV_KEYS: Record<string, keyof AppConfig> = {
  SPILLWAY_WORLD: 'world',
  PORT: 'port',
  HOST: 'host',
  SPILLWAY_API_KEY: 'apiKey',
  SPILLWAY_SLO_MS: 'sloMs',
  SPILLWAY_TICK_MS: 'tickIntervalMs',
  SPILLWAY_VM_BOOT_DELAY_MS: 'vmBootDelayMs',
  SPILLWAY_MAX_VMS: 'maxVms',
  SPILLWAY_INSTANCE_TYPE: 'instanceType',
  SPILLWAY_LAMBDA_MEMORY_MB: 'lambdaMemoryMb',
  SPILLWAY_LAMBDA_KEEP_ALIVE_MS: 'lambdaKeepAliveMs',
  SPILLWAY_LAMBDA_CONCURRENCY: 'lambdaConcurrency',
  SPILLWAY_LAMBDA_WARM_AT_START: 'lambdaWarmAtStart',
  SPILLWAY_LAMBDA_ARCH: 'lambdaArch',
  SPILLWAY_VARIANTS: 'variants',
  SPILLWAY_MAX_BODY_BYTES: 'maxBodyBytes',
  SPILLWAY_BACKEND_TIMEOUT_MS: 'backendTimeoutMs',
  SPILLWAY_BODY_TIMEOUT_MS: 'bodyTimeoutMs',
  SPILLWAY_DRAIN_TIMEOUT_MS: 'drainTimeoutMs',
  SPILLWAY_LOG_LEVEL: 'logLevel',
  SPILLWAY_MODEL_DIR: 'modelDir',
  SPILLWAY_HOME: 'home',
  SPILLWAY_CATALOG: 'catalogPath',
};

/** CLI flag (kebab-case) for each key, e.g. --tick-ms. */
const FLAG_FOR: Record<keyof AppConfig, string> = {
  world: 'world',
  port: 'port',
  host: 'host',
  apiKey: 'api-key',
  sloMs: 'slo-ms',
  tickIntervalMs: 'tick-ms',
  vmBootDelayMs: 'vm-boot-delay-ms',
  maxVms: 'max-vms',
  instanceType: 'instance-type',
  lambdaMemoryMb: 'lambda-memory-mb',
  lambdaKeepAliveMs: 'lambda-keep-alive-ms',
  lambdaConcurrency: 'lambda-concurrency',
  lambdaWarmAtStart: 'lambda-warm-at-start',
  lambdaArch: 'lambda-arch',
  variants: 'variants',
  maxBodyBytes: 'max-body-bytes',
  backendTimeoutMs: 'backend-timeout-ms',
  bodyTimeoutMs: 'body-timeout-ms',
  drainTimeoutMs: 'drain-timeout-ms',
  logLevel: 'log-level',
  modelDir: 'model-dir',
  home: 'home',
  catalogPath: 'catalog',
};

function listOrValue(key: keyof AppConfig, raw: string): unknown {
  if (key === 'variants') {
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
  return raw;
}

function envNameFor(key: keyof AppConfig): string {
  return Object.entries(ENV_KEYS).find(([, k]) => k === key)?.[0] ?? key;
}

function emptyApiKeyError(name: string): ConfigError {
  return new ConfigError(
    `${name} is set but empty: that would turn API-key authentication off. Set a key of at least 8 characters, or unset ${name} to run without authentication`,
  );
}

/** Validates an already-assembled object (tests, in-process stack). Throws ConfigError. */
export function parseAppConfig(input: AppConfigInput): AppConfig {
  const r = AppConfigSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues
      .map((i) => {
        const key = String(i.path[0] ?? '') as keyof AppConfig;
        return `${envNameFor(key)} (--${FLAG_FOR[key] ?? key}): ${i.message}`;
      })
      .join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`, { cause: r.error });
  }
  return r.data;
}

/** Reads env then CLI flags (`--port 9000 --max-vms 1`), validates, fails fast. */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): AppConfig {
  const raw: Record<string, unknown> = {};
  // Empty values count as unset, except the API key: `SPILLWAY_API_KEY=` (a template left blank)
  // must not silently turn authentication off.
  if (env['SPILLWAY_API_KEY'] === '') throw emptyApiKeyError('SPILLWAY_API_KEY');
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = listOrValue(key, v);
  }
  const options = Object.fromEntries(
    Object.values(FLAG_FOR).map((flag) => [flag, { type: 'string' as const }]),
  );
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (err) {
    throw new ConfigError(`bad command line: ${(err as Error).message}`, { cause: err });
  }
  if (values['api-key'] === '') throw emptyApiKeyError('--api-key');
  for (const [key, flag] of Object.entries(FLAG_FOR) as Array<[keyof AppConfig, string]>) {
    const v = values[flag];
    if (v !== undefined) raw[key] = listOrValue(key, v);
  }
  return parseAppConfig(raw as AppConfigInput);
}
