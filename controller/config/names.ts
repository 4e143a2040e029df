/**
 * Where each config key comes from outside the process: its env variable and its CLI flag, and
 * whether it is a comma-separated list. The one table the reader (app-config.ts), the writer
 * (controller-environment.ts) and the error messages all use, so a name cannot drift between them.
 */
import type { ConfigKey } from './schema.js';

export interface ConfigName {
  env: string;
  /** kebab-case, without the leading `--`. */
  flag: string;
  list?: true;
}

export const CONFIG_NAMES: Record<ConfigKey, ConfigName> = {
  world: { env: 'SPILLWAY_WORLD', flag: 'world' },
  port: { env: 'PORT', flag: 'port' },
  host: { env: 'HOST', flag: 'host' },
  healthPort: { env: 'SPILLWAY_HEALTH_PORT', flag: 'health-port' },
  apiKey: { env: 'SPILLWAY_API_KEY', flag: 'api-key' },
  sloMs: { env: 'SPILLWAY_SLO_MS', flag: 'slo-ms' },
  tickIntervalMs: { env: 'SPILLWAY_TICK_MS', flag: 'tick-ms' },
  vmBootDelayMs: { env: 'SPILLWAY_VM_BOOT_DELAY_MS', flag: 'vm-boot-delay-ms' },
  vmSpotNoticeMs: { env: 'SPILLWAY_VM_SPOT_NOTICE_MS', flag: 'vm-spot-notice-ms' },
  maxVms: { env: 'SPILLWAY_MAX_VMS', flag: 'max-vms' },
  routers: { env: 'SPILLWAY_ROUTERS', flag: 'routers' },
  leaseTtlMs: { env: 'SPILLWAY_LEASE_TTL_MS', flag: 'lease-ttl-ms' },
  vcpuQuota: { env: 'SPILLWAY_VCPU_QUOTA', flag: 'vcpu-quota' },
  instanceType: { env: 'SPILLWAY_INSTANCE_TYPE', flag: 'instance-type' },
  lambdaMemoryMb: { env: 'SPILLWAY_LAMBDA_MEMORY_MB', flag: 'lambda-memory-mb' },
  lambdaKeepAliveMs: { env: 'SPILLWAY_LAMBDA_KEEP_ALIVE_MS', flag: 'lambda-keep-alive-ms' },
  lambdaConcurrency: { env: 'SPILLWAY_LAMBDA_CONCURRENCY', flag: 'lambda-concurrency' },
  lambdaWarmAtStart: { env: 'SPILLWAY_LAMBDA_WARM_AT_START', flag: 'lambda-warm-at-start' },
  lambdaArch: { env: 'SPILLWAY_LAMBDA_ARCH', flag: 'lambda-arch' },
  variants: { env: 'SPILLWAY_VARIANTS', flag: 'variants', list: true },
  maxBodyBytes: { env: 'SPILLWAY_MAX_BODY_BYTES', flag: 'max-body-bytes' },
  backendTimeoutMs: { env: 'SPILLWAY_BACKEND_TIMEOUT_MS', flag: 'backend-timeout-ms' },
  bodyTimeoutMs: { env: 'SPILLWAY_BODY_TIMEOUT_MS', flag: 'body-timeout-ms' },
  drainTimeoutMs: { env: 'SPILLWAY_DRAIN_TIMEOUT_MS', flag: 'drain-timeout-ms' },
  maxInFlight: { env: 'SPILLWAY_MAX_IN_FLIGHT', flag: 'max-in-flight' },
  maxInFlightBodyBytes: { env: 'SPILLWAY_MAX_IN_FLIGHT_BODY_BYTES', flag: 'max-in-flight-body-bytes' },
  logLevel: { env: 'SPILLWAY_LOG_LEVEL', flag: 'log-level' },
  modelDir: { env: 'SPILLWAY_MODEL_DIR', flag: 'model-dir' },
  home: { env: 'SPILLWAY_HOME', flag: 'home' },
  catalogPath: { env: 'SPILLWAY_CATALOG', flag: 'catalog' },
  fleet: { env: 'SPILLWAY_FLEET', flag: 'fleet' },
  lambdaPrefix: { env: 'SPILLWAY_LAMBDA_PREFIX', flag: 'lambda-prefix' },
  instanceTypes: { env: 'SPILLWAY_INSTANCE_TYPES', flag: 'instance-types', list: true },
  launchTemplatePattern: { env: 'SPILLWAY_LAUNCH_TEMPLATE_PATTERN', flag: 'launch-template-pattern' },
  vmSubnets: { env: 'SPILLWAY_VM_SUBNETS', flag: 'vm-subnets', list: true },
  vmPort: { env: 'SPILLWAY_VM_PORT', flag: 'vm-port' },
  spotQueueUrl: { env: 'SPILLWAY_SPOT_QUEUE_URL', flag: 'spot-queue-url' },
  metricsMode: { env: 'SPILLWAY_METRICS_MODE', flag: 'metrics-mode' },
};

/** `SPILLWAY_MAX_VMS (--max-vms)`, the way every config error names a key. */
export function describeKey(key: string): string {
  const n = CONFIG_NAMES[key as ConfigKey];
  return n ? `${n.env} (--${n.flag})` : key;
}
