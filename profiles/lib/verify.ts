/**
 * `spillway models verify`'s judgement, pure: given each backend's answers for the sample inputs,
 * do the backends agree with each other, and with the variant's recorded reference?
 * - Backend vs backend: SAME_ISA when both report the same ISA class (one machine: the same
 *   kernels, so the same top-1 on every input), CROSS_ISA otherwise (an AWS VM and Lambda function
 *   can run on different CPUs).
 * - Backend vs reference: chooseReference() for the backend's ISA: exact (SAME_ISA) when a record
 *   of that class exists, CROSS_ISA against another class's record otherwise.
 * - Synthetic weights have no reference (their predictions are meaningless); only the backends'
 *   agreement is checked.
 * Running the backends is controller/local/backend-answers.ts; persisting is verify-store.ts.
 */
import {
  type AgreementReport,
  type Answers,
  CROSS_ISA,
  compareAnswers,
  SAME_ISA,
} from '../../functions/engine/answer-agreement.js';
import { chooseReference, type ReferenceRecord } from '../../functions/engine/reference-answers.js';
import type { VerifyEntry } from './verify-store.js';

export interface BackendRun {
  /** 'vm' (the VM inference server) or 'lambda' (the Lambda handler). */
  kind: string;
  /** The ISA class the backend reported; null when it did not say (then this machine's is assumed). */
  isa: string | null;
  answers: Answers;
  /** Inputs it failed on, or a start-up failure, in words. */
  errors: string[];
}

export interface ReferenceCheck {
  backend: string;
  referenceIsa: string;
  sameIsa: boolean;
  report: AgreementReport;
}

export interface VariantVerdict {
  variant: string;
  weights: 'real' | 'synthetic';
  /** isaKey() of the machine that ran verify. */
  isa: string;
  inputs: number;
  runs: { kind: string; isa: string | null; answered: number; errors: string[] }[];
  /** Backend pairs compared with the first backend. */
  backends: { between: string; tolerance: 'same-isa' | 'cross-isa'; report: AgreementReport }[];
  /** "n/N": inputs where every backend's top-1 is the same, of the inputs every backend answered. */
  backendsAgree: string;
  references: ReferenceCheck[];
  /** Why no reference check: synthetic weights, or none recorded. null when checked. */
  referenceNote: string | null;
  ok: boolean;
  problems: string[];
}

const fraction = (n: number, d: number) => `${n}/${d}`;

/** Pure: the verdict for one variant. `inputs` = how many sample inputs were sent to each backend. */
export function judgeVariant(o: {
  variant: string;
  weights: 'real' | 'synthetic';
  machineIsa: string;
  inputs: number;
  runs: readonly BackendRun[];
  references: readonly ReferenceRecord[] | undefined;
}): VariantVerdict {
  const problems: string[] = [];
  for (const r of o.runs) for (const e of r.errors) problems.push(`${r.kind}: ${e}`);
  const isaOf = (r: BackendRun) => r.isa ?? o.machineIsa;

  const [first, ...others] = o.runs;
  const backends: VariantVerdict['backends'] = [];
  for (const r of others) {
    const same = isaOf(r) === isaOf(first!);
    const report = compareAnswers(r.answers, first!.answers, same ? SAME_ISA : CROSS_ISA);
    backends.push({
      between: `${r.kind} vs ${first!.kind}`,
      tolerance: same ? 'same-isa' : 'cross-isa',
      report,
    });
    for (const p of report.problems) problems.push(`${r.kind} vs ${first!.kind}: ${p}`);
  }
  if (o.runs.length < 2)
    problems.push(
      `only ${o.runs.length} backend answered; verify needs the VM server and the Lambda handler`,
    );
  const common = first
    ? Object.keys(first.answers).filter((k) => o.runs.every((r) => r.answers[k] !== undefined))
    : [];
  const allSame = common.filter((k) =>
    o.runs.every((r) => r.answers[k]!.top1 === first!.answers[k]!.top1),
  ).length;

  const references: ReferenceCheck[] = [];
  let referenceNote: string | null = null;
  if (o.weights === 'synthetic') {
    referenceNote =
      'no reference: synthetic weights (seeded random, predictions meaningless); backends compared only';
  } else if (!o.references || o.references.length === 0) {
    referenceNote = "no recorded reference (record this machine's answers with --record)";
  } else {
    for (const r of o.runs) {
      const chosen = chooseReference(o.references, isaOf(r))!;
      const report = compareAnswers(r.answers, chosen.record.answers, chosen.tolerance);
      references.push({ backend: r.kind, referenceIsa: chosen.record.isa, sameIsa: chosen.sameIsa, report });
      for (const p of report.problems) problems.push(`${r.kind} vs reference ${chosen.record.isa}: ${p}`);
    }
  }
  return {
    variant: o.variant,
    weights: o.weights,
    isa: o.machineIsa,
    inputs: o.inputs,
    runs: o.runs.map((r) => ({
      kind: r.kind,
      isa: r.isa,
      answered: Object.keys(r.answers).length,
      errors: r.errors,
    })),
    backends,
    backendsAgree: fraction(allSame, common.length),
    references,
    referenceNote,
    ok: problems.length === 0,
    problems,
  };
}

/** The worst backend's reference agreement, "n/N" (null without a reference check). */
export function referenceAgreeOf(v: VariantVerdict): string | null {
  if (v.references.length === 0) return null;
  const worst = v.references.reduce((a, b) =>
    b.report.top1Agree / Math.max(1, b.report.compared) < a.report.top1Agree / Math.max(1, a.report.compared)
      ? b
      : a,
  );
  return fraction(worst.report.top1Agree, worst.report.compared);
}

/** What verify.json keeps of a verdict. */
export function toVerifyEntry(v: VariantVerdict, atMs: number): VerifyEntry {
  return {
    isa: v.isa,
    backendIsa: Object.fromEntries(v.runs.map((r) => [r.kind, r.isa])),
    backendsAgree: v.backendsAgree,
    referenceAgree: referenceAgreeOf(v),
    referenceIsa: v.references[0]?.referenceIsa ?? null,
    referenceNote: v.referenceNote,
    ok: v.ok,
    problems: v.problems,
    at: new Date(atMs).toISOString(),
  };
}

function referenceCell(v: VariantVerdict): string {
  if (v.references.length === 0)
    return v.weights === 'synthetic' ? 'none (synthetic weights)' : 'none recorded';
  const r = v.references[0]!;
  const delta = Math.max(...v.references.map((x) => x.report.meanScoreDelta));
  return `${referenceAgreeOf(v)} ${r.sameIsa ? 'exact' : 'cross-ISA'} (${r.referenceIsa}), mean |Δscore| ${delta.toFixed(3)}`;
}

/** Plain-text table, then one line per problem of a disagreeing variant. */
export function formatVerifyTable(
  verdicts: readonly VariantVerdict[],
  o: { isa: string; flags: readonly string[]; inputs: string },
): string {
  const kinds = [...new Set(verdicts.flatMap((v) => v.runs.map((r) => r.kind)))];
  const header = [
    'variant',
    'weights',
    ...kinds.map((k) => `${k} isa`),
    'backends top-1 agree',
    'reference top-1',
    'result',
  ];
  const rows = verdicts.map((v) => [
    v.variant,
    v.weights,
    ...kinds.map((k) => {
      const r = v.runs.find((x) => x.kind === k);
      return r ? (r.isa ?? 'not reported') : 'not run';
    }),
    v.backends.length
      ? `${v.backendsAgree}, mean |Δscore| ${Math.max(...v.backends.map((b) => b.report.meanScoreDelta)).toFixed(3)}`
      : v.backendsAgree,
    referenceCell(v),
    v.ok ? 'agree' : 'DISAGREE',
  ]);
  const cells = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const table = cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
  const lines = [
    `CPU instruction set: ${o.isa} (flags: ${o.flags.join(' ') || 'none read'})`,
    `inputs: ${o.inputs}`,
    '',
    table,
  ];
  const notes = verdicts
    .filter((v) => v.referenceNote && v.weights === 'real')
    .map((v) => `${v.variant}: ${v.referenceNote}`);
  if (notes.length) lines.push('', ...notes);
  const bad = verdicts.filter((v) => !v.ok);
  if (bad.length) {
    lines.push('', `${bad.length} of ${verdicts.length} variant(s) DISAGREE:`);
    for (const v of bad) for (const p of v.problems) lines.push(`  ${v.variant}: ${p}`);
  }
  return lines.join('\n');
}
