/**
 * Profiles API (runtime contract): loadProfiles() reads the committed profiles (profiles/*.json,
 * except catalog.json) and then the user-added ones ($SPILLWAY_HOME/profiles/*.json, written by
 * `spillway models add`). A user file for the same variant replaces the committed one (the user
 * re-profiled it on their own machine). Every file is validated; a bad file is an error naming the
 * file and the first issues, never a silent skip (a missing profile would silently change plans).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spillwayHome } from '../../functions/engine/registry.js';
import { type VariantProfile, VariantProfileSchema } from '../schema.js';
import { ProfileFileError } from './errors.js';
import { describeIssues } from '../../functions/engine/zod-issues.js';

/** The folder holding the committed profiles (profiles/). */
export const COMMITTED_PROFILES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files in the profiles folder that are not variant profiles. */
const NOT_PROFILES = new Set(['catalog.json']);

export function userProfilesDir(home: string = spillwayHome()): string {
  return join(home, 'profiles');
}

/** Reads and validates one profile file; throws ProfileFileError naming the file and the issue. */
export function readProfileFile(path: string): VariantProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ProfileFileError(path, `not readable JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = VariantProfileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ProfileFileError(path, `invalid profile: ${describeIssues(parsed.error.issues)}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Profile files (*.json, sorted) in `dir`; none if the folder does not exist. */
export function profileFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !NOT_PROFILES.has(f))
    .sort()
    .map((f) => join(dir, f));
}

function addFrom(dir: string, into: Map<string, VariantProfile>): void {
  for (const file of profileFilesIn(dir)) {
    const profile = readProfileFile(file);
    const expected = file.slice(file.lastIndexOf('/') + 1, -'.json'.length);
    if (profile.variant !== expected) {
      throw new ProfileFileError(file, `holds variant '${profile.variant}' but is named '${expected}.json'`);
    }
    into.set(profile.variant, profile);
  }
}

/**
 * All profiles by variant name: committed ones, then $SPILLWAY_HOME/profiles (later wins).
 * `profilesDir` overrides the committed folder (tests).
 */
export function loadProfiles(opts: { home?: string; profilesDir?: string } = {}): Map<string, VariantProfile> {
  const out = new Map<string, VariantProfile>();
  addFrom(opts.profilesDir ?? COMMITTED_PROFILES_DIR, out);
  addFrom(userProfilesDir(opts.home ?? spillwayHome()), out);
  return out;
}
