/**
 * Options of the local Lambda runtime, validated with zod (fail fast, messages name the field).
 * Defaults are chosen for a small machine: a real account allows 1,000 concurrent executions,
 * but each local instance is a Node process with a loaded model (~100-200 MB RSS), so the
 * local default is 8.
 */
import { z } from 'zod';
import { defaultInitNice } from '../init-nice.js';

export const LocalFunctionSchema = z.strictObject({
  /** Lambda's rule: 1-64 of [A-Za-z0-9-_]. */
  functionName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'functionName: 1-64 characters of A-Z a-z 0-9 - _'),
  variant: z.string().min(1),
  memoryMb: z.number().int().min(128).max(10_240).default(1769),
  /** Lambda's maximum is 900 s. */
  timeoutMs: z.number().int().min(1).max(900_000).default(30_000),
  env: z.record(z.string(), z.string()).default({}),
  /** Reserved concurrency (PutFunctionConcurrency); undefined = draws on the account's unreserved pool. */
  reservedConcurrency: z.number().int().min(0).optional(),
});
export type LocalFunctionConfig = z.infer<typeof LocalFunctionSchema>;
export type LocalFunctionInput = z.input<typeof LocalFunctionSchema>;

export const DEFAULT_PASS_ENV = [
  'PATH',
  'HOME',
  'TMPDIR',
  'LANG',
  'LD_LIBRARY_PATH',
  'SPILLWAY_MODEL_DIR',
  'SPILLWAY_HOME',
  'SPILLWAY_SHARED_DIR',
  'SPILLWAY_LOG_LEVEL',
  'LOG_LEVEL',
];

export const LocalLambdaRuntimeOptionsSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  /** 0 = an ephemeral port (tests). */
  port: z.number().int().min(0).max(65_535).default(0),
  /** Functions at start; default: one per registry variant, named `${functionPrefix}${variant}`. */
  functions: z.array(LocalFunctionSchema).optional(),
  functionPrefix: z.string().default('spillway-'),
  /** Absolute path of the handler module; default functions/lambda/handler.ts. */
  handlerModule: z.string().optional(),
  handlerExport: z.string().default('handler'),
  /** Idle instances live this long after their last invocation (Lambda: minutes; locally 60 s). */
  keepAliveMs: z.number().int().min(1).default(60_000),
  accountConcurrencyLimit: z.number().int().min(1).default(8),
  /** How long UpdateFunctionConfiguration stays LastUpdateStatus=InProgress (real Lambda: seconds). */
  updateDelayMs: z.number().int().min(0).default(250),
  /** Init phase limit; Lambda gives 10 s (then retries init inside the invoke timeout). */
  initTimeoutMs: z.number().int().min(1).default(30_000),
  /** Bill INIT on cold starts (AWS does for on-demand functions since August 2025). */
  billInit: z.boolean().default(true),
  /**
   * Kill an instance whose RSS after an invocation exceeds its memory size, answering
   * Runtime.OutOfMemory like Lambda. Off by default: Node + onnxruntime RSS (~150 MB) already
   * exceeds 128 MB, and the check is after the fact (Lambda kills during the run).
   */
  enforceMemory: z.boolean().default(false),
  arch: z.enum(['x86_64', 'arm64']).default('x86_64'),
  region: z.string().default('us-east-1'),
  accountId: z.string().regex(/^\d{12}$/).default('000000000000'),
  /** Host env variables an instance inherits (Lambda instances do not see the host env). */
  passEnv: z.array(z.string()).default(DEFAULT_PASS_ENV),
  /** Price catalog path (default profiles/catalog.json). */
  catalogPath: z.string().optional(),
  /**
   * Niceness of an instance while it initialises (process start + handler import + model load);
   * after init it returns to 0. On AWS an init runs on its own execution environment's CPU; here it
   * shares the machine's cores with the local VMs and the warm instances that are serving, and four
   * parallel inits (~1 CPU-s each) on 2 cores stalled a ready VM for ~4 s in the README demo.
   * At nice 10 the CFS weight is 110 vs 1,024, so serving keeps ~90 % of a contended core.
   * Returning to 0 needs CAP_SYS_NICE, so the default is 10 only for root on Linux (CI,
   * containers) and 0 elsewhere (an instance that could not return would stay slow while warm).
   */
  initNice: z.number().int().min(0).max(19).default(defaultInitNice()),
  /** Forward instance stdout/stderr lines to this process's stderr (debugging). */
  echoInstanceOutput: z.boolean().default(false),
  /**
   * Per-start shared secret (functions/server/internal-token.ts). When set, a call is accepted only
   * if it is signed with it as the access key id (the SDK: credentials { accessKeyId: token }) or
   * carries it in x-spillway-internal-token; anything else gets Lambda's own 403
   * UnrecognizedClientException. @default none (any caller, as LocalStack)
   */
  internalToken: z.string().min(16).optional(),
});
export { defaultInitNice };

export type LocalLambdaRuntimeOptions = z.input<typeof LocalLambdaRuntimeOptionsSchema>;
export type ResolvedRuntimeOptions = z.infer<typeof LocalLambdaRuntimeOptionsSchema>;
