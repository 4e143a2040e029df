/**
 * Sample photos sent by `spillway replay`: the committed functions/models/samples (always present,
 * so a fresh clone can replay) plus ../shared/models/images when it exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, sharedDir } from '../../functions/engine/registry.js';
import { ReplayError } from './errors.js';

const IMAGE = /\.(jpe?g|png|webp)$/i;

export function sampleImageDirs(): string[] {
  const dirs = [join(repoRoot(), 'functions', 'models', 'samples')];
  const shared = sharedDir();
  if (shared && existsSync(join(shared, 'models', 'images'))) dirs.push(join(shared, 'models', 'images'));
  return dirs;
}

/** Base64 of every sample image (deduplicated by file name), sorted for reproducibility. */
export function loadSampleImagesBase64(dirs: readonly string[] = sampleImageDirs()): string[] {
  const byName = new Map<string, string>();
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) {
      if (IMAGE.test(f) && !byName.has(f)) byName.set(f, readFileSync(join(d, f)).toString('base64'));
    }
  }
  if (byName.size === 0) throw new ReplayError(`no sample images found in ${dirs.join(', ')}`);
  return [...byName.values()];
}
