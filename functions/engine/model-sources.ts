/**
 * Where a variant's ONNX file comes from, tried in this order:
 *   1. 'dir'      the model directory (opts.modelDir, else $SPILLWAY_MODEL_DIR, else ../shared/models
 *                 when present), then user-added models in $SPILLWAY_HOME/models/
 *   2. 'cache'    $SPILLWAY_HOME/cache/models (downloads and synthetic builds land here)
 *   3. 'download' the variant's downloadUrl (or opts.downloadBaseUrl + '/' + file), ONLY when
 *                 allowed (opts.allowDownload or SPILLWAY_ALLOW_DOWNLOAD=1): streamed to a temp
 *                 file, sha256-checked, renamed into the cache
 *   4. 'built'    synthetic variants are built offline, deterministically, into the cache
 * Every write into the cache is temp file + rename, so concurrent resolvers (several server
 * processes starting at once) never see or leave a half-written file.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ModelSourceOptions, ResolvedModel } from './engine-types.js';
import { ChecksumMismatchError, ModelSourceError } from './errors.js';
import { builtinModelsDir, sharedDir, spillwayHome } from './registry.js';
import type { ModelVariant } from './registry-schema.js';

export type ResolveOptions = ModelSourceOptions;

/** Download timeout: a 4 MB model over a slow link is seconds; anything past this is a hung server. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

export function defaultModelDir(opts: ResolveOptions = {}): string | undefined {
  if (opts.modelDir) return resolve(opts.modelDir);
  const env = process.env['SPILLWAY_MODEL_DIR'];
  if (env) return resolve(env);
  const shared = sharedDir();
  const dir = shared ? join(shared, 'models') : undefined;
  return dir && existsSync(dir) ? dir : undefined;
}

export function cacheDirOf(opts: ResolveOptions = {}): string {
  return resolve(opts.cacheDir ?? join(opts.home ?? spillwayHome(), 'cache', 'models'));
}

export function userModelsDir(opts: ResolveOptions = {}): string {
  return join(opts.home ?? spillwayHome(), 'models');
}

function downloadAllowed(opts: ResolveOptions): boolean {
  return opts.allowDownload ?? process.env['SPILLWAY_ALLOW_DOWNLOAD'] === '1';
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A found file must at least have the registry's size; a truncated copy fails later in confusing ways. */
function checkSize(variant: ModelVariant, path: string): void {
  if (variant.sizeBytes === undefined) return;
  const size = statSync(path).size;
  if (size !== variant.sizeBytes) {
    throw new ModelSourceError(
      `model file ${path} for '${variant.name}' is ${size} bytes; the registry says ${variant.sizeBytes} (wrong or truncated file?)`,
      variant.name,
    );
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

function tempPathIn(dir: string, file: string): string {
  return join(dir, `.${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function safeUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

/** Stream url -> cacheDir/file, hashing on the way; rename into place only when the sha256 matches. */
async function download(variant: ModelVariant, url: string, cacheDir: string): Promise<string> {
  if (!variant.sha256) {
    throw new ModelSourceError(
      `refusing to download '${variant.name}' from ${url}: the registry entry has no sha256 to check it against`,
      variant.name,
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const tmp = tempPathIn(cacheDir, variant.file);
  const hash = createHash('sha256');
  try {
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    } catch (err) {
      throw new ModelSourceError(
        `download of '${variant.name}' from ${url} failed: ${(err as Error).message}`,
        variant.name,
        {
          cause: err,
        },
      );
    }
    if (!res.ok || !res.body) {
      throw new ModelSourceError(
        `download of '${variant.name}' from ${url} failed: HTTP ${res.status}`,
        variant.name,
      );
    }
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(body, createWriteStream(tmp));
    const actual = hash.digest('hex');
    if (actual !== variant.sha256) throw new ChecksumMismatchError(variant.name, variant.sha256, actual, url);
    const dest = join(cacheDir, variant.file);
    renameSync(tmp, dest);
    return dest;
  } finally {
    safeUnlink(tmp);
  }
}

const inflightBuilds = new Map<string, Promise<string>>();

/** Build a synthetic variant into the cache (deduplicated in-process; temp + rename across processes). */
async function buildIntoCache(variant: ModelVariant, cacheDir: string): Promise<string> {
  const dest = join(cacheDir, variant.file);
  const key = dest;
  let p = inflightBuilds.get(key);
  if (!p) {
    p = (async () => {
      const { buildSyntheticModel } = await import('./synthetic/build.js');
      const syn = variant.synthetic!;
      let bytes: Uint8Array;
      try {
        bytes = buildSyntheticModel(syn.recipe, syn.seed).bytes;
      } catch (err) {
        throw new ModelSourceError(
          `building synthetic '${variant.name}' (recipe ${syn.recipe}) failed: ${(err as Error).message}`,
          variant.name,
          {
            cause: err,
          },
        );
      }
      mkdirSync(cacheDir, { recursive: true });
      const tmp = tempPathIn(cacheDir, variant.file);
      try {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(tmp, bytes);
        renameSync(tmp, dest);
      } finally {
        safeUnlink(tmp);
      }
      return dest;
    })();
    inflightBuilds.set(key, p);
    p.finally(() => inflightBuilds.delete(key)).catch(() => {});
  }
  return p;
}

/** Resolve a label file: functions/models/ first, then the model dir, user models, cache. */
export function resolveLabels(variant: ModelVariant, opts: ResolveOptions = {}): string | undefined {
  if (!variant.labels) return undefined;
  const dirs = [builtinModelsDir(), defaultModelDir(opts), userModelsDir(opts), cacheDirOf(opts)];
  for (const d of dirs) {
    if (d && isFile(join(d, variant.labels))) return join(d, variant.labels);
  }
  throw new ModelSourceError(
    `label file '${variant.labels}' for '${variant.name}' not found in ${dirs.filter(Boolean).join(', ')}`,
    variant.name,
  );
}

export async function resolveModelFile(
  variant: ModelVariant,
  opts: ResolveOptions = {},
): Promise<ResolvedModel> {
  const labelsPath = resolveLabels(variant, opts);
  const withLabels = (r: Omit<ResolvedModel, 'labelsPath'>): ResolvedModel =>
    labelsPath ? { ...r, labelsPath } : r;
  const tried: string[] = [];

  // 1. model dir, then user-added models
  for (const dir of [defaultModelDir(opts), userModelsDir(opts)]) {
    if (!dir) continue;
    const p = join(dir, variant.file);
    tried.push(p);
    if (isFile(p)) {
      checkSize(variant, p);
      return withLabels({ path: p, source: 'dir' });
    }
  }
  // 2. cache
  const cacheDir = cacheDirOf(opts);
  const cached = join(cacheDir, variant.file);
  tried.push(cached);
  if (isFile(cached)) {
    checkSize(variant, cached);
    return withLabels({ path: cached, source: 'cache' });
  }
  // 3. download (opt-in)
  const url = opts.downloadBaseUrl
    ? `${opts.downloadBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(variant.file)}`
    : variant.downloadUrl;
  if (url && downloadAllowed(opts)) {
    const path = await download(variant, url, cacheDir);
    return withLabels({ path, source: 'download' });
  }
  if (url) tried.push(`${url} (download not allowed: set SPILLWAY_ALLOW_DOWNLOAD=1)`);
  // 4. synthetic build
  if (variant.weights === 'synthetic' && variant.synthetic) {
    if (opts.allowBuild === false) {
      tried.push('synthetic build (disabled by allowBuild: false)');
    } else {
      const path = await buildIntoCache(variant, cacheDir);
      return withLabels({ path, source: 'built' });
    }
  }
  throw new ModelSourceError(
    `model file '${variant.file}' for '${variant.name}' not found; tried: ${tried.join('; ')}`,
    variant.name,
  );
}
