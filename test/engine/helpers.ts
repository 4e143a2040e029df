import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinModelsDir, sharedDir } from '../../functions/engine/registry.js';

/** ../shared/models when present (tests needing the real models skip without it). */
export const sharedModels: string | undefined = (() => {
  const s = sharedDir();
  return s ? join(s, 'models') : undefined;
})();
export const noSharedReason =
  'skipped: ../shared/models not present (fresh clone); set SPILLWAY_SHARED_DIR to run';

export const samplesDir = join(builtinModelsDir(), 'samples');

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `spillway-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
