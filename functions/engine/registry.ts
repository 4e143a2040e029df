/**
 * The model registry: built-in variants (functions/models/registry.json, committed) merged with
 * user-added ones ($SPILLWAY_HOME/registry.json, written by `spillway models add`).
 *
 * Why user entries may not shadow built-in names: profiles, reports and Lambda function names key
 * on the variant name, so two different files under one name would silently mix measurements.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import builtinJson from '../models/registry.json' with { type: 'json' };
import type { ModelRegistry } from './engine-types.js';
import { RegistryError, UnknownVariantError } from './errors.js';
import {
  type ModelVariant,
  ModelVariantSchema,
  type RegistryFile,
  RegistryFileSchema,
} from './registry-schema.js';
import { describeIssues, type ZodIssue } from './zod-issues.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The repository root: the nearest ancestor of this file holding a package.json named 'spillway'.
 * $SPILLWAY_REPO_ROOT overrides (bundled Lambda code has no package.json above it); the last
 * resort is the working directory.
 */
export function repoRoot(): string {
  const fromEnv = process.env['SPILLWAY_REPO_ROOT'];
  if (fromEnv) return resolve(fromEnv);
  let dir = here;
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'spillway') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return process.cwd();
}

/** $SPILLWAY_HOME, else <repo>/.spillway (git-ignored): user registry, user models, caches, profiles. */
export function spillwayHome(): string {
  const fromEnv = process.env['SPILLWAY_HOME'];
  return fromEnv ? resolve(fromEnv) : join(repoRoot(), '.spillway');
}

/**
 * The shared data folder (models/, traces/) when present: $SPILLWAY_SHARED_DIR, else ../shared
 * beside the repository. SPILLWAY_SHARED_DIR=none (or empty) simulates a fresh clone without it.
 */
export function sharedDir(): string | undefined {
  const fromEnv = process.env['SPILLWAY_SHARED_DIR'];
  if (fromEnv !== undefined) {
    if (fromEnv === '' || fromEnv === 'none') return undefined;
    return existsSync(fromEnv) ? resolve(fromEnv) : undefined;
  }
  const beside = resolve(repoRoot(), '..', 'shared');
  return existsSync(beside) ? beside : undefined;
}

/** A path inside the shared data folder (e.g. sharedPath('traces', 'x.csv')), or undefined without one. */
export function sharedPath(...parts: string[]): string | undefined {
  const dir = sharedDir();
  return dir === undefined ? undefined : join(dir, ...parts);
}

/** functions/models: built-in registry, label files and sample photos (committed). */
export function builtinModelsDir(): string {
  return resolve(here, '..', 'models');
}

let builtinCache: RegistryFile | undefined;
/** The committed registry, validated once. */
export function builtinVariants(): readonly ModelVariant[] {
  if (!builtinCache) {
    const parsed = RegistryFileSchema.safeParse(builtinJson);
    if (!parsed.success) {
      throw new RegistryError(`functions/models/registry.json is invalid: ${parsed.error.message}`, {
        cause: parsed.error,
      });
    }
    builtinCache = parsed.data;
  }
  return builtinCache.variants;
}

function userRegistryPath(home: string): string {
  return join(home, 'registry.json');
}

function readUserRegistry(home: string): ModelVariant[] {
  const path = userRegistryPath(home);
  if (!existsSync(path)) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RegistryError(`user registry ${path} is not valid JSON`, { cause: err });
  }
  const parsed = RegistryFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RegistryError(`user registry ${path} is invalid: ${describeRegistryIssues(parsed.error.issues, raw)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data.variants;
}

/**
 * Registry issues as 'variants.2.name: <message>' lines; an entry that cannot be served can be
 * taken out with `spillway models remove` (which reads the file without validating it), so say so.
 */
function describeRegistryIssues(issues: readonly ZodIssue[], raw: unknown): string {
  const entries = (raw as { variants?: unknown } | null)?.variants;
  return describeIssues(issues, {
    max: 5,
    suffix: (i) => {
      const index = i.path[0] === 'variants' && typeof i.path[1] === 'number' ? i.path[1] : undefined;
      const name = index !== undefined && Array.isArray(entries) ? (entries[index] as { name?: unknown })?.name : undefined;
      return typeof name === 'string' ? ` (remove the entry with: npx spillway models remove ${JSON.stringify(name)})` : '';
    },
  });
}

/** What `removeUserVariant` took out, so the caller can delete the files that belonged to it. */
export interface RemovedUserVariant {
  name: string;
  /** Model and label file names of the removed entry, when the entry named them. */
  file?: string;
  labels?: string;
}

/**
 * Takes a user variant out of $SPILLWAY_HOME/registry.json. Reads the file WITHOUT validating the
 * entries, so an entry the current rules refuse (e.g. a name registered by an older version) can
 * still be removed. Built-in variants are refused; an unknown name is an error listing the user ones.
 */
export function removeUserVariant(name: string, opts: { home?: string } = {}): RemovedUserVariant {
  const home = opts.home ?? spillwayHome();
  if (builtinVariants().some((v) => v.name === name)) {
    throw new RegistryError(
      `'${name}' is a built-in variant (functions/models/registry.json) and cannot be removed; to stop serving it, list the variants you want in SPILLWAY_VARIANTS`,
    );
  }
  const path = userRegistryPath(home);
  let raw: { schemaVersion?: unknown; variants?: unknown } = {};
  if (existsSync(path)) {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new RegistryError(`user registry ${path} is not valid JSON`, { cause: err });
    }
  }
  const entries = Array.isArray(raw?.variants) ? (raw.variants as Array<Record<string, unknown>>) : [];
  const index = entries.findIndex((e) => e?.['name'] === name);
  if (index < 0) {
    const names = entries.map((e) => e?.['name']).filter((n): n is string => typeof n === 'string');
    throw new RegistryError(
      `no user variant named '${name}' in ${path}; user variants: ${names.join(', ') || '(none)'}`,
    );
  }
  const entry = entries[index]!;
  const rest = entries.filter((_, i) => i !== index);
  writeAtomic(path, { ...raw, schemaVersion: 1, variants: rest });
  return {
    name,
    ...(typeof entry['file'] === 'string' ? { file: entry['file'] } : {}),
    ...(typeof entry['labels'] === 'string' ? { labels: entry['labels'] } : {}),
  };
}

function writeAtomic(path: string, content: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(tmp, path);
}

class Registry implements ModelRegistry {
  private readonly byName: Map<string, ModelVariant>;
  constructor(private readonly list: readonly ModelVariant[]) {
    this.byName = new Map(list.map((v) => [v.name, v]));
  }
  variants(): readonly ModelVariant[] {
    return this.list;
  }
  get(name: string): ModelVariant {
    const v = this.byName.get(name);
    if (!v) throw new UnknownVariantError(name, [...this.byName.keys()]);
    return v;
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  byTask(task: string): readonly ModelVariant[] {
    return this.list.filter((v) => v.task === task);
  }
}

/** Build a registry from an explicit list (tests, tools). Duplicate names are an error. */
export function registryFrom(variants: readonly ModelVariant[]): ModelRegistry {
  const seen = new Set<string>();
  for (const v of variants) {
    if (seen.has(v.name)) throw new RegistryError(`duplicate model variant name '${v.name}'`);
    seen.add(v.name);
  }
  return new Registry(variants);
}

/** Built-in + user variants. A user entry reusing a built-in name is refused with RegistryError. */
export function loadRegistry(opts: { home?: string } = {}): ModelRegistry {
  const home = opts.home ?? spillwayHome();
  const builtin = builtinVariants();
  const builtinNames = new Set(builtin.map((v) => v.name));
  const user = readUserRegistry(home);
  for (const v of user) {
    if (builtinNames.has(v.name)) {
      throw new RegistryError(
        `user registry ${userRegistryPath(home)} redefines built-in variant '${v.name}'; choose another name`,
      );
    }
  }
  return registryFrom([...builtin, ...user]);
}

/**
 * Add or replace a user variant in $SPILLWAY_HOME/registry.json (atomic write: temp file + rename,
 * so a concurrent reader never sees half a file).
 */
export function saveUserVariant(variant: ModelVariant, opts: { home?: string } = {}): void {
  const home = opts.home ?? spillwayHome();
  const parsed = ModelVariantSchema.safeParse(variant);
  if (!parsed.success) {
    throw new RegistryError(`invalid model variant: ${parsed.error.message}`, { cause: parsed.error });
  }
  if (builtinVariants().some((v) => v.name === variant.name)) {
    throw new RegistryError(`'${variant.name}' is a built-in variant name; choose another name`);
  }
  const others = readUserRegistry(home).filter((v) => v.name !== variant.name);
  const file: RegistryFile = { schemaVersion: 1, variants: [...others, parsed.data] };
  writeAtomic(userRegistryPath(home), file);
}
