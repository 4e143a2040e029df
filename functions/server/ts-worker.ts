/**
 * Starts a worker thread on a TypeScript module run from source: a tiny bootstrap registers tsx's
 * loader inside the worker first (Node 20 does not apply the parent's --import hooks to a worker's
 * entry module). Bundled builds pass their own .mjs entry instead.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startTsWorker(entry: URL, workerData: unknown): Worker {
  const tsxApiCjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const tsxApi = pathToFileURL(join(dirname(tsxApiCjs), 'index.mjs')).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
