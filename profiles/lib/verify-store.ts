/**
 * The last `spillway models verify` result per variant, kept in $SPILLWAY_HOME/verify.json so that
 * `models list` and `GET /v1/models` show a disagreement instead of hiding it. One writer (the
 * verify command, atomic temp-file + rename), many readers; a missing file means "not verified".
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** "n/N": inputs where the two answers' top-1 agree, of the inputs both answered. */
const Fraction = z.string().regex(/^\d+\/\d+$/);

export const VerifyEntrySchema = z.strictObject({
  /** isaKey() of the machine that ran verify. */
  isa: z.string(),
  /** Each backend's reported ISA (they differ on AWS: VMs and Lambda run on different CPUs). */
  backendIsa: z.record(z.string(), z.string().nullable()),
  /** Top-1 agreement between the backends, "n/N". */
  backendsAgree: Fraction,
  /** Top-1 agreement with the recorded reference (worst backend), "n/N"; null when none is recorded. */
  referenceAgree: Fraction.nullable(),
  /** The ISA class of the reference record compared with; null when none. */
  referenceIsa: z.string().nullable(),
  /** Why there is no reference (synthetic weights, none recorded), else null. */
  referenceNote: z.string().nullable(),
  ok: z.boolean(),
  /** Why not ok, in words. */
  problems: z.array(z.string()),
  /** ISO time of the run. */
  at: z.string(),
});
export type VerifyEntry = z.infer<typeof VerifyEntrySchema>;

export const VerifyFileSchema = z.strictObject({
  schemaVersion: z.literal(1),
  variants: z.record(z.string(), VerifyEntrySchema),
});
export type VerifyFile = z.infer<typeof VerifyFileSchema>;

export const verifyFilePath = (home: string): string => join(home, 'verify.json');

export interface VerifyStoreRead {
  entries: Readonly<Record<string, VerifyEntry>>;
  /** Set when the file exists but cannot be used (shown to the user, never thrown). */
  error?: string;
}

let cache: { path: string; mtimeMs: number; size: number; read: VerifyStoreRead } | undefined;

/** Reads verify.json (cached by mtime and size: GET /v1/models reads it per request). Never throws. */
export function readVerifyStore(home: string): VerifyStoreRead {
  const path = verifyFilePath(home);
  if (!existsSync(path)) return { entries: {} };
  let st: { mtimeMs: number; size: number };
  try {
    st = statSync(path);
  } catch (err) {
    return { entries: {}, error: `${path}: ${(err as Error).message}` };
  }
  if (cache && cache.path === path && cache.mtimeMs === st.mtimeMs && cache.size === st.size)
    return cache.read;
  let read: VerifyStoreRead;
  try {
    read = { entries: VerifyFileSchema.parse(JSON.parse(readFileSync(path, 'utf8'))).variants };
  } catch (err) {
    read = {
      entries: {},
      error: `${path} is not a valid verify result (${(err as Error).message.split('\n')[0]}); run spillway models verify again`,
    };
  }
  cache = { path, mtimeMs: st.mtimeMs, size: st.size, read };
  return read;
}

/** Merges `entries` into verify.json (other variants' results stay). Atomic: temp file + rename. */
export function writeVerifyEntries(home: string, entries: Readonly<Record<string, VerifyEntry>>): string {
  const path = verifyFilePath(home);
  const prior = readVerifyStore(home);
  const file: VerifyFile = { schemaVersion: 1, variants: { ...prior.entries, ...entries } };
  mkdirSync(home, { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 1)}\n`);
  renameSync(tmp, path);
  return path;
}

/** What `models list` and `GET /v1/models` show per variant. */
export const VerificationSummarySchema = z.strictObject({
  status: z.enum(['agree', 'disagree', 'not-verified']),
  /** ISA of the machine that verified; null when not verified. */
  isa: z.string().nullable(),
  backendsAgree: z.string().nullable(),
  referenceAgree: z.string().nullable(),
  referenceIsa: z.string().nullable(),
  at: z.string().nullable(),
  /** Why 'disagree' (or why the stored result is unreadable). */
  problems: z.array(z.string()),
});
export type VerificationSummary = z.infer<typeof VerificationSummarySchema>;

/** Pure: the summary of one variant from a store read. */
export function verificationSummary(store: VerifyStoreRead, variant: string): VerificationSummary {
  const e = store.entries[variant];
  if (!e) {
    return {
      status: 'not-verified',
      isa: null,
      backendsAgree: null,
      referenceAgree: null,
      referenceIsa: null,
      at: null,
      problems: store.error ? [store.error] : [],
    };
  }
  return {
    status: e.ok ? 'agree' : 'disagree',
    isa: e.isa,
    backendsAgree: e.backendsAgree,
    referenceAgree: e.referenceAgree,
    referenceIsa: e.referenceIsa,
    at: e.at,
    problems: e.problems,
  };
}

/** One table cell for `models list`: 'agree 13/13, ref 13/13 (2026-12-05)', 'DISAGREE ...', 'not verified'. */
export function formatVerificationCell(s: VerificationSummary): string {
  if (s.status === 'not-verified')
    return s.problems.length ? 'not verified (verify.json unreadable)' : 'not verified';
  const ref = s.referenceAgree === null ? 'no ref' : `ref ${s.referenceAgree}`;
  const word = s.status === 'agree' ? 'agree' : 'DISAGREE';
  return `${word} backends ${s.backendsAgree}, ${ref} (${s.isa}, ${s.at?.slice(0, 10)})`;
}

/** The ISA a profile was measured on against this machine's: latencies (and int8 answers) depend on it. */
export function formatIsaCell(profileIsa: string | null, machineIsa: string): string {
  if (profileIsa === null) return `not recorded (this CPU ${machineIsa})`;
  return profileIsa === machineIsa ? `${profileIsa} (this CPU)` : `${profileIsa} (this CPU: ${machineIsa})`;
}
