/**
 * The local Lambda runtime: a loopback HTTP server speaking the Lambda API subset that
 * @aws-sdk/client-lambda uses, running the real handler (functions/lambda/handler.ts) in child
 * processes with real cold starts, per-request concurrency, keep-alive, timeouts and billing.
 *
 *   const rt = await startLocalLambdaRuntime({ keepAliveMs: 5_000 });
 *   const lambda = new LambdaClient({ endpoint: rt.endpoint, region: 'us-east-1',
 *     credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../../../profiles/catalog.js';
import { LocalFunctionSchema, type LocalFunctionConfig, type LocalLambdaRuntimeOptions, LocalLambdaRuntimeOptionsSchema } from './config.js';
import { parseOptions } from '../options.js';
import { LambdaPool, type RuntimeStats } from './pool.js';
import { createLambdaApiHandler } from './server.js';

export type { LocalFunctionConfig, LocalFunctionInput, LocalLambdaRuntimeOptions } from './config.js';
export type { FunctionStats, RuntimeStats } from './pool.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_HANDLER_MODULE = fileURLToPath(new URL('../../../functions/lambda/handler.ts', import.meta.url));

export interface LocalLambdaRuntime {
  /** e.g. http://127.0.0.1:39123 — give it to LambdaClient as `endpoint`. */
  endpoint: string;
  stats(): RuntimeStats;
  /** Stops the server and kills every instance process (waits for their exit). */
  close(): Promise<void>;
}

/** One function per registry variant, named `${prefix}${variant}`. */
async function defaultFunctions(prefix: string): Promise<LocalFunctionConfig[]> {
  const { loadRegistry } = await import('../../../functions/engine/registry.js');
  return loadRegistry()
    .variants()
    .map((v) => LocalFunctionSchema.parse({ functionName: `${prefix}${v.name}`.slice(0, 64), variant: v.name }));
}

export async function startLocalLambdaRuntime(options: LocalLambdaRuntimeOptions = {}): Promise<LocalLambdaRuntime> {
  const opts = parseOptions(LocalLambdaRuntimeOptionsSchema, options, 'local Lambda runtime');
  const catalog = loadCatalog(opts.catalogPath);
  const functions = opts.functions ?? (await defaultFunctions(opts.functionPrefix));
  const pool = new LambdaPool(opts, catalog, REPO_ROOT, opts.handlerModule ?? DEFAULT_HANDLER_MODULE, functions);
  const handle = createLambdaApiHandler(pool, {
    runtime: 'nodejs22.x',
    architecture: opts.arch,
    ...(opts.internalToken ? { internalToken: opts.internalToken } : {}),
  });
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (err) {
    await pool.close();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${addr.port}`,
    stats: () => pool.stats(),
    close: () => {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await pool.close();
        await serverClosed;
      })();
      return closing;
    },
  };
}
