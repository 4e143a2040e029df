/** Environment of the VM inference server process (contract: COMMON.md "VM inference server process"). */
import { z } from 'zod';
import { envInt, envNum, readEnv } from './env.js';
import { SERVING_LIMITS } from './limits.js';
import { IMDS_DEFAULT_ENDPOINT } from './spot-notice.js';

const variantList = z
  .string()
  .transform((s) => s.split(',').map((v) => v.trim()).filter((v) => v.length > 0))
  .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'variant names are [a-z0-9._-]')).min(1, 'list at least one variant'));

export const ServerEnvSchema = z.object({
  PORT: envInt(8081, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  SPILLWAY_VARIANTS: variantList,
  SPILLWAY_INTRA_OP_THREADS: envInt(1, 1, 256),
  SPILLWAY_MAX_BATCH: envInt(8, 1, 1024),
  SPILLWAY_MAX_WAIT_MS: envNum(2, 0, 10_000),
  SPILLWAY_QUEUE_LIMIT: envInt(256, 1, 1_000_000),
  SPILLWAY_BOOT_DELAY_MS: envInt(0, 0, 3_600_000),
  /** Optional extension (not in the contract): request body limit in bytes. */
  SPILLWAY_MAX_BODY_BYTES: envInt(SERVING_LIMITS.serverMaxBodyBytes, 1024, 1024 * 1024 * 1024),
  /** Optional extension: body bytes the admitted requests hold at once (admission-gate.ts); 503 beyond. */
  SPILLWAY_MAX_IN_FLIGHT_BODY_BYTES: envInt(256 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
  /**
   * Optional extension: where session.run executes. 'worker' (default) keeps the event loop free
   * while a batch runs (onnxruntime-node's run is synchronous); 'main' runs in-process.
   */
  SPILLWAY_INFERENCE_THREAD: z.enum(['worker', 'main']).default('worker'),
  /** Optional extension: the id this server reports as backend.id (default host:pid). */
  SPILLWAY_INSTANCE_ID: z.string().min(1).max(128).optional(),
  SPILLWAY_MODEL_DIR: z.string().min(1).optional(),
  /** Optional: the per-start shared secret every non-health route then needs (internal-token.ts). */
  SPILLWAY_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SPILLWAY_HOME: z.string().min(1).optional(),
  /**
   * Optional extension: this VM is a Spot instance; watch EC2's interruption notice
   * (spot-notice.ts). Also on when SPILLWAY_IMDS_ENDPOINT is set. @default 0 (on-demand)
   */
  SPILLWAY_SPOT: z.enum(['0', '1'], { message: "must be '0' or '1'" }).default('0'),
  /** Instance metadata service the watcher polls (the local fleet sets its loopback stand-in). */
  SPILLWAY_IMDS_ENDPOINT: z.url({ message: 'must be an http(s) URL' }).optional(),
  /** Between two instance-action polls (EC2 recommends <= 5 s; 1 s leaves 119 s of the 120 s notice). */
  SPILLWAY_SPOT_POLL_MS: envInt(1_000, 50, 60_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type ServerEnv = z.output<typeof ServerEnvSchema>;

/** Where the Spot watcher polls, or undefined when this VM is not Spot. */
export function spotWatchEndpoint(env: ServerEnv): string | undefined {
  if (env.SPILLWAY_IMDS_ENDPOINT) return env.SPILLWAY_IMDS_ENDPOINT;
  return env.SPILLWAY_SPOT === '1' ? IMDS_DEFAULT_ENDPOINT : undefined;
}

export function readServerEnv(env: NodeJS.ProcessEnv = process.env): ServerEnv {
  return readEnv(ServerEnvSchema, env);
}
