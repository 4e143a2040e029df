/**
 * `npm run profile` wiring: for each selected registry variant, resolve its model file, measure it
 * in a child process, fit, estimate, validate and write <out>/<variant>.json. Variants whose model
 * file cannot be resolved are skipped with a message saying why (the run goes on).
 */
import cliProgress from 'cli-progress';
import type { ModelRegistry } from '../../functions/engine/engine-types.js';
import { resolveModelFile } from '../../functions/engine/model-sources.js';
import { builtinVariants, loadRegistry } from '../../functions/engine/registry.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { type Catalog, loadCatalog } from '../catalog.js';
import type { VariantProfile } from '../schema.js';
import { type GridName, grid, profileVariant, writeProfile } from './profile-variant.js';

export interface RunProfileOptions {
  /** Variant names; default all registry variants. */
  variants?: string[];
  gridName: GridName;
  outDir: string;
  /**
   * Where user-added variants' profiles go (default: outDir). `npm run profile` without --out sends
   * them to $SPILLWAY_HOME/profiles so they never land among the committed files.
   */
  userOutDir?: string;
  referenceSloMs: number;
  /** $SPILLWAY_HOME override (registry, user models). */
  home?: string;
  registry?: ModelRegistry;
  catalog?: Catalog;
  /** Show a cli-progress bar on stderr (default: when stderr is a TTY). */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface RunProfileOutcome {
  written: Array<{ variant: string; path: string; profile: VariantProfile }>;
  skipped: Array<{ variant: string; reason: string }>;
  failed: Array<{ variant: string; error: string }>;
}

/** Resolves the model file of `variant` (no downloads; synthetic variants may be built). */
export async function resolveForProfiling(variant: ModelVariant, home?: string): Promise<string> {
  const resolved = await resolveModelFile(variant, { allowDownload: false, ...(home ? { home } : {}) });
  return resolved.path;
}

export async function runProfile(opts: RunProfileOptions): Promise<RunProfileOutcome> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const registry = opts.registry ?? loadRegistry(opts.home ? { home: opts.home } : {});
  const catalog = opts.catalog ?? loadCatalog();
  const names = opts.variants?.length ? opts.variants : registry.variants().map((v) => v.name);
  const unknown = names.filter((n) => !registry.has(n));
  if (unknown.length) {
    throw new Error(
      `unknown variant(s): ${unknown.join(', ')}; known: ${registry
        .variants()
        .map((v) => v.name)
        .join(', ')}`,
    );
  }
  const g = grid(opts.gridName);
  const builtin = new Set(builtinVariants().map((v) => v.name));
  const outcome: RunProfileOutcome = { written: [], skipped: [], failed: [] };
  const showBar = opts.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '{variant} [{bar}] {value}/{total} cells {cell}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;

  for (const name of names) {
    const variant = registry.get(name);
    let modelPath: string;
    try {
      modelPath = await resolveForProfiling(variant, opts.home);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      outcome.skipped.push({ variant: name, reason });
      log(`skip ${name}: model file '${variant.file}' cannot be resolved (${reason})`);
      continue;
    }
    const fixed = variant.input.shape[0] !== null;
    const cells = (fixed ? 1 : g.batchSizes.length) * g.threads.length;
    bar?.start(cells, 0, { variant: name, cell: '' });
    try {
      const profile = await profileVariant({
        variant,
        modelPath,
        grid: g,
        catalog,
        referenceSloMs: opts.referenceSloMs,
        onProgress: (done, _total, label) => bar?.update(done, { cell: label }),
      });
      bar?.stop();
      const dir = builtin.has(name) ? opts.outDir : (opts.userOutDir ?? opts.outDir);
      const path = writeProfile(dir, profile);
      outcome.written.push({ variant: name, path, profile });
      const b1 = profile.measurements.find((m) => m.batchSize === 1 && m.intraOpThreads === 1);
      log(
        `${name}: p50 b1/t1 ${b1?.p50Ms ?? '?'} ms, load ${profile.sessionLoadMs} ms, peak RSS ${profile.peakRssMb} MB, ` +
          `fit MAPE ${profile.latencyModel.fitMapePct} % -> ${path}`,
      );
    } catch (err) {
      bar?.stop();
      const error = err instanceof Error ? err.message : String(err);
      outcome.failed.push({ variant: name, error });
      log(`FAILED ${name}: ${error}`);
    }
  }
  return outcome;
}
