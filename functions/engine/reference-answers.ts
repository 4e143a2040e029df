/**
 * Recorded reference answers per variant and CPU ISA class (functions/models/reference-answers.json):
 * what a correct deployment of the variant answers for the sample photos. `spillway models verify`
 * and the real-model tests compare live answers with them (answer-agreement.ts): exactly when a
 * record of this machine's ISA class exists, within CROSS_ISA otherwise.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type AgreementTolerance, type Answers, CROSS_ISA, SAME_ISA } from './answer-agreement.js';
import { builtinModelsDir } from './registry.js';

const AnswerSchema = z.strictObject({ top1: z.number().int().nonnegative(), score: z.number().min(0).max(1) });

export const ReferenceRecordSchema = z.strictObject({
  /** isaKey(): e.g. 'x86_64/avx2'. */
  isa: z.string().min(1),
  /** Where the answers come from (machine, onnxruntime version, date). */
  source: z.string().min(1),
  answers: z.record(z.string(), AnswerSchema),
});
export type ReferenceRecord = z.infer<typeof ReferenceRecordSchema>;

export const ReferenceFileSchema = z.strictObject({
  schemaVersion: z.literal(1),
  description: z.string(),
  variants: z.record(z.string(), z.array(ReferenceRecordSchema)),
});
export type ReferenceFile = z.infer<typeof ReferenceFileSchema>;

export const referenceAnswersPath = (): string => join(builtinModelsDir(), 'reference-answers.json');

export function loadReferenceAnswers(path = referenceAnswersPath()): ReferenceFile {
  return ReferenceFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

export interface ChosenReference {
  record: ReferenceRecord;
  sameIsa: boolean;
  tolerance: AgreementTolerance;
}

/**
 * The record to compare with on a machine of ISA class `isa`: the one recorded on that class
 * (SAME_ISA tolerance) or else the first one (CROSS_ISA). undefined when the variant has none.
 */
export function chooseReference(
  records: readonly ReferenceRecord[] | undefined,
  isa: string,
): ChosenReference | undefined {
  if (!records || records.length === 0) return undefined;
  const same = records.find((r) => r.isa === isa);
  if (same) return { record: same, sameIsa: true, tolerance: SAME_ISA };
  return { record: records[0]!, sameIsa: false, tolerance: CROSS_ISA };
}

export type { Answers };
