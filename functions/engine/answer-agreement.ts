/**
 * Do two runs of a classifier give the same answers? One rule, used by the real-model tests and by
 * `spillway models verify` (backend vs backend, backend vs the variant's recorded reference).
 *
 * Why a tolerance and which one: int8 kernels differ by CPU instruction set (see cpu-isa.ts), so a
 * reference recorded on another ISA class cannot be matched exactly. Measured between AVX2 (AMD
 * Zen 3, the ../shared/models table) and AVX-512 VNNI+AMX (Intel Xeon) on the five real models x
 * 13 photos: at most 2 of 13 top-1s flip per model, only where the reference was unsure (top-1
 * scores 0.31 and 0.54), and the mean |score change| over agreeing photos is at most 0.10
 * (MobileNetV2-int8 zoo; 0.003-0.037 for the other four). CROSS_ISA allows a little more than that; the preprocessing bugs this
 * must still catch (colour order, normalisation, class offset, crop) each flip confident answers or
 * move scores by far more: test/engine/real-models.test.ts proves that on the same photos.
 */

/** One input's answer: the top-1 class index and its score (probability). */
export interface Answer {
  top1: number;
  score: number;
}

/** Answers keyed by input name (e.g. the sample photo's file name). */
export type Answers = Readonly<Record<string, Answer>>;

export interface AgreementTolerance {
  /** Share of inputs whose top-1 must agree (0..1). */
  minTop1Fraction: number;
  /** A top-1 may differ only where the reference's own top-1 score was below this (an unsure answer). */
  maxFlipReferenceScore: number;
  /** Mean |score - reference score| over inputs whose top-1 agrees. */
  maxMeanScoreDelta: number;
}

/** Same ISA class: same kernels, so the same top-1 everywhere; scores within rounding + thread-order noise. */
export const SAME_ISA: AgreementTolerance = { minTop1Fraction: 1, maxFlipReferenceScore: 0, maxMeanScoreDelta: 0.016 };

/** Different ISA class: 2 of 13 may flip where the reference score was <= 0.54 (measured), so 0.8 / 0.65 / 0.15. */
export const CROSS_ISA: AgreementTolerance = { minTop1Fraction: 0.8, maxFlipReferenceScore: 0.65, maxMeanScoreDelta: 0.15 };

export interface Flip {
  input: string;
  got: number;
  want: number;
  referenceScore: number;
}

export interface AgreementReport {
  /** Inputs present in both sets. */
  compared: number;
  top1Agree: number;
  flips: Flip[];
  meanScoreDelta: number;
  maxScoreDelta: number;
  ok: boolean;
  /** Why not ok, in words (empty when ok). */
  problems: string[];
}

/** Compares `got` with `reference` over the inputs both have. Pure. */
export function compareAnswers(got: Answers, reference: Answers, tol: AgreementTolerance): AgreementReport {
  const inputs = Object.keys(reference).filter((k) => got[k] !== undefined);
  const flips: Flip[] = [];
  const deltas: number[] = [];
  for (const k of inputs) {
    const g = got[k]!;
    const r = reference[k]!;
    if (g.top1 === r.top1) deltas.push(Math.abs(g.score - r.score));
    else flips.push({ input: k, got: g.top1, want: r.top1, referenceScore: r.score });
  }
  const compared = inputs.length;
  const top1Agree = compared - flips.length;
  const meanScoreDelta = deltas.length ? deltas.reduce((a, b) => a + b, 0) / deltas.length : 0;
  const maxScoreDelta = deltas.length ? Math.max(...deltas) : 0;
  const problems: string[] = [];
  if (compared === 0) problems.push('no input in common with the reference');
  const need = Math.ceil(tol.minTop1Fraction * compared - 1e-9);
  if (top1Agree < need) problems.push(`top-1 agrees on ${top1Agree}/${compared}; needs >= ${need}`);
  for (const f of flips) {
    if (f.referenceScore >= tol.maxFlipReferenceScore) {
      problems.push(
        `${f.input}: top-1 ${f.got}, reference ${f.want} with score ${f.referenceScore.toFixed(2)} (a confident answer must not change; limit ${tol.maxFlipReferenceScore})`,
      );
    }
  }
  if (meanScoreDelta > tol.maxMeanScoreDelta) {
    problems.push(`mean |score change| ${meanScoreDelta.toFixed(3)} exceeds ${tol.maxMeanScoreDelta}`);
  }
  return { compared, top1Agree, flips, meanScoreDelta, maxScoreDelta, ok: problems.length === 0, problems };
}
