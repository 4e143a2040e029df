/**
 * `spillway models remove NAME`: the inverse of add-model.ts. Takes the entry out of
 * $SPILLWAY_HOME/registry.json first (so nothing serves a half-removed variant), then deletes its
 * profile ($SPILLWAY_HOME/profiles/NAME.json) and the files `add` copied into $SPILLWAY_HOME/models.
 * Only files inside the user models folder are deleted, and only when no remaining variant names
 * them (the ImageNet default labels live in functions/models and are never touched).
 */
import { existsSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { userModelsDir } from '../../functions/engine/model-sources.js';
import { loadRegistry, removeUserVariant, spillwayHome } from '../../functions/engine/registry.js';
import { userProfilesDir } from './load.js';

export interface RemoveModelOutcome {
  name: string;
  /** Every file deleted, absolute paths. */
  deleted: string[];
  /** Files the entry named that were kept (another variant uses them). */
  kept: string[];
}

export function removeModel(name: string, opts: { home?: string } = {}): RemoveModelOutcome {
  const home = opts.home ?? spillwayHome();
  const removed = removeUserVariant(name, { home });
  const deleted: string[] = [];
  const kept: string[] = [];
  const profile = join(userProfilesDir(home), `${name}.json`);
  if (deleteIfFile(profile)) deleted.push(profile);

  let stillUsed = new Set<string>();
  try {
    stillUsed = new Set(
      loadRegistry({ home })
        .variants()
        .flatMap((v) => [v.file, ...(v.labels ? [v.labels] : [])]),
    );
  } catch {
    // Another entry is invalid too: keep every shared-looking file rather than guess.
    stillUsed = new Set([removed.file, removed.labels].filter((f): f is string => f !== undefined));
  }
  for (const f of [removed.file, removed.labels]) {
    // A hand-edited entry could name '../x': only plain file names inside the user models folder.
    if (f === undefined || basename(f) !== f) continue;
    const path = join(userModelsDir({ home }), f);
    if (stillUsed.has(f)) {
      if (existsSync(path)) kept.push(path);
      continue;
    }
    if (deleteIfFile(path)) deleted.push(path);
  }
  return { name, deleted, kept };
}

function deleteIfFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
