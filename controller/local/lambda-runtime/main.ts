/**
 * Runs the local Lambda runtime on its own, for tools that speak the Lambda API:
 *   npx tsx controller/local/lambda-runtime/main.ts
 *   aws lambda invoke --endpoint-url http://127.0.0.1:9001 --function-name spillway-<variant> \
 *     --cli-binary-format raw-in-base64-out --payload file://request.json out.json
 * Env (validated, fail fast): SPILLWAY_LAMBDA_PORT (default 9001; 0 = ephemeral), SPILLWAY_LAMBDA_HOST
 * (127.0.0.1), SPILLWAY_LAMBDA_MEMORY_MB (1769), SPILLWAY_LAMBDA_KEEPALIVE_MS (60000),
 * SPILLWAY_LAMBDA_CONCURRENCY (8). Prints one JSON line {"event":"listening","endpoint":...} on stdout.
 * SIGTERM/SIGINT: kills every instance, exits 0.
 */
import { z } from 'zod';
import { loadRegistry } from '../../../functions/engine/registry.js';
import { startLocalLambdaRuntime } from './index.js';
import { describeIssues } from '../../../functions/engine/zod-issues.js';

const EnvSchema = z.object({
  SPILLWAY_LAMBDA_PORT: z.coerce.number().int().min(0).max(65_535).default(9001),
  SPILLWAY_LAMBDA_HOST: z.string().default('127.0.0.1'),
  SPILLWAY_LAMBDA_MEMORY_MB: z.coerce.number().int().min(128).max(10_240).default(1769),
  SPILLWAY_LAMBDA_KEEPALIVE_MS: z.coerce.number().int().min(1).default(60_000),
  SPILLWAY_LAMBDA_CONCURRENCY: z.coerce.number().int().min(1).default(8),
});

const parsed = EnvSchema.safeParse(process.env);
if (!parsed.success) {
  process.stderr.write(`spillway local lambda: invalid environment: ${describeIssues(parsed.error.issues)}\n`);
  process.exit(2);
}
const env = parsed.data;
const rt = await startLocalLambdaRuntime({
  host: env.SPILLWAY_LAMBDA_HOST,
  port: env.SPILLWAY_LAMBDA_PORT,
  keepAliveMs: env.SPILLWAY_LAMBDA_KEEPALIVE_MS,
  accountConcurrencyLimit: env.SPILLWAY_LAMBDA_CONCURRENCY,
  functions: loadRegistry()
    .variants()
    .map((v) => ({ functionName: `spillway-${v.name}`, variant: v.name, memoryMb: env.SPILLWAY_LAMBDA_MEMORY_MB, timeoutMs: 30_000, env: {} })),
});
process.stdout.write(`${JSON.stringify({ event: 'listening', endpoint: rt.endpoint })}\n`);
const stop = (): void => {
  rt.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
