/**
 * Where reference answers live and how `spillway models verify --record` adds one.
 * Built-in real variants: functions/models/reference-answers.json (committed). User variants
 * (`spillway models add`): $SPILLWAY_HOME/reference-answers.json, same schema. Lookups put the
 * $SPILLWAY_HOME records first, so chooseReference() prefers a local record of the same ISA class.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  loadReferenceAnswers,
  type ReferenceFile,
  ReferenceFileSchema,
  type ReferenceRecord,
  referenceAnswersPath,
} from '../../functions/engine/reference-answers.js';
import { VerifyError } from './errors.js';

export const userReferencePath = (home: string): string => join(home, 'reference-answers.json');

const EMPTY_USER_FILE: ReferenceFile = {
  schemaVersion: 1,
  description:
    'Reference answers of user variants ($SPILLWAY_HOME), one record per CPU ISA class, written by `spillway models verify --record`.',
  variants: {},
};

function readFile(path: string, missingOk: boolean): ReferenceFile {
  if (!existsSync(path)) {
    if (missingOk) return structuredClone(EMPTY_USER_FILE);
    throw new VerifyError(`reference file ${path} not found`);
  }
  try {
    return loadReferenceAnswers(path);
  } catch (err) {
    throw new VerifyError(`reference file ${path} is invalid: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
}

/** Every record per variant: $SPILLWAY_HOME's first, then the committed ones. */
export function loadAllReferences(
  home: string,
  builtinPath = referenceAnswersPath(),
): Map<string, ReferenceRecord[]> {
  const out = new Map<string, ReferenceRecord[]>();
  for (const file of [readFile(userReferencePath(home), true), readFile(builtinPath, false)]) {
    for (const [name, records] of Object.entries(file.variants))
      out.set(name, [...(out.get(name) ?? []), ...records]);
  }
  return out;
}

/**
 * The committed file's layout (one-space indent, one answer per line), so a new record is a
 * readable diff rather than a reformatted file.
 */
export function formatReferenceFile(file: ReferenceFile): string {
  const q = (s: string) => JSON.stringify(s);
  const record = (r: ReferenceRecord) =>
    [
      '   {',
      `    "isa": ${q(r.isa)},`,
      `    "source": ${q(r.source)},`,
      '    "answers": {',
      Object.entries(r.answers)
        .map(([input, a]) => `     ${q(input)}: { "top1": ${a.top1}, "score": ${a.score} }`)
        .join(',\n'),
      '    }',
      '   }',
    ].join('\n');
  const variants = Object.entries(file.variants)
    .map(([name, records]) => `  ${q(name)}: [\n${records.map(record).join(',\n')}\n  ]`)
    .join(',\n');
  return `{\n "schemaVersion": ${file.schemaVersion},\n "description": ${q(file.description)},\n "variants": {\n${variants}\n }\n}\n`;
}

export interface RecordReferenceOptions {
  /** Target file: referenceAnswersPath() for built-in variants, userReferencePath(home) for user ones. */
  path: string;
  variant: string;
  record: ReferenceRecord;
  /** Replace an existing record of the same ISA class. */
  force: boolean;
}

/** Adds (or with force replaces) the variant's record for record.isa. Returns 'added' | 'replaced'. */
export function recordReference(o: RecordReferenceOptions): 'added' | 'replaced' {
  const file = readFile(o.path, true);
  const records = file.variants[o.variant] ?? [];
  const at = records.findIndex((r) => r.isa === o.record.isa);
  if (at >= 0 && !o.force) {
    throw new VerifyError(
      `${o.variant}: ${o.path} already holds a record for ${o.record.isa} (${records[at]!.source}); add --force to replace it`,
    );
  }
  const next = at >= 0 ? records.map((r, i) => (i === at ? o.record : r)) : [...records, o.record];
  const out = ReferenceFileSchema.parse({ ...file, variants: { ...file.variants, [o.variant]: next } });
  mkdirSync(dirname(o.path), { recursive: true });
  const tmp = `${o.path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, formatReferenceFile(out));
  renameSync(tmp, o.path);
  return at >= 0 ? 'replaced' : 'added';
}

/** Scores to 3 decimals, as the committed records hold them (SAME_ISA allows 0.016). */
export function roundedAnswers(
  answers: Readonly<Record<string, { top1: number; score: number }>>,
): ReferenceRecord['answers'] {
  return Object.fromEntries(
    Object.entries(answers).map(([k, a]) => [k, { top1: a.top1, score: Math.round(a.score * 1000) / 1000 }]),
  );
}
