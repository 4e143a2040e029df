/** Environment of the Lambda handler (contract: COMMON.md "Lambda handler"). */
import { z } from 'zod';
import { envInt, readEnv } from '../server/env.js';

export const LambdaEnvSchema = z.object({
  SPILLWAY_VARIANT: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a variant name ([a-z0-9._-])'),
  SPILLWAY_INTRA_OP_THREADS: envInt(1, 1, 64),
  SPILLWAY_MODEL_DIR: z.string().min(1).optional(),
  SPILLWAY_HOME: z.string().min(1).optional(),
  /** Answer 504 this long before Lambda would kill the invocation. */
  SPILLWAY_TIMEOUT_MARGIN_MS: envInt(200, 0, 900_000),
  AWS_LAMBDA_FUNCTION_NAME: z.string().min(1).default('spillway-local'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type LambdaEnv = z.output<typeof LambdaEnvSchema>;

export function readLambdaEnv(env: NodeJS.ProcessEnv = process.env): LambdaEnv {
  return readEnv(LambdaEnvSchema, env);
}
