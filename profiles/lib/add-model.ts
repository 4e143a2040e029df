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
import { fitWarning } from './fit-quality.js';
import { type AddSpec, checkAddSpec, defaultLabels, inspectOnnx, variantFromSignature } from './inspect.js';
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
  /** Register a file that is already registered under another name (same sha256). */
  allowDuplicate?: boolean;
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
  /** Defaults chosen for the caller that they must be told about (e.g. ImageNet labels). */
  notices: string[];
  /** What may make answers or estimates misleading (no labels, a poor profile fit). */
  warnings: string[];
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

  const sha256 = await sha256File(opts.sourcePath);
  const twin = registry.variants().find((v) => v.sha256 === sha256 && v.name !== spec.name);
  if (twin && !opts.allowDuplicate) {
    throw new ModelRejectedError(
      `${opts.sourcePath} is the same file (sha256 ${sha256.slice(0, 12)}…) as the registered variant '${twin.name}'; ` +
        `a second name would split its traffic, profile and estimates in two. Use '${twin.name}', or pass --allow-duplicate (e.g. to register it with other labels or preprocessing)`,
    );
  }

  const signature = await inspectOnnx(opts.sourcePath);
  const notices: string[] = [];
  const warnings: string[] = [];
  const fileName = `${spec.name}.onnx`;
  let labelsName = opts.labelsPath !== undefined ? `${spec.name}.labels.txt` : undefined;
  if (labelsName === undefined) {
    const fallback = defaultLabels(spec, signature);
    if (fallback) {
      labelsName = fallback.labels;
      labelCount = fallback.labelCount;
      notices.push(
        `no --labels given: a 1,000-class image classifier, so the ImageNet-1k labels (functions/models/${fallback.labels}) are used; pass --labels FILE if its classes are different`,
      );
    } else {
      warnings.push(
        `no --labels given: answers will name class indices ('class 281'), not labels; pass --labels FILE (one label per line) to name them`,
      );
    }
  }
  const variant = variantFromSignature({ ...spec, labels: labelsName, labelCount }, signature, {
    name: fileName,
    sha256,
    sizeBytes: statSync(opts.sourcePath).size,
  });

  opts.beforeCopy?.(variant);

  const modelsDir = userModelsDir({ home });
  const modelPath = join(modelsDir, fileName);
  // Only a label file the caller gave is copied; the ImageNet default is read from functions/models.
  const labelsDest = opts.labelsPath !== undefined && labelsName ? join(modelsDir, labelsName) : undefined;
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
    const poorFit = fitWarning(profile);
    if (poorFit) warnings.push(poorFit);
    return { variant, profile, modelPath, profilePath, notices, warnings };
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
