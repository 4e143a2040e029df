/**
 * Lambda entry point (contract: COMMON.md "Lambda handler"): one variant per function.
 * The env is read and the model session created at module init (top-level await), so the cold
 * start pays for it once and every warm invocation goes straight to inference.
 */
import pino from 'pino';
import { createEngine } from '../engine/engine.js';
import { loadRegistry } from '../engine/registry.js';
import { readLambdaEnv } from './config.js';
import { LambdaInitError } from './errors.js';
import { createLambdaHandler } from './pipeline.js';

const env = readLambdaEnv();
const log = pino({ level: env.LOG_LEVEL, base: { svc: 'spillway-lambda', variant: env.SPILLWAY_VARIANT } });
const registry = loadRegistry(env.SPILLWAY_HOME ? { home: env.SPILLWAY_HOME } : {});
const engine = createEngine({
  registry,
  intraOpThreads: env.SPILLWAY_INTRA_OP_THREADS,
  sources: env.SPILLWAY_MODEL_DIR ? { modelDir: env.SPILLWAY_MODEL_DIR } : {},
});
let loaded: Awaited<ReturnType<typeof engine.load>>;
try {
  loaded = await engine.load(env.SPILLWAY_VARIANT);
} catch (cause) {
  log.fatal({ err: cause }, 'model load failed');
  throw new LambdaInitError(`could not load variant '${env.SPILLWAY_VARIANT}' (SPILLWAY_VARIANT)`, { cause });
}
log.info({ source: loaded.resolved.source, sessionLoadMs: loaded.sessionLoadMs }, 'model loaded at init');

export const handler = createLambdaHandler({
  engine,
  variant: loaded.variant,
  functionName: env.AWS_LAMBDA_FUNCTION_NAME,
  timeoutMarginMs: env.SPILLWAY_TIMEOUT_MARGIN_MS,
  logger: log,
});
