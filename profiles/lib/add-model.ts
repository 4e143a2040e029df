/**
 * `spillway models add`: check the request, read the file's signature, copy the file (and labels)
 * into $SPILLWAY_HOME/models, profile it with the profiler's own code path (reduced grid), write
 * $SPILLWAY_HOME/profiles/<name>.json, and register it last, so a failure at any step leaves no
 * half-registered variant behind.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256File, userModelsDir } from '../../functions/engine/model-sources.js';
import { builtinVariants, loadRegistry, saveUserVariant, spillwayHome } from '../../functions/engine/registry.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { type Catalog, loadCatalog } from '../catalog.js';
import type { VariantProfile } from '../schema.js';
import { ModelRejectedError } from './errors.js';
import { type AddSpec, checkAddSpec, inspectOnnx, variantFromSignature } from './inspect.js';
import { userProfilesDir } from './load.js';
import type { ProgressFn } from './measure.js';
import { grid, profileVariant, writeProfile } from './profile-variant.js';

export interface AddModelOptions {
  spec: AddSpec;
  /** The ONNX file to add. */
  sourcePath: string;
  /** Optional label file (one label per line). */
  labelsPath?: string;
  home?: string;
  /** Replace an existing user variant of the same name (never a built-in one). */
  replace?: boolean;
  catalog?: Catalog;
  referenceSloMs?: number;
  onProgress?: ProgressFn;
  /** Extra check on the derived entry before anything is copied (the CLI checks a manifest here). */
  beforeCopy?: (variant: ModelVariant) => void;
}

export interface AddModelOutcome {
  variant: ModelVariant;
  profile: VariantProfile;
  modelPath: string;
  profilePath: string;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function copyAtomic(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const tmp = `${to}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

function countLabels(path: string): number {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '').length;
}

export async function addModel(opts: AddModelOptions): Promise<AddModelOutcome> {
  const home = opts.home ?? spillwayHome();
  const { spec } = opts;
  checkAddSpec(spec);
  if (!isFile(opts.sourcePath)) {
    throw new ModelRejectedError(`model file ${opts.sourcePath} does not exist or is not a file`);
  }
  if (builtinVariants().some((v) => v.name === spec.name)) {
    throw new ModelRejectedError(`'${spec.name}' is already a built-in variant; choose another --name`);
  }
  const registry = loadRegistry({ home });
  if (registry.has(spec.name) && !opts.replace) {
    throw new ModelRejectedError(
      `a variant named '${spec.name}' is already registered in ${join(home, 'registry.json')}; choose another --name or pass --replace`,
    );
  }
  let labelCount: number | undefined;
  if (opts.labelsPath !== undefined) {
    if (!isFile(opts.labelsPath)) throw new ModelRejectedError(`label file ${opts.labelsPath} does not exist or is not a file`);
    labelCount = countLabels(opts.labelsPath);
    if (labelCount === 0) throw new ModelRejectedError(`label file ${opts.labelsPath} has no labels`);
  }

  const signature = await inspectOnnx(opts.sourcePath);
  const fileName = `${spec.name}.onnx`;
  const labelsName = opts.labelsPath !== undefined ? `${spec.name}.labels.txt` : undefined;
  const variant = variantFromSignature({ ...spec, labels: labelsName, labelCount }, signature, {
    name: fileName,
    sha256: await sha256File(opts.sourcePath),
    sizeBytes: statSync(opts.sourcePath).size,
  });

  opts.beforeCopy?.(variant);

  const modelsDir = userModelsDir({ home });
  const modelPath = join(modelsDir, fileName);
  const labelsDest = labelsName ? join(modelsDir, labelsName) : undefined;
  const existed = { model: existsSync(modelPath), labels: labelsDest ? existsSync(labelsDest) : false };
  copyAtomic(opts.sourcePath, modelPath);
  if (labelsDest && opts.labelsPath) copyAtomic(opts.labelsPath, labelsDest);
  try {
    const profile = await profileVariant({
      variant,
      modelPath,
      grid: grid('add'),
      catalog: opts.catalog ?? loadCatalog(),
      referenceSloMs: opts.referenceSloMs ?? 200,
      onProgress: opts.onProgress,
    });
    const profilePath = writeProfile(userProfilesDir(home), profile);
    saveUserVariant(variant, { home });
    return { variant, profile, modelPath, profilePath };
  } catch (err) {
    // Do not leave a copied file behind that no registry entry points at.
    if (!existed.model) safeUnlink(modelPath);
    if (labelsDest && !existed.labels) safeUnlink(labelsDest);
    throw err;
  }
}

function safeUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}
